"""URLs from crawled records: the one check of where a document's URL may lead, shared by every stage.

`url_problem` is asked where documents enter (the crawl pipeline, the ingest of a batch): a URL it
objects to is dropped from the document with a note, the document is kept. `safe_url` is asked by
every renderer (web pages, the report, CSV): only plain http(s) URLs become links, anything else is
shown as text, and a URL that `urllib` cannot even split never raises.
"""

from __future__ import annotations

from urllib.parse import urlsplit

#: the longest URL we keep; browsers and mail clients give up on far shorter ones than real limits allow
MAX_URL_CHARS = 4096
LINK_SCHEMES = ("http", "https")
#: schemes a document's own URL may have (`file:` for needs read from a local needs.yaml)
DOCUMENT_SCHEMES = ("http", "https", "file")


def url_problem(url: str | None, schemes: tuple[str, ...] = DOCUMENT_SCHEMES) -> str | None:
    """Why `url` cannot be a document's URL, or None when it can (an empty URL is simply absent)."""
    if not url:
        return None
    if len(url) > MAX_URL_CHARS:
        return f"URL longer than {MAX_URL_CHARS} characters ({len(url)})"
    if any(ord(ch) < 0x20 or ch in " \x7f" for ch in url) or any(0xD800 <= ord(ch) <= 0xDFFF for ch in url):
        return "URL contains white space, control characters or lone surrogates"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        return f"malformed URL: {exc}"
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        return f"URL scheme {scheme or '(none)'!r} is not one of {', '.join(schemes)}"
    if scheme != "file" and not parts.hostname:
        return "URL has no host"
    return None


def safe_url(url: str | None) -> str | None:
    """`url` when it may be rendered as a link (plain http(s) with a host), else None; never raises."""
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    return url if url_problem(url, LINK_SCHEMES) is None else None
