"""Fuzzing every spider's parse callbacks (issue 19): malformed, truncated, oversized, wrongly encoded and hostile
bodies (XXE, entity expansion, YAML aliases, deep nesting). Each input must end in documents, rejects or requests
(never an exception, never silence) within a time and memory bound; good records around a bad one survive.

Deterministic: every input comes from a seeded `random.Random`, so a failure names an input that can be replayed
(`FUZZ_CASES` mutations per callback; `test_fuzz_figures` in bench/reliability.py counts the same).
"""

from __future__ import annotations

import json
import random
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest
import scrapy
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse

from domain.models import Document, Reject
from spiders.sources.arxiv import ArxivSpider
from spiders.sources.atla import AtlaSpider
from spiders.sources.diu import DiuSpider
from spiders.sources.feeds import FeedsSpider
from spiders.sources.jstage import JstageSpider
from spiders.sources.kaken import KakenSpider
from spiders.sources.nato_diana import NatoDianaSpider
from spiders.sources.needs_file import NeedsFileSpider
from spiders.sources.openalex import OpenalexSpider
from spiders.sources.sbir_topics import SbirTopicsSpider
from tests.spiders.responses import fixture_bytes, response

FUZZ_CASES = 24  # mutations per callback: about 400 inputs with the hand-made ones
TIME_BOUND = 10.0  # seconds per input, generous for a busy two-core machine (most take milliseconds)
MEMORY_BOUND = 200 * 1024 * 1024  # bytes traced per input
FEED_ENTRY = {"title": "Helix Photonics raises seed round", "link": "https://news.example.com/a", "guid": "",
              "description": "Helix Photonics Inc. builds lidar.", "published": "", "author": "", "categories": [],
              "feed": "https://news.example.com/feed/", "feed_title": "Wire", "language": "en"}
JSTAGE_RECORD = {"title": "t", "title_ja": "", "title_en": "t", "url": "https://www.jstage.jst.go.jp/article/x",
                 "doi": "", "joi": ""}


@dataclass
class Target:
    name: str
    spider: Callable[[], scrapy.Spider]
    callback: str
    url: str
    fixture: str
    cls: type[Response]
    cb_kwargs: dict[str, Any] | None = None


TARGETS = [
    Target("openalex", lambda: OpenalexSpider(search="radar", since="2024-01-01"), "parse",
           "https://api.openalex.org/works?per_page=2&cursor=%2A", "openalex_works_page1.json", TextResponse),
    Target("sbir_topics", SbirTopicsSpider, "parse",
           "https://api.www.sbir.gov/public/api/solicitations?agency=DOD&open=1&rows=2&start=0",
           "sbir_solicitations_page1.json", TextResponse),
    Target("jstage", JstageSpider, "parse",
           "https://api.jstage.jst.go.jp/searchapi/do?service=3&keyword=x&start=1&count=2", "jstage_search.xml",
           XmlResponse),
    Target("jstage_article", JstageSpider, "parse_article",
           "https://www.jstage.jst.go.jp/article/x", "jstage_article.html", HtmlResponse, {"record": JSTAGE_RECORD}),
    Target("kaken", KakenSpider, "parse", "https://kaken.nii.ac.jp/opensearch/?format=xml&rw=2&st=1",
           "kaken_grants.xml", XmlResponse),
    Target("arxiv", ArxivSpider, "parse", "http://export.arxiv.org/api/query?search_query=cat:cs.CV&start=0",
           "arxiv_page1.xml", XmlResponse),
    Target("feeds_rss", lambda: FeedsSpider(feeds="https://news.example.com/feed/"), "parse",
           "https://news.example.com/feed/", "feed_rss2.xml", XmlResponse),
    Target("feeds_rdf", lambda: FeedsSpider(feeds="https://prtimes.jp/index.rdf"), "parse",
           "https://prtimes.jp/index.rdf", "feed_prtimes.rdf", XmlResponse),
    Target("feeds_atom", lambda: FeedsSpider(feeds="https://helix.example/atom.xml"), "parse",
           "https://helix.example/atom.xml", "feed_atom.xml", XmlResponse),
    Target("feeds_article", lambda: FeedsSpider(feeds="https://news.example.com/feed/"), "parse_article",
           "https://news.example.com/a", "article_en.html", HtmlResponse, {"entry": FEED_ENTRY}),
    Target("atla", AtlaSpider, "parse", "https://www.mod.go.jp/atla/funding.html", "atla_funding.html", HtmlResponse),
    Target("atla_pdf", AtlaSpider, "parse_pdf", "https://www.mod.go.jp/atla/funding/r07.pdf", "atla_r07_themes.pdf",
           Response),
    Target("diu", DiuSpider, "parse", "https://www.diu.mil/work-with-us/open-solicitations",
           "diu_open_solicitations.html", HtmlResponse),
    Target("nato_diana", NatoDianaSpider, "parse", "https://www.diana.nato.int/challenge-programme.html",
           "nato_diana_challenges.html", HtmlResponse),
    Target("needs_yaml", NeedsFileSpider, "parse", "file:///srv/scout/needs.yaml", "needs.yaml", TextResponse),
    Target("needs_csv", NeedsFileSpider, "parse", "file:///srv/scout/needs.csv", "needs.csv", TextResponse),
]

# Spliced into bodies at random places: what hostile or broken sources have sent.
PAYLOADS = [
    b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>', b"&x;", b"\x00\x00", b"\xed\xa0\x80",  # lone surrogate
    b"\xff\xfe", b'"http://[::1"', b'"doi": "http://[::1",', b"<script>alert(1)</script>", b'"1e999999"', b"NaN",
    b"[" * 5000, b"{" * 5000, b"<a>" * 3000, b"*a " * 50, b"&a; " * 50, b"\r\n" * 100, "研究テーマ１".encode(),
    b'"authorships": "not a list",', b'"totalResults": "many",', b"<opensearch:totalResults>many</opensearch:totalResults>",
]


def mutate(body: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One deterministic mutation of `body`: (what was done, the new body)."""
    kind = rng.choice(["truncate", "flip", "splice", "oversize", "encoding", "empty_tail"])
    n = len(body)
    if kind == "truncate":
        return kind, body[: rng.randrange(0, max(n, 1))]
    if kind == "flip":
        data = bytearray(body)
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(n)] = rng.randrange(256)
        return kind, bytes(data)
    if kind == "splice":
        at = rng.randrange(n + 1)
        return kind, body[:at] + rng.choice(PAYLOADS) + body[at:]
    if kind == "oversize":  # a slice repeated until the body is some 100 KB (20-50 times the fixture)
        start = rng.randrange(n)
        piece = body[start : start + rng.randint(20, 400)] or body
        return kind, body[:start] + piece * (100_000 // len(piece) + 1) + body[start:]
    if kind == "encoding":
        text = body.decode("utf-8", errors="replace")
        codec = rng.choice(["latin-1", "utf-16", "cp932", "utf-32"])
        return f"{kind}:{codec}", text.encode(codec, errors="replace")
    return kind, body[: n // 2] + b"\x00" * rng.randint(1, 64)


def make_response(target: Target, body: bytes) -> Response:
    return response(target.url, body, target.cls, cb_kwargs=dict(target.cb_kwargs or {}))


def run_callback(target: Target, body: bytes) -> tuple[list[Any], float, int]:
    """(items, seconds, peak traced bytes); an exception escaping the callback is the failure under test."""
    spider = target.spider()
    callback = getattr(spider, target.callback)
    resp = make_response(target, body)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        items = list(callback(resp, **(target.cb_kwargs or {})) or [])
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return items, elapsed, peak


def check_outcome(items: list[Any], label: str) -> None:
    assert items, f"{label}: no document, reject or request (a silent loss)"
    for item in items:
        assert isinstance(item, (Document, Reject, scrapy.Request)), f"{label}: yielded {type(item).__name__}"
        if isinstance(item, Reject):
            assert item.reason.strip() and not item.reason.rstrip().endswith(":"), f"{label}: empty reason {item.reason!r}"
        if isinstance(item, Document):
            assert "root:" not in item.text, f"{label}: an external entity was resolved"


@pytest.fixture(autouse=True)
def _keys(monkeypatch):
    monkeypatch.setenv("SCOUT_CRAWL_OPENALEX_API_KEY", "sk-fuzz")
    monkeypatch.setenv("SCOUT_CRAWL_KAKEN_APPID", "app-fuzz")


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_mutated_bodies_end_in_records_within_bounds(target: Target) -> None:
    rng = random.Random(f"dualscout-fuzz-{target.name}")
    seed_body = fixture_bytes(target.fixture)
    base, _, _ = run_callback(target, seed_body)
    check_outcome(base, f"{target.name} (unmutated)")
    for case in range(FUZZ_CASES):
        kind, body = mutate(seed_body, rng)
        label = f"{target.name} case {case} ({kind}, {len(body)} bytes)"
        items, elapsed, peak = run_callback(target, body)
        check_outcome(items, label)
        assert elapsed < TIME_BOUND, f"{label}: {elapsed:.1f} s"
        assert peak < MEMORY_BOUND, f"{label}: {peak / 2**20:.0f} MiB"


# -- hostile inputs, by hand ---------------------------------------------------------------------------

XXE_ATOM = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY remote SYSTEM "http://127.0.0.1:9/x">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<entry><title>&xxe;&remote;</title><link href="https://helix.example/a"/><id>1</id>
<summary>&xxe; Helix Photonics Inc. builds lidar.</summary></entry></feed>"""

LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">""" + b"".join(
    b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
) + b"""]><rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>
<link>https://news.example.com/a</link><description>&lol9;</description></item></channel></rss>"""

YAML_BOMB = (b'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
             + b"".join(b"%c: &%c [%s]\n" % (98 + i, 98 + i, b",".join([b"*%c" % (97 + i)] * 9)) for i in range(8))
             + b"needs: [{id: bomb, text: *i}]\n")
DEEP_JSON_LD = (b'<html><head><script type="application/ld+json">' + b'{"@graph": [' * 3000 + b"{}" + b"]}" * 3000
                + b'</script><script type="application/ld+json">{"@type": "Organization", "name": "Helix Photonics Inc."}'
                b"</script></head><body><article><p>" + b"Helix Photonics ships a lidar for night driving. " * 20
                + b"</p></article></body></html>")


HOSTILE = [
    ("xxe", TARGETS[8], XXE_ATOM, "no entity resolved"),
    ("billion laughs", TARGETS[6], LAUGHS, "not expanded"),
    ("yaml alias bomb", TARGETS[14], YAML_BOMB, "refused"),
    ("deep json", TARGETS[0], b"[" * 100_000 + b"]" * 100_000, "reject"),
    ("deep json (sbir)", TARGETS[1], b"[" * 100_000 + b"]" * 100_000, "reject"),
    ("deep json-ld", TARGETS[9], DEEP_JSON_LD, "document"),
]


@pytest.mark.parametrize("name, target, body, expect", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_inputs_are_bounded(name, target, body, expect):
    run_callback(target, fixture_bytes(target.fixture))  # warm: the bound is on the input, not on first imports
    items, elapsed, peak = run_callback(target, body)
    check_outcome(items, name)
    assert elapsed < TIME_BOUND and peak < MEMORY_BOUND, (name, elapsed, peak)
    text = json.dumps([i.model_dump(mode="json") for i in items if not isinstance(i, scrapy.Request)], default=str)
    assert "root:x:" not in text and "lollollol" not in text
    if expect == "refused":
        assert [i.reason for i in items] == ["needs file refused: its aliases expand it beyond 200,000 YAML nodes"]
    if expect == "reject":
        assert [i.reason for i in items] == ["malformed JSON: nested too deeply"]
    if expect == "document":
        [doc] = [i for i in items if isinstance(i, Document)]
        assert doc.organizations == ["Helix Photonics Inc."]  # the deep script is skipped, the good one read


# -- good records around a bad one ---------------------------------------------------------------------

BAD_WORKS = [
    {"id": "https://openalex.org/W_bad_url", "title": "Bad DOI", "doi": "http://[::1",
     "abstract_inverted_index": {"radar": [0]}},
    {"id": "https://openalex.org/W\ud800", "title": "Lone surrogate in the id", "abstract_inverted_index": {"x": [0]}},
    {"id": "https://openalex.org/W_str", "title": "Strings for lists", "authorships": "Jane Doe",
     "keywords": "radar", "abstract_inverted_index": {"radar": "0"}, "primary_location": "somewhere"},
    {"id": "https://openalex.org/W_title", "title": {"nested": ["title"]}, "abstract_inverted_index": {"a": [0]},
     "language": 7, "publication_year": "twenty"},
    "not an object",
]


@pytest.mark.parametrize("bad", BAD_WORKS, ids=["bad-url", "surrogate-id", "string-for-list", "odd-types", "scalar"])
def test_openalex_keeps_the_good_works_and_the_next_page_around_a_bad_one(bad):
    page = json.loads(fixture_bytes("openalex_works_page1.json"))
    baseline, _, _ = run_callback(TARGETS[0], fixture_bytes("openalex_works_page1.json"))
    good = sum(isinstance(i, Document) for i in baseline)
    page["results"].insert(1, bad)
    body = json.dumps(page, ensure_ascii=False).encode("utf-8", "surrogatepass")
    items, _, _ = run_callback(TARGETS[0], body)
    docs = [i for i in items if isinstance(i, Document)]
    assert len(docs) >= good and any(isinstance(i, scrapy.Request) for i in items), items
    for doc in docs:
        doc.model_dump_json()  # each one can be written to the batch, or is left for the pipeline to reject


def test_sbir_keeps_the_good_topics_and_pages_on_around_a_bad_one():
    data = json.loads(fixture_bytes("sbir_solicitations_page1.json"))
    topics = data[0]["solicitation_topics"]
    baseline, _, _ = run_callback(TARGETS[1], fixture_bytes("sbir_solicitations_page1.json"))
    good = sum(isinstance(i, Document) for i in baseline)
    topics.insert(0, {"topic_number": "BAD-1", "topic_title": "Bad", "topic_description": "x",
                      "sbir_topic_link": "http://[::1", "subtopics": [{"subtopic_title": {"a": 1}}]})
    topics.insert(0, {"topic_number": {"not": "a string"}, "topic_title": ["list"], "topic_description": 5})
    items, _, _ = run_callback(TARGETS[1], json.dumps(data).encode())
    docs = [i for i in items if isinstance(i, Document)]
    assert len(docs) >= good and any(isinstance(i, scrapy.Request) for i in items)


def test_jstage_pages_on_past_a_non_numeric_total_and_a_bad_entry():
    body = fixture_bytes("jstage_search.xml").replace(b"<opensearch:startIndex>", b"<opensearch:startIndex>x", 1)
    items, _, _ = run_callback(TARGETS[2], body)
    assert any(isinstance(i, scrapy.Request) for i in items)
    body = fixture_bytes("jstage_search.xml")
    at = body.index(b"<entry>")
    broken = body[:at] + b"<entry><article_link><en>http://[::1</en></article_link><article_title><en>Bad</en>" \
        b"</article_title></entry>" + body[at:]
    good, _, _ = run_callback(TARGETS[2], body)
    items, _, _ = run_callback(TARGETS[2], broken)
    kept = [i for i in items if isinstance(i, scrapy.Request) and "article" in i.url]
    assert len(kept) == len([i for i in good if isinstance(i, scrapy.Request) and "article" in i.url])
    assert any(isinstance(i, Reject) and "malformed record" in i.reason for i in items)


def test_needs_file_keeps_the_good_needs_around_a_bad_record():
    body = b"""needs:
- {id: n1, text: Quantum sensing for navigation}
- {id: {nested: id}, text: [a, list]}
- {id: "n\\ud800", text: lone surrogate in the id}
- {id: n3, text: Radar absorbing coatings, url: "http://[::1"}
"""
    items, _, _ = run_callback(TARGETS[14], body)
    docs = [i for i in items if isinstance(i, Document)]
    assert {d.source_id for d in docs} >= {"n1", "n3"} and len(items) == 4


# -- every spider: a bad record between good ones (issue 25) -------------------------------------------

def _before_nth(body: bytes, marker: bytes, n: int, record: bytes) -> bytes:
    """`body` with `record` spliced in just before the `n`-th (1-based) occurrence of `marker`."""
    at = -1
    for _ in range(n):
        at = body.index(marker, at + 1)
    return body[:at] + record + body[at:]


def _json_insert(fixture: str, where: Callable[[Any], list], bad: Any) -> bytes:
    data = json.loads(fixture_bytes(fixture))
    where(data).insert(1, bad)
    return json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass")


BAD_LINKS = ["http://[::1", "http://feeds.example:99999/a"]
#: per list callback, bodies that put one bad record between good ones (by target name)
BETWEEN = {
    "openalex": lambda bad: _json_insert("openalex_works_page1.json", lambda d: d["results"],
                                         {"id": "https://openalex.org/W_bad", "title": "Bad", "doi": bad,
                                          "abstract_inverted_index": {"radar": [0]}}),
    "sbir_topics": lambda bad: _json_insert("sbir_solicitations_page1.json", lambda d: d[0]["solicitation_topics"],
                                            {"topic_number": "BAD-1", "topic_title": "Bad", "topic_description": "x",
                                             "sbir_topic_link": bad}),
    "jstage": lambda bad: _before_nth(fixture_bytes("jstage_search.xml"), b"<entry>", 2,
                                      b"<entry><article_link><en>" + bad.encode() + b"</en></article_link>"
                                      b"<article_title><en>Bad</en></article_title></entry>"),
    "kaken": lambda bad: _before_nth(fixture_bytes("kaken_grants.xml"), b"<grantAward ", 2,
                                     b'<grantAward id="KAKENHI-PROJECT-BAD" awardNumber="BAD"><summary xml:lang="ja">'
                                     b"<title>Bad</title></summary><urlList><url>" + bad.encode()
                                     + b"</url></urlList><startFiscalYear>x</startFiscalYear></grantAward>"),
    "arxiv": lambda bad: _before_nth(fixture_bytes("arxiv_page1.xml").replace(b">3</opensearch:totalResults>",
                                                                              b">30</opensearch:totalResults>"),
                                     b"<entry>", 2,
                                     b"<entry><id>" + bad.encode() + b"/abs/2106.99999v1</id><title>Bad</title>"
                                     b"<summary>x</summary><published>2021-06-01T00:00:00Z</published></entry>"),
    "feeds_rss": lambda bad: _before_nth(fixture_bytes("feed_rss2.xml"), b"<item>", 2,
                                         b"<item><title>Bad</title><link>" + bad.encode() + b"/x</link>"
                                         b"<description>d</description></item>"),
    "feeds_rdf": lambda bad: _before_nth(fixture_bytes("feed_prtimes.rdf"), b"<item ", 2,
                                         b'<item rdf:about="urn:bad"><title>Bad</title><link>' + bad.encode()
                                         + b"/x</link><description>d</description></item>"),
    "feeds_atom": lambda bad: _before_nth(fixture_bytes("feed_atom.xml"), b"<entry>", 1,
                                          b'<entry><title>Bad</title><link href="' + bad.encode()
                                          + b'/x" rel="alternate"/><id>urn:bad</id><summary>d</summary></entry>'),
    "atla": lambda bad: _before_nth(fixture_bytes("atla_funding.html"), b"<li>", 2,
                                    '<li><a href="BAD/koubo.pdf">研究テーマ 公募</a></li>'.replace("BAD", bad).encode()),
    "diu": lambda bad: _before_nth(fixture_bytes("diu_open_solicitations.html"), b'<h4 class="usa-accordion__heading">',
                                   2, b'<h4 class="usa-accordion__heading"><button aria-controls="sol-bad">Bad link '
                                   b'solicitation</button></h4><div id="sol-bad" class="usa-accordion__content">'
                                   b"<p>Submissions are due by April 11, 2025.</p><p><a href=\"" + bad.encode()
                                   + b'/submit-solution/X">Submit a Solution</a></p></div>'),
    "diu_redesigned": lambda bad: BETWEEN["diu"](bad).replace(b"usa-accordion__heading", b"x-heading"),
    "nato_diana": lambda bad: _before_nth(fixture_bytes("nato_diana_challenges.html"), b'<div class="challenge-card">',
                                          2, b'<div class="challenge-card"><h3>Bad Link Area</h3><p>Sensing and '
                                          b'navigation in contested space for allied forces.</p><a href="' + bad.encode()
                                          + b'/challenges/x.html">Read more</a></div>'),
    "needs_yaml": lambda bad: _before_nth(fixture_bytes("needs.yaml"), b"  - id:", 2,
                                          f"  - {{id: bad-1, text: A need with a bad link, url: '{bad}'}}\n".encode()),
    "needs_csv": lambda bad: _before_nth(fixture_bytes("needs.csv"), b"\n", 2,
                                         ("\nbad-1,Bad,A need with a bad link,en,Org," + bad).encode()),
}
#: callbacks that read one record per response (an article, a PDF of themes): a bad value is that record's
#: reject or is dropped, never an exception (their record isolation is `one_record` around the whole)
SINGLE = {
    "jstage_article": lambda bad: fixture_bytes("jstage_article.html").replace(
        b"<head>", f'<head><link rel="canonical" href="{bad}"><meta name="citation_pdf_url" content="{bad}">'.encode(), 1),
    "feeds_article": lambda bad: fixture_bytes("article_en.html").replace(
        b"<head>", f'<head><link rel="canonical" href="{bad}">'.encode(), 1),
    "atla_pdf": lambda bad: fixture_bytes("atla_r07_themes.pdf")[: 2000] + bad.encode(),
}


def _identity(item: Any) -> tuple:
    """A document by its id; a request by where it goes and what reads it (a next page's `start` moves when
    the bad record counts as one of the page's entries)."""
    if isinstance(item, Document):
        return ("document", item.id)
    return ("request", urlsplit(item.url).path, getattr(item.callback, "__name__", None), item.url if "start=" not in
            item.url else "")


def _good(items: list[Any]) -> list[Any]:
    return [i for i in items if isinstance(i, (Document, scrapy.Request))]


def test_every_spider_callback_is_covered_by_a_bad_record_case():
    names = {t.name for t in TARGETS}
    assert names <= set(BETWEEN) | set(SINGLE), f"no bad-record case for {sorted(names - set(BETWEEN) - set(SINGLE))}"


@pytest.mark.parametrize("bad", BAD_LINKS, ids=["ipv6-unclosed", "port-99999"])
@pytest.mark.parametrize("name", sorted(BETWEEN))
def test_a_bad_record_between_good_ones_costs_only_itself(name, bad):
    target = next((t for t in TARGETS if t.name == name), None) or next(t for t in TARGETS if t.name == "diu")
    baseline_body = fixture_bytes(target.fixture)
    if name == "diu_redesigned":
        baseline_body = baseline_body.replace(b"usa-accordion__heading", b"x-heading")
    baseline, _, _ = run_callback(target, baseline_body)
    items, _, _ = run_callback(target, BETWEEN[name](bad))  # an exception escaping is the failure under test
    check_outcome(items, f"{name} with {bad}")
    kept, before = Counter(map(_identity, _good(items))), Counter(map(_identity, _good(baseline)))
    lost = before - kept
    assert not lost, f"{name}: the bad record cost its neighbours {sorted(lost)}"
    for doc in (i for i in items if isinstance(i, Document)):
        doc.model_dump_json()


@pytest.mark.parametrize("bad", BAD_LINKS, ids=["ipv6-unclosed", "port-99999"])
@pytest.mark.parametrize("name", sorted(SINGLE))
def test_a_bad_value_in_a_one_record_page_is_a_clean_outcome(name, bad):
    target = next(t for t in TARGETS if t.name == name)
    items, _, _ = run_callback(target, SINGLE[name](bad))
    check_outcome(items, f"{name} with {bad}")


def test_arxiv_pages_on_past_an_unreadable_total():
    body = fixture_bytes("arxiv_page1.xml").replace(b">3</opensearch:totalResults>", b">many</opensearch:totalResults>")
    target = next(t for t in TARGETS if t.name == "arxiv")
    target = Target(target.name, lambda: ArxivSpider(page_size=2), target.callback,
                    "http://export.arxiv.org/api/query?search_query=cat:cs.CV&start=0&max_results=2", target.fixture,
                    target.cls)
    items, _, _ = run_callback(target, body)
    assert sum(isinstance(i, Document) for i in items) == 2
    assert [i.url for i in items if isinstance(i, scrapy.Request)] and "start=2" in next(
        i.url for i in items if isinstance(i, scrapy.Request))


@pytest.mark.parametrize("reference", [b"&#xD800;", b"&#55296;", b"&#xDFFF;", b"&#0;", b"&#x110000;"])
def test_a_feed_with_a_reference_to_no_character_keeps_its_items(reference):
    body = fixture_bytes("feed_rss2.xml").replace(b"<title>Quiet Robotics", b"<title>Quiet " + reference + b"Robotics", 1)
    items, _, _ = run_callback(TARGETS[6], body)
    requests = [i for i in items if isinstance(i, scrapy.Request)]
    assert len(requests) == 2, items  # both items, the one with the bad reference included
    assert "\ufffd" in requests[1].cb_kwargs["entry"]["title"] or reference == b"&#0;"


def test_heading_sections_never_raises_on_bad_links_or_bad_characters():
    from spiders.layout import heading_sections

    page = (b"<html><body><main><h3><a href='http://[::1'>A heading with a bad link</a></h3>"
            b"<p>" + b"Some text long enough to be a section of the page. " * 2 + b"</p>"
            b"<a href='http://x.example:99999/'>bad port</a><h3>Second heading</h3><p>"
            + b"Another section with enough text in it to count. " * 2 + b"</p></main></body></html>")
    sections = heading_sections(response("https://www.diu.mil/x", page, HtmlResponse))
    assert [s.title for s in sections] == ["A heading with a bad link", "Second heading"]
    assert sections[0].link is None and sections[0].links == ()
    odd = response("https://www.diu.mil/x", b"<html>\x00\x01<h3>x\x0b</h3>\xed\xa0\x80</html>", HtmlResponse)
    assert isinstance(heading_sections(odd), list)  # NUL, control characters, a lone surrogate: no exception
