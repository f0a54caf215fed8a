"""Build nlp/en_sense_freq.txt: how technical English says things, for choosing a Japanese word's English gloss
(nlp.translate: 負傷者 is "casualty" in a defense text, not "injured person"). Word counts and adjacent-word
(bigram) counts of a broader technical English corpus than nlp/en_term_freq.txt (which the entity tagger and
the katakana reader keep using as it is).

Sources, all free to redistribute, none of them a document any benchmark ranks in its own rendering:
- the 1,000 arXiv abstracts in ../shared/data/samples (arXiv metadata, CC0);
- the demo bundle's SBIR.gov award abstracts (US government works, public domain);
- the DoD SBIR topics' text of ../shared/data/sbir-bench/needs.jsonl (US government works, public domain): the
  needs are queries, not the documents ranked; the needs of the cross-lingual checks (the 30 of
  ../shared/data/sbir-bench-ja/selection.json and those of bench/data/needs_ja_titles.jsonl) are left out, so no
  checked need's own words choose the renderings it is checked on.
The award abstracts of ../shared/data/sbir-bench/docs.jsonl are never read: the Japanese renderings checked in
bench/crosslingual_ranking.py are of those documents. Run by maintainers; the output is committed.

    python scripts/build_sense_freq.py [--shared DIR]   (DIR: the shared folder, default ../shared)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NEEDS = "data/sbir-bench/needs.jsonl"
CHECKED = ("data/sbir-bench-ja/selection.json",)
OUT = ROOT / "nlp" / "en_sense_freq.txt"
WORD = re.compile(r"[a-z]+")
MIN_BIGRAM = 2  # a pair seen once says little and would double the file


def checked_needs(shared: Path) -> set[str]:
    out = set(json.loads((shared / CHECKED[0]).read_text(encoding="utf-8"))["needs"])
    with (ROOT / "bench" / "data" / "needs_ja_titles.jsonl").open(encoding="utf-8") as fh:
        out |= {json.loads(line)["id"] for line in fh if line.strip()}
    return out


def texts(shared: Path):
    """en_term_freq.txt's texts (a title ends its clause: no pair spans it), then the SBIR topics' but the checked
    needs'."""
    from scripts.build_term_freq import texts as term_texts

    yield from term_texts(shared, sep=". ")
    left_out = checked_needs(shared)
    with (shared / NEEDS).open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["id"] not in left_out:
                yield f"{row['title']}. {row['text']}"


def count(shared: Path) -> tuple[Counter, Counter]:
    """Words, and pairs of content words next to each other but for function words between them ("drop in
    quality" counts as "drop quality"), as nlp.translate reads a gloss; a pair never spans a clause break."""
    from nlp.translate import _FUNCTION_WORDS

    words: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for text in texts(shared):
        for clause in re.split(r"[.,;:()\[\]!?\n]+", text.lower()):
            tokens = WORD.findall(clause)
            words.update(t for t in tokens if len(t) > 1)
            content = [t for t in tokens if t not in _FUNCTION_WORDS]
            pairs.update(f"{a} {b}" for a, b in zip(content, content[1:]))
    return words, pairs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = ap.parse_args()
    words, pairs = count(args.shared)
    kept_pairs = [(p, c) for p, c in pairs.most_common() if c >= MIN_BIGRAM]
    with OUT.open("w", encoding="utf-8") as fh:
        fh.write("# English word and word-pair counts of technical text for choosing a gloss (scripts/build_sense_freq.py;"
                 " arXiv CC0, SBIR.gov awards and DoD SBIR topics public domain)\n")
        fh.writelines(f"{w}\t{c}\n" for w, c in words.most_common())
        fh.writelines(f"{p}\t{c}\n" for p, c in kept_pairs)
    print(f"{OUT}: {len(words)} words, {len(kept_pairs)} pairs, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
