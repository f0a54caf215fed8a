"""Import this before spaCy: spaCy's thinc imports torch (seconds of CPU) when it is installed, only to
offer PyTorch-backed layers that dualscout's rule pipelines never use. Hiding torch while thinc probes for it
keeps a cold `scout search` from paying for it; torch stays importable afterwards for the embedding model.
In a process that already imported torch or thinc this does nothing."""

from __future__ import annotations

import sys

if "thinc.compat" not in sys.modules and "torch" not in sys.modules:
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` raises ImportError meanwhile
    try:
        import thinc.compat  # noqa: F401
    finally:
        del sys.modules["torch"]
