from __future__ import annotations

import pytest
from typer.testing import CliRunner

from scout.commands._library import use_library
from tests.web.fakes import MemoryLibrary


@pytest.fixture(scope="session")
def library() -> MemoryLibrary:
    return MemoryLibrary()


@pytest.fixture
def cli(library):
    """Run `scout ...` against the in-memory library; returns the click Result."""
    from scout.cli import app

    runner = CliRunner()

    def run(*args: str, lib=None):
        with use_library(lib or library):
            return runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})

    return run
