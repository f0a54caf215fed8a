"""Record isolation for parse callbacks: one malformed record is a reject of that record, never of its page.

A callback is a generator; an exception escaping it ends the generator, so every good record after the bad
one and the next page's request would be lost (Scrapy's spider middleware can only record the page as a
whole). Every spider therefore builds each record (an API record, a feed item, an arXiv entry, a notice on a
page, an article) through `one_record`, and reads what decides paging and links through helpers that never
raise: `page_number`, `joined_url`, `as_list`, `as_dict`. tests/spiders/test_fuzz.py puts a bad record between
good ones for every spider's callbacks.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from domain.models import Reject

#: what a malformed record may raise while it is turned into a Document (RecursionError: deep nesting)
RECORD_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError, UnicodeError,
                 ArithmeticError)


def one_record(spider: Any, where: str | None, build: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`build(*args, **kwargs)` (a Document, a Reject, a Request), or the spider's Reject of this record
    when it raises; `where` is the URL the reject names (the page, or the record's own URL)."""
    try:
        return build(*args, **kwargs)
    except RECORD_ERRORS as exc:
        spider.crawler.stats.inc_value("dualscout/record_errors") if getattr(spider, "crawler", None) else None
        return spider.reject(where, f"malformed record: {describe(exc)}")


def describe(exc: BaseException) -> str:
    """`Type: message`, with a message even for exceptions that carry none (`DownloadCancelledError: ` says
    nothing); at most 200 characters."""
    message = " ".join(str(exc).split())
    if isinstance(exc, RecursionError):
        message = "nested too deeply"
    elif not message:  # the class's own first docstring line says at least what kind of failure it was
        doc = (type(exc).__doc__ or "").strip().splitlines()
        message = doc[0].strip() if doc and type(exc).__doc__ is not Exception.__doc__ else ""
    return f"{type(exc).__name__}: {message or 'no detail given'}"[:200]


def page_number(value: Any, default: int) -> int:
    """A paging number (`totalResults`, `startIndex`...) as an int; `default` when it is missing or not a
    number ("1,234" and " 12 " are read as numbers; "many" is not)."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    text = re.sub(r"[\s,_]", "", str(value or ""))
    return int(text) if text.isdigit() and len(text) < 19 else default


def joined_url(base: Any, href: Any) -> str | None:
    """`href` resolved against `base` (a URL or a response); None when either cannot be read as a URL (a link
    such as `http://[::1` or a port past 65535 is that link's problem, never its page's)."""
    from urllib.parse import urljoin, urlsplit

    if not isinstance(href, str) or not href.strip():
        return None
    try:
        url = urljoin(getattr(base, "url", base), href.strip())
        urlsplit(url).port  # noqa: B018 - raises ValueError for a port that is out of range or not a number
    except ValueError:
        return None
    return url


def as_list(value: Any) -> list:
    """A JSON field that should be a list: a list as is, a single object as a list of one, else []."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    return []


def as_dict(value: Any) -> dict:
    """A JSON field that should be an object: itself, or {} when it is anything else."""
    return value if isinstance(value, dict) else {}
