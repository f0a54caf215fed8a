"""What a person reads for a source: one readable name per crawl source, for every face (the weekly mail, the
brief, the web pages, the CLI tables, a technology's version labels: "news feeds 2025").

The raw names (`needs_file`, `sbir_topics`, the spiders' names) stay what machines read and write: the JSON
API's fields, the CSV `source` columns, `--source` and the `source=` filter in URLs, facet keys, report
profiles' `need_sources`. Only a screen, a page or a mail shows `source_label(name)`.
"""

from __future__ import annotations

import re

# One per spider in spiders/sources (tests/service/test_labels.py keeps it so), named as README's Sources
# table describes them.
SOURCE_LABELS: dict[str, str] = {
    "arxiv": "arXiv",
    "openalex": "OpenAlex",
    "jstage": "J-STAGE",
    "kaken": "KAKEN",
    "feeds": "news feeds",
    "atla": "ATLA",
    "sbir_topics": "SBIR topics",
    "diu": "DIU",
    "nato_diana": "NATO DIANA",
    "needs_file": "needs file",
}

# A crawl planned from the needs is named `spider[query]` (service.crawl_queries): the spider part is labelled.
_PLANNED = re.compile(r"^([^\[\]]+)(\[.*\])$", re.DOTALL)


def source_label(name: str | None) -> str:
    """The readable name of a source: 'SBIR topics' for `sbir_topics`, 'news feeds' for `feeds`; a name no
    spider has (a configured or older source) reads as itself with its underscores as spaces; a planned
    crawl `arxiv[quantum sensing]` as 'arXiv[quantum sensing]'. None or '' reads ''."""
    if not name:
        return ""
    if name in SOURCE_LABELS:
        return SOURCE_LABELS[name]
    planned = _PLANNED.match(name)
    if planned:
        return source_label(planned.group(1)) + planned.group(2)
    return name.replace("_", " ")
