"""Hostile crawled text stays inert on the real pages: it went through the real nlp stage and the real index
(passages, evidence, organization names) before reaching the templates."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from markupsafe import escape

from tests.web.fakes import PAYLOAD_TEXT, PAYLOAD_TITLE
from tests.web.test_pages import assert_inert

JA_EXECUTABLE = [re.compile(p, re.I) for p in (r"<iframe", r"<script>document", r"</textarea>", r"<b>悪意</b>",
                                                r"src=\"javascript:", r"href=\"javascript:")]


@pytest.fixture(scope="module")
def hostile(stored):
    return stored["payload-1"], stored["payload-2"]


def _inert(html: str) -> None:
    assert_inert(html)  # the web tests' rules: no script/img/svg payload, no javascript: link, our script only
    for pattern in JA_EXECUTABLE:
        assert not pattern.search(html), pattern.pattern


def test_hostile_documents_survive_the_pipeline_as_text(hostile):
    english, japanese = hostile
    assert english.title == PAYLOAD_TITLE and english.text == PAYLOAD_TEXT  # stored as crawled: escaping is the page's job
    assert "<script>" in japanese.title


def test_hostile_documents_are_escaped_on_every_real_page(real_library, real_client, hostile):
    english, japanese = hostile
    needs_with_payload = [n.id for n in real_library.needs()
                          if english.id in {m.doc_id for m in real_library.match(n.id).matches}]
    assert needs_with_payload, "the hostile record is ranked for some need, so its evidence reaches a need page"
    org_key = next(iter(real_library.index.analysis_payload(english.id)["organizations"]))
    pages = {
        "document en": f"/documents/{english.id}",
        "document ja": f"/documents/{japanese.id}",
        "search en": "/?q=" + quote("radar absorbing paint"),
        "search ja": "/?q=" + quote("電波吸収シート"),
        "need": f"/needs/{needs_with_payload[0]}",
        "org by name": "/orgs/" + quote("<i>Evil</i> Corp"),
        "org by key": "/orgs/" + quote(org_key),
        "org ja": "/orgs/" + quote("株式会社<b>悪意</b>"),
        "reflected query": "/?q=" + quote("<script>alert(9)</script>"),
    }
    for name, url in pages.items():
        response = real_client.get(url)
        assert response.status_code == 200, name
        _inert(response.text)
    search = real_client.get(pages["search en"]).text
    assert f'data-doc-id="{english.id}"' in search
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in search
    doc_html = real_client.get(pages["document en"]).text
    assert f'<h1 lang="en">{escape(PAYLOAD_TITLE)}</h1>' in doc_html
    assert str(escape(PAYLOAD_TEXT)) in doc_html
    assert '<span class="ext unsafe" title="not an http(s) link">javascript:alert(4)</span>' in doc_html
    ja_html = real_client.get(pages["document ja"]).text
    assert "株式会社&lt;script&gt;alert(&#39;ja&#39;)&lt;/script&gt;" in ja_html
    assert "&lt;iframe src=&#34;javascript:alert(6)&#34;&gt;" in ja_html
    assert "javascript:alert(7)" in ja_html and 'href="javascript:alert(7)"' not in ja_html
    need_html = real_client.get(pages["need"]).text
    assert f'data-doc-id="{english.id}"' in need_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in need_html  # its title, escaped
    assert "&lt;i&gt;Evil&lt;/i&gt; Corp" in real_client.get(pages["org by name"]).text


def test_hostile_text_in_the_json_api_is_data(real_client, hostile):
    english, _ = hostile
    response = real_client.get(f"/api/documents/{english.id}")
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["title"] == PAYLOAD_TITLE
