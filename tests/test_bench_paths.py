"""Benchmarks and scripts run from any checkout: the shared benchmark data is found through
`bench/shared_data.py` (`$DUALSCOUT_SHARED`, else `../shared` beside the checkout), never at a path of the machine
they were written on."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_bench_or_script_names_a_machine_path():
    for path in sorted([*ROOT.glob("bench/*.py"), *ROOT.glob("scripts/*.py")]):
        found = re.findall(r"/work/\w+", path.read_text(encoding="utf-8"))
        assert not found, f"{path.name} names {found[0]}: use bench.shared_data"


def test_missing_shared_data_is_one_clean_line(tmp_path):
    env = {"DUALSCOUT_SHARED": str(tmp_path / "nowhere"), "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, str(ROOT / "bench/eval_stages.py")], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "nowhere/data/sbir-bench does not exist" in result.stderr and "DUALSCOUT_SHARED" in result.stderr


def test_the_docs_cite_no_machine_path_and_only_scripts_that_exist():
    """A reader repeats a measurement with the commands the docs give: a benchmark or script they cite is in the
    checkout, and no command names a folder or a helper of the machine it was run on (docs/scale.md had cited
    /work/tmp/prio.sh, /work/tmp/scale7 and two scripts under /work/tmp/search8)."""
    docs = [ROOT / "README.md", *sorted(ROOT.glob("docs/*.md")), *sorted(ROOT.glob("*/README.md"))]
    for path in docs:
        text = path.read_text(encoding="utf-8")
        machine = re.findall(r"/work/[\w./-]+", text)
        assert not machine, f"{path.relative_to(ROOT)} names {machine[0]}: say how to reproduce it from the repo"
        for cited in sorted(set(re.findall(r"\b(?:bench|scripts)/[\w-]+\.(?:py|sh)\b", text))):
            assert (ROOT / cited).exists(), f"{path.relative_to(ROOT)} cites {cited}, which is not in the repository"
