"""The stage bars `scout run` and `scout demo` show: what is left on screen when the run is over."""

from __future__ import annotations

from rich.console import Console

from scout.commands._runs import stage_progress
from service.operations import report_progress


def _finished_screen(reports) -> str:
    console = Console(record=True, width=100, force_terminal=False)
    with stage_progress(console):
        for stage, done, total in reports:
            report_progress(stage, done, total)
    return console.export_text()


def test_a_counter_shows_its_count_as_done_once_a_later_stage_starts():
    screen = _finished_screen([("documents", 1, 2), ("passages", 3, 0), ("documents", 2, 2), ("passages", 5, 0),
                               ("needs", 1, 1)])
    passages = next(line for line in screen.splitlines() if "passages embedded" in line)
    assert "5/5" in passages and "?" not in passages, screen


def test_a_counter_still_running_when_the_run_ends_shows_its_count_as_done():
    screen = _finished_screen([("passages", 7, 0)])
    assert "7/7" in screen and "?" not in screen, screen
