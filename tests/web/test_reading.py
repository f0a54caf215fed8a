"""What a reader sees on the pages (issue 24's smaller defects): no local paths or empty "· ·" in headers, negative
parts drawn as negative, one label per area, facets that do not bury the results, judgement history with titles,
every time in one zone with the zone named."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from fastapi.testclient import TestClient

from domain.models import DocKind, Document
from domain.settings import WebSettings
from scout.web.app import create_app
from service.analyst import AnalystStore
from tests.web.fakes import MemoryLibrary


def _client(library, store=None) -> TestClient:
    return TestClient(create_app(library, WebSettings(token=None), store), base_url="http://127.0.0.1")


def test_a_needs_file_need_shows_no_local_path_and_no_empty_fields():
    need = Document.make(kind=DocKind.need, source="needs_file", source_id="analyst-2026-002",
                         url="file:///work/home/needs.yaml#analyst-2026-002", title="GNSS非依存の量子航法",
                         text="量子センシングによる測位・航法。", language="ja", organizations=["防衛装備庁"])
    library = MemoryLibrary()
    library.add(need)
    client = _client(library)
    for path in (f"/needs/{need.id}", f"/documents/{need.id}"):
        html = client.get(path).text
        assert "file:" not in html and "needs.yaml" not in html, path
        assert not re.search(r"·\s*·|·\s*</p>|<p[^>]*>\s*·", html), path
    header = re.search(r'<p class="eyebrow">(.*?)</p>', client.get(f"/needs/{need.id}").text, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", header) == "Need · needs file · 防衛装備庁"
    # The issuer's page lists the needs it publishes, not "No need matches yet", and no row ends in "·".
    org = client.get("/orgs/防衛装備庁").text
    assert "Needs it publishes" in org and "GNSS非依存の量子航法" in org and "No need matches yet" not in org
    assert not re.search(r"·\s*</span>", org)


def test_a_negative_part_is_drawn_as_negative(client, library, monkeypatch):
    need = next(n for n in library.needs() if n.source == "atla")
    result = library.match(need.id)
    result.matches[0].breakdown.clipped = -0.05
    monkeypatch.setattr(library, "match", lambda *args, **kwargs: result)
    card = client.get(f"/needs/{need.id}").text.split('<li class="match"')[1]
    clipped = re.search(r"<dt>clipped</dt><dd>(.*?)</dd>", card, re.S).group(1)
    assert 'class="bar small negative"' in clipped and "−0.050" in clipped and "-0.050" in clipped


def test_two_areas_of_the_same_name_are_told_apart():
    from scout.web.app import _labels

    _, area_label, _ = _labels()
    assert area_label("jp-hypersonics") != area_label("us-hypersonics")
    assert {area_label("jp-hypersonics"), area_label("us-hypersonics")} == {"Hypersonics (Japan)", "Hypersonics (US)"}
    assert area_label("jp-cyber") == "Cybersecurity"  # a name no other area has stays as it is


def test_facets_show_their_most_frequent_values_and_the_rest_on_demand(client):
    html = client.get("/?q=sensor").text
    for section in re.findall(r'<section class="facet".*?</section>', html, re.S):
        shown = section.split("<details")[0]
        assert shown.count("<li>") <= 8
        if "<details" in section:
            hidden = section.split("<details")[1].count("<li>")
            assert f"{hidden} more</summary>" in section


def test_judgement_history_names_the_need_and_document_and_times_carry_their_zone(library, tmp_path, monkeypatch):
    monkeypatch.setenv("SCOUT_REPORT_TIMEZONE", "Asia/Tokyo")
    need = next(n for n in library.needs() if n.source == "atla")
    doc = library.match(need.id).matches[0]
    with AnalystStore(tmp_path / "analyst.sqlite") as store:
        store.judge(need.id, doc.doc_id, "shortlisted", user="ann",
                    at=datetime(2026, 12, 5, 23, 30, tzinfo=timezone.utc))
        client = _client(library, store)
        html = client.get("/audit").text
        row = re.search(r'<tr class="audit-entry">(.*?)</tr>', html, re.S).group(1)
        assert need.title in row and doc.title in row
        assert f"{need.id} document {doc.doc_id}" not in row
        assert "2026-12-06 08:30:00 JST" in row  # 23:30 UTC, shown in the one zone, named
        need_page = client.get(f"/needs/{need.id}").text
        assert "2026-12-06 08:30 JST" in need_page


def test_the_pages_name_concepts_from_the_configured_taxonomy(tmp_path, monkeypatch):
    """The pages read the bundled taxonomy whatever SCOUT_NLP_TAXONOMY_PATH said, so a configured taxonomy's
    concepts showed as ids there while the CLI (and the analysis) used its labels."""
    import yaml

    from nlp.taxonomy import BUNDLED_TAXONOMY
    from scout.commands._console import concept_label
    from scout.web.app import _labels

    data = yaml.safe_load(BUNDLED_TAXONOMY.read_text(encoding="utf-8"))
    data["concepts"].append({"id": "wake-sensing", "en": "ship wake sensing", "ja": "航跡センシング",
                             "areas": [data["areas"][0]["id"]]})
    path = tmp_path / "taxonomy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("SCOUT_NLP_TAXONOMY_PATH", str(path))
    concept_label_page, _, _ = _labels()
    assert concept_label_page("wake-sensing") == "ship wake sensing" == concept_label("wake-sensing")
