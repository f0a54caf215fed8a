"""Where dualscout keeps its state. Standard library only: the CLI's relay (`scout.relay`) finds the process that
owns the index through it before importing anything heavier."""

from __future__ import annotations

import os
from pathlib import Path


def scout_home() -> Path:
    """Where dualscout keeps its state: `$SCOUT_HOME`, else `./var`."""
    return Path(os.environ.get("SCOUT_HOME") or "var").resolve()


def index_folder() -> Path:
    """The embedded index's folder: `$SCOUT_INDEX_PATH`, else `$SCOUT_HOME/index` (`IndexSettings.resolved_path`)."""
    path = os.environ.get("SCOUT_INDEX_PATH")
    return (Path(path) if path else scout_home() / "index").resolve()
