"""The three doors (CLI `--json`, JSON API, web pages) give the same answer to the same question on the real
library: a Qdrant Edge index built by the real nlp stage and ranked by the real ranker."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
from typer.testing import CliRunner

from scout.cli import app as cli_app
from scout.commands._library import use_library

# (query, filters as CLI/API parameters): every filter the CLI offers, alone and combined, in both languages.
QUERIES = [
    ("radar absorbing metamaterial", {}),
    ("電波吸収材", {"lang": "ja"}),
    ("quantum sensor navigation", {"kind": "research", "since": "2024"}),
    ("ドローン 群制御", {"kind": "startup"}),
    ("radar", {"concept": "metamaterial"}),
    ("hypersonic ceramics", {"area": "jp-hypersonics", "since": "2021-06"}),
    ("drone detection", {"area": "us-sensing", "until": "2026-01"}),
    ("batteries for cold weather", {"lang": "en", "kind": "startup"}),
    ("radar absorbing", {"org": "Metasurface Labs Inc."}),
    ("", {"concept": "drone-swarm"}),  # browsing by a filter alone (the concept links on the pages)
]


def _cli(library, *args):
    with use_library(library):
        return CliRunner().invoke(cli_app, list(args))


def _cli_json(library, *args):
    result = _cli(library, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _rounded(data):
    """Scores carry a recency term computed from the clock at each call, so two doors asked a moment apart
    differ in the 11th digit (reported to index/: Ranker has no fixed `now`); everything else must be equal."""
    if isinstance(data, float):
        return round(data, 6)
    if isinstance(data, dict):
        return {k: _rounded(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_rounded(v) for v in data]
    return data


def _holds(hit: dict, filters: dict, analysis: dict) -> bool:
    published = datetime.fromisoformat(hit["published"]).date() if hit["published"] else None
    checks = {
        "kind": lambda v: hit["kind"] == v,
        "lang": lambda v: hit["language"] == v,
        "concept": lambda v: v in analysis["concepts"],
        "area": lambda v: v in analysis["areas"],
        "since": lambda v: published is not None and published >= date.fromisoformat((v + "-01-01")[:10]),
        "until": lambda v: published is not None and published.strftime("%Y-%m") <= v,
        "org": lambda v: "metasurfacelabs" in analysis["organizations"],
    }
    return all(checks[k](v) for k, v in filters.items())


@pytest.mark.parametrize("query, filters", QUERIES, ids=[f"{q or '(browse)'}-{'-'.join(f)}" for q, f in QUERIES])
def test_search_three_doors_agree(real_library, real_client, query, filters):
    cli_args = ["search", query, "--json", "--limit", "10"]
    for key, value in filters.items():
        cli_args += [f"--{key}", value]
    from_cli = _cli_json(real_library, *cli_args)
    from_api = real_client.get("/api/search", params={"q": query, "limit": 10, **filters}).json()
    page = real_client.get("/", params={"q": query, "limit": 10, **filters}).text
    from_page = re.findall(r'<li class="hit" data-doc-id="([^"]+)"', page)

    ids = [h["doc_id"] for h in from_api["hits"]]
    assert ids, f"the fixture index has documents for {query!r} {filters}"
    assert [h["doc_id"] for h in from_cli["hits"]] == ids, "CLI and API rank the same documents in the same order"
    assert _rounded(from_cli) == _rounded(from_api), "CLI and API return the same document"
    assert from_page == ids, "the page lists the API's hits in the API's order"
    for hit in from_api["hits"]:
        analysis = real_library.index.analysis_payload(hit["doc_id"])
        assert _holds(hit, filters, analysis), (hit["title"], filters)
    # every facet the API returns is on the page with its count
    for facet, counts in from_api["facets"].items():
        for value, count in counts.items():
            assert f'<span class="count">{count}</span>' in page, (facet, value)


def test_match_three_doors_agree(real_library, real_client):
    needs = real_library.needs()
    assert len(needs) == 6
    for need in needs:
        from_cli = _cli_json(real_library, "match", need.id, "--json", "--limit", "5")
        from_api = real_client.get(f"/api/needs/{need.id}/matches", params={"limit": 5}).json()
        page = real_client.get(f"/needs/{need.id}", params={"limit": 5}).text
        ids = [m["doc_id"] for m in from_api["matches"]]
        assert len(ids) == 5
        assert [m["doc_id"] for m in from_cli["matches"]] == ids
        assert _rounded(from_cli) == _rounded(from_api)
        assert re.findall(r'<li class="match" data-doc-id="([^"]+)"', page) == ids
        # a short id prefix from the tables works on the CLI and names the same need
        assert _cli_json(real_library, "match", need.id[:8], "--json", "--limit", "5")["need"]["id"] == need.id


def test_needs_and_org_doors_agree(real_library, real_client):
    assert _cli_json(real_library, "needs", "--json") == real_client.get("/api/needs").json()
    for name in ("スカイスウォーム株式会社", "スカイスウォーム", "RadarSense Inc.", "radarsense"):
        from_cli = _cli_json(real_library, "org", name, "--json")
        from_api = real_client.get(f"/api/orgs/{name}").json()
        assert from_cli["key"] == from_api["key"]
        assert [d["doc_id"] for d in from_cli["documents"]] == [d["doc_id"] for d in from_api["documents"]]
        assert [n["key"] for n in from_cli["needs"]] == [n["key"] for n in from_api["needs"]]
        assert from_api["needs"], f"{name} answers at least one need"
        page = real_client.get(f"/orgs/{name}").text
        for need in from_api["needs"]:
            assert f'href="/needs/{need["key"]}"' in page
        for doc in from_api["documents"]:
            assert f'href="/documents/{doc["doc_id"]}"' in page


def test_unknown_ids_are_clean_errors_at_every_door(real_library, real_client, stored):
    research_id = stored["2604.01234"].id  # a research result, not a need
    for bad in ("no-such-need", research_id):
        result = _cli(real_library, "match", bad, "--json")
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert real_client.get(f"/api/needs/{bad}/matches").status_code == 404
        assert real_client.get(f"/needs/{bad}").status_code == 404
    result = _cli(real_library, "org", "No Such Organization 42")
    assert result.exit_code == 1 and "no organization" in result.output
    assert real_client.get("/api/orgs/No Such Organization 42").status_code == 404
