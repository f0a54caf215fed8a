"""Needs that analysts type in: a `needs.yaml` (or CSV) file, read through Scrapy as a file:// URL.

YAML: a list of needs, or a mapping with a `needs:` list. CSV: a header row with the same field names.
Fields: `id` (required, unique), `title`, `text` (required), `language` (`ja` or `en`, optional),
`organization` (optional), `url` (optional; default `<file URL>#<id>`).

Spider arguments: `path` (default `$SCOUT_HOME/needs.yaml`), or `base_url` to read the file over
HTTP (a URL ending in .yaml/.yml/.csv, or a folder URL holding `needs.yaml`).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from domain.models import DocKind, Document
from domain.settings import scout_home
from spiders.base import ScoutSpider, check_body
from spiders.records import one_record

FILE_SUFFIXES = (".yaml", ".yml", ".csv")
FIELDS = ("id", "title", "text", "language", "organization", "url")


#: nodes a needs file may expand to (aliases counted each time they are used): thousands of needs fit
MAX_YAML_NODES = 200_000


class YamlTooLarge(ValueError):
    """A YAML document whose aliases expand beyond `MAX_YAML_NODES` (a "billion laughs" file)."""


def load_yaml_bounded(text: str, max_nodes: int = MAX_YAML_NODES) -> Any:
    """`yaml.safe_load(text)`, refused before construction when aliases would expand it beyond `max_nodes`
    nodes or make it refer to itself. Composition keeps aliases shared, so the check itself stays small."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        expanded_size(root, max_nodes)
        return loader.construct_document(root)
    finally:
        loader.dispose()


def expanded_size(root: Any, max_nodes: int) -> int:
    """Nodes of the YAML graph under `root` as if every alias were copied out; raises YamlTooLarge."""
    import yaml

    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else list(node.value)
        if children_done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > max_nodes:
                raise YamlTooLarge(f"needs file refused: its aliases expand it beyond {max_nodes:,} YAML nodes")
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise YamlTooLarge("needs file refused: a YAML alias refers to itself")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def read_records(body: bytes, url: str) -> tuple[list[Any] | None, str | None]:
    """(records, None) or (None, reason): the rows of a needs YAML or CSV file."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, f"needs file is not UTF-8 ({exc.reason} at byte {exc.start})"
    if url.lower().split("?")[0].endswith(".csv"):
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
            missing = {"id", "text"} - set(reader.fieldnames or [])
            if missing:
                return None, f"CSV header lacks {', '.join(sorted(missing))}"
            return list(reader), None
        except csv.Error as exc:
            return None, f"malformed CSV: {exc}"
    import yaml

    try:
        data = load_yaml_bounded(text)
    except yaml.YAMLError as exc:
        return None, f"malformed YAML: {str(exc).splitlines()[0]}"
    except YamlTooLarge as exc:
        return None, str(exc)
    except RecursionError:  # PyYAML composes nesting recursively: "[[[[..." thousands deep
        return None, "malformed YAML: nested too deeply"
    if isinstance(data, dict) and "needs" in data:
        data = data["needs"]
    if not isinstance(data, list):
        return None, "needs file must hold a list of needs (or a mapping with a `needs:` list)"
    return data, None


class NeedsFileSpider(ScoutSpider):
    name = "needs_file"
    kind = DocKind.need
    base_url = ""
    allow_local_files = True  # the allow-list lets this spider (only) read file:// URLs

    def __init__(self, path: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if self.base_url:
            is_file = self.base_url.lower().endswith(FILE_SUFFIXES)
            self.needs_url = self.base_url if is_file else self.base_url + "/needs.yaml"
        else:
            file = Path(path).expanduser().resolve() if path else scout_home() / "needs.yaml"
            self.needs_url = file.as_uri()
            self.base_url = file.parent.as_uri()

    async def start(self):
        yield self.request(self.needs_url, dont_filter=True)

    def parse(self, response):
        """The needs file: one need per record; bad records become rejects.

        @url needs.yaml
        @returns items 1
        @scrapes id kind source source_id title text
        """
        problem = check_body(response)
        if problem:
            yield self.reject(response.url, problem)
            return
        records, reason = read_records(response.body, response.url)
        if reason:
            yield self.reject(response.url, reason)
            return
        seen: set[str] = set()
        for number, record in enumerate(records, start=1):
            yield one_record(self, f"{response.url}#record-{number}", self.need, record, number, response.url, seen)

    def need(self, record: Any, number: int, file_url: str, seen: set[str]):
        where = f"{file_url}#record-{number}"
        if not isinstance(record, dict):
            return self.reject(where, f"record {number} is not a mapping of fields")
        fields = {k: ("" if record.get(k) is None else str(record.get(k)).strip()) for k in FIELDS}
        unknown = sorted(set(map(str, record)) - set(FIELDS))
        if not fields["id"]:
            return self.reject(where, f"record {number} has no id")
        if fields["id"] in seen:
            return self.reject(where, f"duplicate id {fields['id']!r}")
        seen.add(fields["id"])
        if not fields["text"]:
            return self.reject(where, f"need {fields['id']!r} has no text")
        language = fields["language"].lower() or None
        if language not in (None, "ja", "en"):
            return self.reject(where, f"need {fields['id']!r}: language must be ja or en, got {language!r}")
        return Document.make(
            kind=self.kind,
            source=self.source,
            source_id=fields["id"],
            url=fields["url"] or f"{file_url}#{fields['id']}",
            title=fields["title"] or fields["text"][:80],
            text=fields["text"],
            language=language,
            organizations=[fields["organization"]] if fields["organization"] else [],
            meta={"file": file_url, "ignored_fields": unknown} if unknown else {"file": file_url},
        )
