"""`scout crawl` records its figures in the ledger, so the weekly report's overview counts every crawl."""

from __future__ import annotations

from datetime import timedelta

from domain.models import utcnow
from service.operations import open_ledger

NEEDS = """needs:
  - id: n1
    title: Quantum magnetometer for navigation
    text: A rugged quantum magnetometer for navigation without GPS.
  - id: n2
    title: 電波吸収材
    text: 広帯域の電波吸収材を開発する。
"""


def test_each_crawl_is_recorded_and_the_figures_add_up(cli, tmp_path):
    path = tmp_path / "needs.yaml"
    path.write_text(NEEDS, encoding="utf-8")
    first = cli("crawl", "needs_file", "-a", f"path={path}")
    assert first.exit_code == 0, first.output
    second = cli("crawl", "needs_file", "-a", f"path={path}")  # nothing changed: fetched again, not new
    assert second.exit_code == 0, second.output

    summary = open_ledger().crawl_summary(utcnow() - timedelta(hours=1), utcnow() + timedelta(minutes=1))
    assert len(summary) == 1
    row = summary[0]
    assert row.runs == 2  # two crawls, two runs: the second did not overwrite the first
    assert (row.fetched, row.new, row.unchanged) == (2, 2, 2)  # fetched counts pages: one file per crawl
