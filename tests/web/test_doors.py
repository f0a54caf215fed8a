"""The three doors (CLI `--json`, JSON API, web page) give the same answer to the same question."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from scout.cli import app as cli_app
from scout.commands._library import use_library

QUERIES = [
    ("radar absorbing metamaterial", {}),
    ("電波吸収材", {"lang": "ja"}),
    ("quantum sensor navigation", {"kind": "research", "since": "2025"}),
    ("radar", {"concept": "metamaterial", "source": "rss"}),
    ("drone detection", {"area": "us-sensing", "until": "2026-01"}),
    ("radar absorbing", {"org": "Metasurface Labs Inc."}),
]


def _cli_json(library, *args):
    with use_library(library):
        result = CliRunner().invoke(cli_app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("query, filters", QUERIES, ids=[q for q, _ in QUERIES])
def test_search_three_doors_agree(library, client, query, filters):
    cli_args = ["search", query, "--json", "--limit", "10"]
    for key, value in filters.items():
        cli_args += [f"--{key}", value]
    from_cli = _cli_json(library, *cli_args)
    from_api = client.get("/api/search", params={"q": query, "limit": 10, **filters}).json()
    page = client.get("/", params={"q": query, "limit": 10, **filters}).text
    from_page = re.findall(r'<li class="hit" data-doc-id="([^"]+)"', page)

    assert from_api["hits"], "every query here finds something in the fixture"
    assert from_cli == from_api
    assert from_page == [h["doc_id"] for h in from_api["hits"]]
    for facet, counts in from_api["facets"].items():
        for value, count in counts.items():
            assert f'<span class="count">{count}</span>' in page, (facet, value)


def test_match_three_doors_agree(library, client):
    for need in library.needs():
        from_cli = _cli_json(library, "match", need.id, "--json", "--limit", "5")
        from_api = client.get(f"/api/needs/{need.id}/matches", params={"limit": 5}).json()
        page = client.get(f"/needs/{need.id}", params={"limit": 5}).text
        assert from_cli == from_api
        assert re.findall(r'<li class="match" data-doc-id="([^"]+)"', page) == [m["doc_id"] for m in from_api["matches"]]


def test_needs_document_and_org_doors_agree(library, client, payload_doc):
    assert _cli_json(library, "needs", "--json") == client.get("/api/needs").json()
    from_cli = _cli_json(library, "org", "QuantNav", "--json")
    assert from_cli == client.get("/api/orgs/QuantNav").json()
    page = client.get("/orgs/QuantNav").text
    for need in from_cli["needs"]:
        assert f'href="/needs/{need["key"]}"' in page
