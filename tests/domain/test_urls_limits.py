"""The one URL check and the bounds every document entering dualscout passes (issue 19, items 1 and 3)."""

from __future__ import annotations

import pytest

from domain.limits import MAX_META_BYTES, MAX_ORGANIZATIONS, MAX_TEXT_CHARS, MAX_TITLE_CHARS, bound_document, input_notes
from domain.models import Document
from domain.urls import safe_url, url_problem


@pytest.mark.parametrize("url", ["http://[::1", "http://[::1]:99999/", "http://x:port/", "javascript:alert(1)",
                                 "data:text/html,<b>", "//example.org/x", "http:///nohost", "http://a b/",
                                 "http://x/\ud800", "http://x/" + "a" * 5000, "ftp://x/"])
def test_bad_urls_are_named_and_never_rendered_as_links(url):
    assert url_problem(url) is not None
    assert safe_url(url) is None  # never raises, whatever the input


@pytest.mark.parametrize("url", ["https://example.org/a?b=1#c", "http://[::1]:8080/x", "http://例え.jp/パス"])
def test_good_urls_pass(url):
    assert url_problem(url) is None and safe_url(url) == url


def test_a_file_url_may_be_a_documents_url_but_never_a_link():
    assert url_problem("file:///srv/needs.yaml#n1") is None and safe_url("file:///srv/needs.yaml#n1") is None


def doc(**fields) -> Document:
    base = dict(kind="research", source="openalex", source_id="W1", url="https://example.org/w1", title="A title",
                text="Some text.")
    return Document.make(**{**base, **fields})


def test_a_document_within_bounds_is_the_same_object():
    d = doc()
    assert bound_document(d) is d


def test_oversized_fields_are_cut_with_a_note_and_the_hash_follows():
    d = doc(url="http://[::1", title="t" * (MAX_TITLE_CHARS + 5), text="x" * (MAX_TEXT_CHARS * 2),
            organizations=[f"Org {i}" for i in range(MAX_ORGANIZATIONS + 10)], meta={"blob": "m" * (MAX_META_BYTES + 1)})
    b = bound_document(d)
    assert (b.id, b.url, len(b.title), len(b.text)) == (d.id, "", MAX_TITLE_CHARS, MAX_TEXT_CHARS)
    assert len(b.organizations) == MAX_ORGANIZATIONS and "blob" not in b.meta
    assert b.content_hash == doc(title=b.title, text=b.text).content_hash != d.content_hash
    notes = input_notes(b)
    assert [n.split(":")[0].split(" cut")[0] for n in notes] == ["url dropped", "title", "text", "organizations",
                                                                 "meta dropped"]
    assert bound_document(b) is b  # bounded once is bounded
