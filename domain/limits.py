"""Bounds on what one record may bring in: a document that exceeds them is cut down with a note, never refused
whole, so that one oversized record neither stalls the enrich step nor costs its neighbours.

`bound_document` is applied where documents enter (the crawl pipeline, the ingest of a batch file). The notes
it adds to `Document.meta["input_notes"]` say what was cut or dropped and why; the content hash is recomputed
from what is kept, so a re-crawl of the same oversized record is still recognised as unchanged.
"""

from __future__ import annotations

import json

from domain.models import Document, content_hash
from domain.urls import url_problem

#: characters of text kept per document (about 60 pages: the longest call document we have seen is a tenth)
MAX_TEXT_CHARS = 200_000
MAX_TITLE_CHARS = 1_000
MAX_ORGANIZATIONS = 50
MAX_ORGANIZATION_CHARS = 300
#: bytes of `meta` (as JSON) kept; beyond it the meta is replaced by a note
MAX_META_BYTES = 64 * 1024
NOTES_KEY = "input_notes"


def bound_document(doc: Document) -> Document:
    """`doc` within the bounds above; unchanged (the same object) when it already is."""
    notes: list[str] = []
    update: dict = {}
    problem = url_problem(doc.url)
    if problem:
        notes.append(f"url dropped: {problem}")
        update["url"] = ""
    title, text = doc.title, doc.text
    if len(title) > MAX_TITLE_CHARS:
        notes.append(f"title cut from {len(title):,} to {MAX_TITLE_CHARS:,} characters")
        title = title[:MAX_TITLE_CHARS]
    if len(text) > MAX_TEXT_CHARS:
        notes.append(f"text cut from {len(text):,} to {MAX_TEXT_CHARS:,} characters")
        text = text[:MAX_TEXT_CHARS]
    if (title, text) != (doc.title, doc.text):
        update.update(title=title, text=text, content_hash=content_hash(title, text))
    orgs = doc.organizations
    if len(orgs) > MAX_ORGANIZATIONS or any(len(o) > MAX_ORGANIZATION_CHARS for o in orgs):
        notes.append(f"organizations cut to {MAX_ORGANIZATIONS} of at most {MAX_ORGANIZATION_CHARS} characters")
        update["organizations"] = [o[:MAX_ORGANIZATION_CHARS] for o in orgs[:MAX_ORGANIZATIONS]]
    meta = doc.meta
    try:
        size = len(json.dumps(meta, default=str, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError) as exc:
        size, reason = -1, f"meta dropped: not serialisable ({type(exc).__name__})"
    else:
        reason = f"meta dropped: {size:,} bytes > {MAX_META_BYTES:,}" if size > MAX_META_BYTES else ""
    if reason:
        notes.append(reason)
        meta = {}
    if not notes:
        return doc
    update["meta"] = {**meta, NOTES_KEY: [*meta.get(NOTES_KEY, []), *notes]}
    return doc.model_copy(update=update)


def input_notes(doc: Document) -> list[str]:
    return list(doc.meta.get(NOTES_KEY) or [])


# -- what a person may type ---------------------------------------------------------------------------------
# Bounds on what users send (queries, notes, names, ids), the same at every door: the library, the analyst store,
# the API and pages, the CLI, watchlists. Beyond them a request is refused whole with the reason (HTTP 413 for
# too long, 422 for text that is not text), never cut: a cut query would answer a different question.
#: characters of a search query (a pasted need description fits; a megabyte-long one tied up ranking for minutes)
MAX_QUERY_CHARS = 4_000
#: characters of a judgement's note
MAX_NOTE_CHARS = 4_000
#: characters of a watchlist's name
MAX_NAME_CHARS = 200
#: characters of a need id, document id, organization key or a filter value
MAX_ID_CHARS = 500
#: bytes of one HTTP request body sent to the app (a judgement or a watchlist is a few KiB)
MAX_BODY_BYTES = 256 * 1024


class InputRejected(ValueError):
    """Text a user sent that cannot be taken (not text: a NUL, a lone surrogate); the message says which and
    why. `status` is the HTTP answer."""

    status = 422


class InputTooLarge(InputRejected):
    """Text longer than its bound."""

    status = 413


def checked_text(value: str, what: str, max_chars: int) -> str:
    """`value` when it is at most `max_chars` characters of real text, else InputRejected naming `what`.

    Real text: no NUL (databases and C libraries cut there) and no lone surrogate (what a terminal's invalid
    UTF-8 or a JSON `"\\ud800"` becomes in Python; no database can store it)."""
    if len(value) > max_chars:
        raise InputTooLarge(f"{what} has {len(value):,} characters; the limit is {max_chars:,}")
    if "\x00" in value:
        raise InputRejected(f"{what} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputRejected(f"{what} is not valid text: character {exc.start + 1} is a lone surrogate "
                            "(invalid UTF-8 from the terminal, or an unpaired \\ud800-\\udfff escape)") from None
    return value
