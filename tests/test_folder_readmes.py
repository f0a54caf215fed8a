"""Folder READMEs stay true: every spider, every nlp file and every saved spider response is described where a
newcomer looks for it, and nothing described is gone (issue 23: spiders/README.md listed 4 of 10 spiders,
nlp/README.md 8 of 17 files)."""

from __future__ import annotations

import ast
import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _ticked(text: str) -> set[str]:
    return set(re.findall(r"`([^`\s]+)`", text))


def _rows(readme: Path) -> dict[str, str]:
    """First-column name of each table row -> the whole row."""
    rows = {}
    for line in readme.read_text(encoding="utf-8").splitlines():
        found = re.match(r"\|\s*`([^`]+)`\s*\|", line)
        if found:
            rows[found.group(1)] = line
    return rows


def _spiders() -> dict[str, list[str]]:
    """Spider name -> its spider arguments (the __init__ parameters), read from spiders/sources/*.py."""
    out = {}
    for path in sorted((ROOT / "spiders" / "sources").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.ClassDef):
                continue
            names = [s.value.value for s in node.body if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant)
                     and any(isinstance(t, ast.Name) and t.id == "name" for t in s.targets)]
            init = next((s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
            args = [a.arg for a in (init.args.args + init.args.kwonlyargs)[1:]] if init else []
            for name in names:
                out[name] = args
    return out


def test_spiders_readme_lists_every_spider_and_its_arguments():
    spiders = _spiders()
    assert len(spiders) >= 10
    rows = _rows(ROOT / "spiders" / "README.md")
    assert set(spiders) - set(rows) == set(), "spiders/README.md misses a spider"
    assert {n for n in rows if n.isidentifier()} - set(spiders) == set(), "spiders/README.md lists a spider that is gone"
    for name, args in spiders.items():
        missing = [a for a in args if f"`{a}`" not in rows[name]]
        assert not missing, f"spiders/README.md: {name}'s row does not name its arguments {missing}"


def test_nlp_readme_describes_every_file():
    folder = ROOT / "nlp"
    present = {p.name for p in folder.iterdir() if not p.name.startswith((".", "__")) and p.name != "README.md"}
    text = (folder / "README.md").read_text(encoding="utf-8")
    described = {p.rstrip("/") for p in _ticked(text)} | {p.split("/")[1] for p in _ticked(text) if p.startswith("nlp/")}
    assert present - described == set(), "nlp/README.md does not describe these files"
    listed = set(_rows(folder / "README.md"))
    assert {n for n in listed if "." in n} - present == set(), "nlp/README.md's table lists files that are gone"


def test_spider_fixtures_readme_covers_every_saved_response():
    folder = ROOT / "tests" / "fixtures" / "spiders"
    patterns = [p.rstrip("/").split("/")[0] for p in _ticked((folder / "README.md").read_text(encoding="utf-8"))]
    uncovered = [p.name for p in folder.iterdir() if p.name != "README.md"
                 and not any(fnmatch.fnmatch(p.name, pattern) for pattern in patterns)]
    assert uncovered == [], "tests/fixtures/spiders/README.md does not say where these come from"
