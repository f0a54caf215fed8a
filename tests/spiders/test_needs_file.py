"""needs.yaml / CSV typed by analysts, read through a file:// response."""

from __future__ import annotations

from domain.models import DocKind, Document, Reject
from spiders.sources.needs_file import NeedsFileSpider
from tests.spiders.responses import FIXTURES, fixture_bytes, response


def run(name_or_body, url=None):
    body = fixture_bytes(name_or_body) if isinstance(name_or_body, str) else name_or_body
    url = url or (FIXTURES / name_or_body).as_uri()
    out = list(NeedsFileSpider(path=url.removeprefix("file://")).parse(response(url, body)))
    return [o for o in out if isinstance(o, Document)], [o for o in out if isinstance(o, Reject)]


def test_yaml_needs():
    docs, rejects = run("needs.yaml")
    assert rejects == []
    assert [d.source_id for d in docs] == ["atla-2026-01", "diu-2026-uas-nav", "nato-2026-uw-comms"]
    ja = docs[0]
    assert ja.kind is DocKind.need and ja.source == "needs_file" and ja.language == "ja"
    assert ja.title == "広帯域電波吸収材料" and "メタマテリアル構造" in ja.text
    assert ja.organizations == ["防衛装備庁"] and ja.url == "https://www.mod.go.jp/atla/funding/kadai.html"
    assert docs[2].language is None and docs[2].organizations == []
    assert docs[2].url == (FIXTURES / "needs.yaml").as_uri() + "#nato-2026-uw-comms"


def test_csv_needs():
    docs, rejects = run("needs.csv")
    assert rejects == [] and [d.source_id for d in docs] == ["atla-2026-02", "diu-2026-counter-uas"]
    assert docs[1].text.startswith("Detect, track and classify small drones")
    assert docs[1].url == "https://www.diu.mil/work-with-us/open-solicitations"


def test_bad_records_are_rejected_and_good_ones_kept():
    docs, rejects = run("needs_bad.yaml")
    assert [d.source_id for d in docs] == ["ok-1"]
    assert [r.reason for r in rejects] == [
        "record 2 has no id",
        "duplicate id 'ok-1'",
        "need 'no-text' has no text",
        "need 'bad-lang': language must be ja or en, got 'de'",
        "record 6 is not a mapping of fields",
    ]
    assert rejects[0].url.endswith("needs_bad.yaml#record-2")


def test_broken_files_are_rejected():
    url = "file:///srv/needs.yaml"
    assert run(b"needs: [unclosed", url)[1][0].reason.startswith("malformed YAML")
    assert run("just a scalar\n".encode(), url)[1][0].reason.startswith("needs file must hold a list")
    assert run(b"", url)[1][0].reason == "empty body"
    assert "utf-8" in run("- id: x\n  text: caf\xe9\n".encode("latin-1"), url)[1][0].reason.lower()
    assert run(b"title,text\nx,y\n", "file:///srv/needs.csv")[1][0].reason == "CSV header lacks id"


def test_default_path_and_base_url(scout_home):
    assert NeedsFileSpider().needs_url == (scout_home / "needs.yaml").as_uri()
    assert NeedsFileSpider(base_url="http://127.0.0.1:9/needs").needs_url == "http://127.0.0.1:9/needs/needs.yaml"
    assert NeedsFileSpider(base_url="http://127.0.0.1:9/x.csv").needs_url == "http://127.0.0.1:9/x.csv"
