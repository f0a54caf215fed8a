"""Where dualscout keeps its state. Standard library only: the CLI's relay (`scout.relay`) finds a running
`scout serve` through it before importing anything heavier."""

from __future__ import annotations

import os
from pathlib import Path


def scout_home() -> Path:
    """Where dualscout keeps its state: `$SCOUT_HOME`, else `./var`."""
    return Path(os.environ.get("SCOUT_HOME") or "var").resolve()
