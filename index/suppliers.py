"""Known defense suppliers (past SBIR/ATLA awardees, primes) and organization keys.

Scouts look for *new entrants*: promising firms not yet in the defense base. The list is a YAML file of
names (`index/known_suppliers.yaml` bundled; `SCOUT_INDEX_KNOWN_SUPPLIERS_PATH` for your own); names are
compared by normalized organization key, so "Lockheed Martin Corp." matches "LOCKHEED MARTIN CORPORATION".
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import yaml

from domain.orgs import normalize_org

BUNDLED_SUPPLIERS = Path(__file__).with_name("known_suppliers.yaml")


class KnownSuppliers:
    """A set of organization keys; `in` takes a key or a name."""

    def __init__(self, names: Iterable[str] = ()):
        self.names: dict[str, str] = {}
        for name in names:
            key = normalize_org(str(name))
            if key:
                self.names.setdefault(key, str(name))

    @classmethod
    def load(cls, path: Path | None = None) -> "KnownSuppliers":
        path = Path(path) if path else BUNDLED_SUPPLIERS
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"known suppliers list not found: {path}") from None
        if isinstance(data, dict):
            data = data.get("suppliers", [])
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a list of names or a mapping with 'suppliers: [...]'")
        return cls(str(x["name"]) if isinstance(x, dict) else str(x) for x in data)

    def __contains__(self, name_or_key: str) -> bool:
        return name_or_key in self.names or normalize_org(name_or_key) in self.names

    def __len__(self) -> int:
        return len(self.names)
