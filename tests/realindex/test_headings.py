"""What the search page's and the need page's headings say of the list under them.

The search page said "20 hits for “radar”" above the first 20 of many (its facets counted 97), and "20 hits,
newest first" above the newest 20 of the 26 documents a concept filter selects; `scout search` the same. A
need page sorted by date said "Ranked technologies (1–20)" above matches numbered 87, 51, 58 ... (their
places by score).
"""

from __future__ import annotations

import re

from domain.models import SearchFilters


def _summary(html: str) -> str:
    found = re.search(r'<p class="muted summary">(.*?) · <a', html, flags=re.S)
    assert found, "the search page has its summary line"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_the_search_heading_says_the_best_n_where_more_lie_below(real_library, real_client):
    everything = real_library.search("radar", limit=200).hits
    assert len(everything) > 3
    assert _summary(real_client.get("/", params={"q": "radar", "limit": 3}).text) == "The best 3 hits for “radar”"
    n = len(everything)
    assert _summary(real_client.get("/", params={"q": "radar", "limit": n + 5}).text) == f"{n} hits for “radar”"


def test_a_browse_heading_counts_what_the_filters_select(real_library, real_client):
    concept = next(c for h in real_library.search("radar", limit=10).hits for c in h.concepts)
    selected = len(real_library.search("", SearchFilters(concept=concept), limit=500).hits)
    assert selected > 2
    page = real_client.get("/", params={"concept": concept, "limit": 2}).text
    assert _summary(page) == f"2 of {selected} hits, newest first"
    page = real_client.get("/", params={"concept": concept, "limit": 500}).text
    assert _summary(page) == f"{selected} hits, newest first"


def test_a_need_page_by_date_says_what_its_numbers_are(real_library, real_client):
    need = next(n for n in real_library.needs() if n.source == "sbir")
    by_score = real_client.get(f"/needs/{need.id}").text
    assert re.search(r"Ranked technologies <span class=\"muted\">\(1–\d+\)</span>", by_score)
    by_date = real_client.get(f"/needs/{need.id}", params={"sort": "date"}).text
    heading = re.search(r"Ranked technologies <span class=\"muted\">\((.*?)\)</span>", by_date).group(1)
    assert re.fullmatch(r"1–\d+ of the best \d+, newest first; numbered by score", heading), heading
