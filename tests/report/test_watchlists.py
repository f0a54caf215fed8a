"""The report's watchlist section: each watchlist's new hits in the period, in HTML and plain text."""

from __future__ import annotations

from datetime import timedelta

from service.analyst import AnalystStore
from service.report import build_report, render_html, render_text
from service.watch import add_watchlist, attach_watchlist_news
from tests.report.fakes import NOW, TAXONOMY, FakeLibrary
from tests.web.fakes import MemoryLibrary, _doc


def test_watchlist_news_in_the_report(ledger, settings, tmp_path):
    library = MemoryLibrary()
    with AnalystStore(tmp_path / "analyst.sqlite") as store:
        add_watchlist(store, library, "RAM startups", user="ann", query="radar absorbing", filters={"kind": "startup"})
        add_watchlist(store, library, "Quantum", user="ann", filters={"concept": "quantum-sensing"})
        library.add(_doc("startup", "rss", "ram-9", "Radar absorbing <b>foam</b> startup", "Radar absorbing foam.",
                         "en", ["FoamCo"], "2026-11-19", ["radar-absorbing-material"], new=True))
        report = build_report(ledger, FakeLibrary(), settings=settings, taxonomy=TAXONOMY, now=NOW, chart=False)
        attach_watchlist_news(report, library, store)
        news = {w.watchlist.name: [h.title for h in w.hits] for w in report.watchlists}
        assert news == {"RAM startups": ["Radar absorbing <b>foam</b> startup"], "Quantum": []}

        html = render_html(report, settings)
        assert "Watchlists</h2>" in html and "RAM startups" in html
        assert "Radar absorbing &lt;b&gt;foam&lt;/b&gt; startup" in html and "<b>foam</b>" not in html
        assert "/feeds/watchlists/1.atom" in html
        text = render_text(report, settings)
        assert "WATCHLISTS" in text and "RAM startups (search): 1 new" in text and "Quantum (concept): 0 new" in text
        assert text.index("WATCHLISTS") < text.index("NEEDS WITH NOTHING NEW")

        # The next report starts where this one ended: the same hit is not news twice.
        later = build_report(ledger, FakeLibrary(), settings=settings, taxonomy=TAXONOMY, now=NOW + timedelta(days=7),
                             chart=False)
        later.since = report.until
        library.add(_doc("startup", "rss", "ram-10", "Radar absorbing mesh startup", "Radar absorbing mesh.", "en",
                         ["MeshCo"], "2026-11-25", ["radar-absorbing-material"], new=True))
        attach_watchlist_news(later, library, store)
        assert {w.watchlist.name: [h.title for h in w.hits] for w in later.watchlists} == {
            "RAM startups": ["Radar absorbing mesh startup"], "Quantum": []}


def test_a_watchlist_hit_shows_its_shared_terms_in_the_report(ledger, settings, tmp_path):
    from domain.models import TermRef

    library = MemoryLibrary()
    with AnalystStore(tmp_path / "analyst.sqlite") as store:
        add_watchlist(store, library, "RAM", user="ann", query="radar absorbing")
        library.add(_doc("startup", "rss", "ram-9", "Foam startup", "Radar absorbing foam.", "en", ["FoamCo"],
                         "2026-11-19", ["radar-absorbing-material"], new=True))
        report = build_report(ledger, FakeLibrary(), settings=settings, taxonomy=TAXONOMY, now=NOW, chart=False)
        attach_watchlist_news(report, library, store)
    (hit,) = report.watchlists[0].hits
    assert hit.terms == []  # this library names no typed term: the report says none
    assert "shared terms" not in render_text(report, settings).lower()
    hit.terms = [TermRef(type="MATERIAL", text="radar absorbing foam <x>")]
    assert "shared terms: radar absorbing foam <x> (material)" in render_text(report, settings)
    assert "Shared terms: radar absorbing foam &lt;x&gt;" in render_html(report, settings)
