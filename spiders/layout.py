"""Items of a list page whose markup has changed: structured data first, then the readable text.

Notice pages (DIU open solicitations, NATO DIANA challenge areas, ATLA calls) are read with selectors
for their current markup; sites redesign without notice, and a redesign must not silently empty a
source. `page_sections(response)` is what the spiders fall back on when their selectors find nothing:

1. JSON-LD items (read by extruct): an `ItemList`'s elements, else nodes that name and describe
   something (`Event`, `CreativeWork`, `Grant`, ...) other than the page, site or publisher;
2. the readable text: the page without its navigation, header, footer, asides and forms, cut into
   sections at its headings (h2-h5, each section: a heading, the text blocks after it, its links).
   Sections too short to describe anything (< 40 characters) are left out, and of the rest those at
   the heading level most of them share (a list's items are siblings; "How to apply" is not one).

The result says which way it was read, so the documents can say so (`meta["layout"]`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spiders.records import joined_url

_ITEM_TYPES = {"Event", "CreativeWork", "Grant", "MonetaryGrant", "Project", "ResearchProject", "Offer", "Demand",
               "Service", "Article", "NewsArticle", "Thing", "Action", "FundingScheme"}
_PAGE_TYPES = {"WebPage", "WebSite", "Organization", "GovernmentOrganization", "BreadcrumbList",
               "SiteNavigationElement", "ItemList", "ListItem", "ImageObject", "Person", "SearchAction"}
_BOILERPLATE = "//nav|//header|//footer|//aside|//form|//script|//style|//noscript|//*[@role='navigation']"
_HEADINGS = {"h2", "h3", "h4", "h5"}
_BLOCKS = {"p", "li", "dd", "dt", "td", "blockquote", "div", "span", "section"}
_IN_HEADING = "ancestor::h2|ancestor::h3|ancestor::h4|ancestor::h5"
MIN_TEXT = 40


@dataclass
class Section:
    title: str
    text: str
    link: str | None
    via: str  # "json-ld" or "headings"
    parts: tuple[str, ...] = ()  # the text blocks, in page order
    links: tuple[str, ...] = ()  # every link of the section, in page order


def _clean(text: Any) -> str:
    return " ".join(str(text or "").split())


def ld_types(node: dict[str, Any]) -> set[str]:
    types = node.get("@type")
    return {t for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)}


def json_ld(response) -> list[Any]:
    """The page's JSON-LD, read by extruct script by script: a malformed script costs only itself."""
    from extruct.jsonld import JsonLdExtractor

    extractor = JsonLdExtractor()
    data: list[Any] = []
    try:
        scripts = response.xpath('//script[@type="application/ld+json"]')
    except (AttributeError, ValueError):  # not an HTML/XML response
        return []
    for script in scripts:
        try:
            items = extractor.extract_items(script.root)
        except (ValueError, TypeError, RecursionError):
            continue
        # Real metadata is a few levels deep; a script nested deeper would overflow every recursive reader.
        data.extend(item for item in items if within_depth(item, MAX_JSON_LD_DEPTH))
    return data


#: how deeply one JSON-LD item may nest (lists and objects)
MAX_JSON_LD_DEPTH = 64


def within_depth(value: Any, limit: int) -> bool:
    """Whether `value` nests no deeper than `limit` lists/objects (checked without recursion)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth >= limit:
                return False
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return True


def json_ld_items(response) -> list[Section]:
    """Named, described items of the page's JSON-LD (ItemList elements first)."""
    data = json_ld(response)
    listed: list[dict[str, Any]] = []
    loose: list[dict[str, Any]] = []

    def visit(node: Any, in_list: bool = False) -> None:
        if isinstance(node, list):
            for child in node:
                visit(child, in_list)
        elif isinstance(node, dict):
            if "ListItem" in ld_types(node) and isinstance(node.get("item"), dict):
                visit(node["item"], True)
                return
            if not ld_types(node) & _PAGE_TYPES:
                (listed if in_list else loose).append(node)
            for key, value in node.items():
                if key not in ("publisher", "author", "provider", "isPartOf") and isinstance(value, (dict, list)):
                    visit(value, in_list or key == "itemListElement")

    visit(data)
    sections = []
    for node in listed or [n for n in loose if ld_types(n) & _ITEM_TYPES]:
        title, text = _clean(node.get("name") or node.get("headline")), _clean(node.get("description"))
        if title and len(text) >= MIN_TEXT:
            url = node.get("url") if isinstance(node.get("url"), str) else None
            sections.append(Section(title, text, joined_url(response, url), "json-ld"))
    return sections


def heading_sections(response) -> list[Section]:
    """The page's readable text cut at its headings (see the module doc); [] for a page lxml cannot read (the
    caller then rejects the page as not recognised). A bad link costs only that link."""
    import lxml.html

    try:
        return _heading_sections(response, lxml.html.fromstring(response.text))
    except (ValueError, TypeError, lxml.etree.LxmlError):  # NUL and control characters, unreadable markup
        return []


def _heading_sections(response, doc) -> list[Section]:
    for element in doc.xpath(_BOILERPLATE):
        element.drop_tree()
    roots = doc.xpath("//main|//*[@role='main']|//article") or doc.xpath("//body") or [doc]
    sections: list[tuple[str, Section]] = []  # (heading level, section)
    current: dict[str, Any] | None = None

    def close() -> None:
        if current and current["title"] and len(" ".join(current["parts"])) >= MIN_TEXT:
            links = tuple(dict.fromkeys(current["links"]))
            sections.append((current["level"], Section(current["title"], _clean(" ".join(current["parts"])),
                                                       current["link"] or (links[0] if links else None), "headings",
                                                       tuple(current["parts"]), links)))

    for element in roots[0].iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag == "h1":
            close()
            current = None
        elif tag in _HEADINGS:
            close()
            href = next(iter(element.xpath(".//a/@href")), None)
            current = {"title": _clean(element.text_content()), "level": tag, "parts": [], "links": [],
                       "link": joined_url(response, href)}
        elif current is not None and tag == "a" and joined_url(response, element.get("href")):
            current["links"].append(joined_url(response, element.get("href")))
        elif current is not None and tag in _BLOCKS and not element.xpath(_IN_HEADING):
            # leaf blocks only: a block holding other blocks is read through them
            if any(isinstance(c.tag, str) and c.tag in _BLOCKS | _HEADINGS for c in element.iterdescendants()):
                continue
            text = _clean(element.text_content())
            if text:
                current["parts"].append(text)
    close()
    sections = [(level, s) for level, s in sections if 3 <= len(s.title) <= 200]
    if not sections:
        return []
    # The items of a list share one heading level; a lone section at another level ("How to apply")
    # is the page's own text. Keep the level with the most sections (the deeper one on a tie).
    levels = [level for level, _ in sections]
    items = max(set(levels), key=lambda level: (levels.count(level), level))
    return [s for level, s in sections if level == items]


def page_sections(response) -> list[Section]:
    """The items of a page whose own layout was not recognised: JSON-LD, else headings and text."""
    return json_ld_items(response) or heading_sections(response)
