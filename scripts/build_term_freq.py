"""Build nlp/en_term_freq.txt: English word frequencies of technical abstracts, for the Japanese ->
English term translation (nlp.translate): choosing among a dictionary's senses by which one technical English
uses ("設計" -> design, not plan), and the English words katakana loanwords are matched back to.

Sources, both free to redistribute: the 1,000 arXiv abstracts in ../shared/data/samples (arXiv metadata, CC0)
and the demo bundle's SBIR.gov award abstracts (US government works, public domain). Run by maintainers;
the output is committed.

    python scripts/build_term_freq.py [--shared DIR]   (DIR: the shared folder, default ../shared)
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = "data/samples/arxiv_ml_cv_abstracts_1k.csv"
OUT = ROOT / "nlp" / "en_term_freq.txt"
WORD = re.compile(r"[a-z][a-z-]*[a-z]")


def texts(shared: Path, sep: str = " "):
    """Each arXiv sample's and demo award's title and text, joined by `sep`."""
    with (shared / SAMPLES).open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            yield f"{row['titles']}{sep}{row['summaries']}"
    with (ROOT / "scout" / "demo" / "data" / "announcements.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            yield f"{row['title']}{sep}{row['text']}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = ap.parse_args()
    counts: Counter[str] = Counter()
    for text in texts(args.shared):
        for word in WORD.findall(text.lower()):
            for part in word.split("-"):
                if len(part) > 1:
                    counts[part] += 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    kept = [(w, c) for w, c in counts.most_common() if c >= 1]
    with OUT.open("w", encoding="utf-8") as fh:
        fh.write("# English word frequencies of technical abstracts (scripts/build_term_freq.py; arXiv CC0, SBIR.gov public domain)\n")
        fh.writelines(f"{w}\t{c}\n" for w, c in kept)
    print(f"{OUT}: {len(kept)} words")


if __name__ == "__main__":
    main()
