"""Public span-annotated gold standards for technology entities (issue 26), read from a local copy.

None of the three sets is stored in this repository (see the README's data section for why): fetch each public
repository once and point `--gold` (or SCOUT_ENTITY_GOLD) at a folder laid out so:

    scierc/{train,dev,test}.json        SciERC (Luan et al. 2018) in the DyGIE json format: one document a line
                                         with "sentences" (tokens) and "ner" ([start, end, label], inclusive,
                                         document token offsets). Copied from JerryHao2001/thesis-tanl
                                         data/scierc at 79612fe4 (the AllenAI/UW release; no licence given).
    scienceie/{train,dev,test}/*.txt|.ann  SemEval-2017 Task 10 (brat standoff; Process, Task, Material).
                                         From OC-ScienceIE/scienceie17 data/ at 49c5cc26 (task organisers'
                                         release of ScienceDirect open-access paragraphs; no licence file).
    ranis/data/goldstandard-v2/{dev,test}, ranis/data/dev2   RANIS Japanese (IPSJ abstracts; TERM, OBJECT,
                                         MEASURE), from mynlp/ranis JA/ at 5705d445: annotations CC BY-SA 4.0,
                                         texts (C) IPSJ. Splits here: train = goldstandard-v2/dev (100),
                                         dev = dev2 (100), test = goldstandard-v2/test (30).

Every set yields `GoldDoc`s: the text and its gold spans as (start, end, label) character offsets.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_GOLD = Path(__file__).resolve().parent / "data" / "entities"
HOW_TO_FETCH = (
    "gold data not found in {path}: copy SciERC json (e.g. JerryHao2001/thesis-tanl data/scierc), "
    "ScienceIE brat files (OC-ScienceIE/scienceie17 data/{{train,dev,test}}) and RANIS (mynlp/ranis JA/) "
    "there, as bench/entity_gold.py describes, or pass --gold DIR"
)

# SciERC's PTB escapes, back to the characters a reader sees.
_PTB = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}", "``": '"', "''": '"'}
# RANIS MEASURE marks predicates (できる, 可能, 高い): not terms. The issue scores TERM and OBJECT.
RANIS_LABELS = ("TERM", "OBJECT")


@dataclass
class GoldDoc:
    id: str
    language: str
    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)


def gold_dir(path: str | Path | None = None) -> Path:
    return Path(path or os.environ.get("SCOUT_ENTITY_GOLD") or DEFAULT_GOLD)


def load_scierc(root: Path, split: str) -> list[GoldDoc]:
    docs = []
    for n, line in enumerate((root / "scierc" / f"{split}.json").read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        row = json.loads(line)
        starts, ends, pieces, pos = [], [], [], 0
        for sentence in row["sentences"]:
            for token in sentence:
                token = _PTB.get(token, token)
                starts.append(pos)
                pieces.append(token)
                pos += len(token)
                ends.append(pos)
                pieces.append(" ")
                pos += 1
        text = "".join(pieces).rstrip()
        spans = []
        for sentence_ner in row.get("ner", []):
            for a, b, label in sentence_ner:
                if label == "Generic":  # "this approach", "it": references, not terms (the 5 types)
                    continue
                spans.append((starts[a], ends[b], label))
        docs.append(GoldDoc(id=row.get("doc_key", f"{split}-{n}"), language="en", text=text, spans=sorted(spans)))
    return docs


def _brat(folder: Path, language: str, labels: tuple[str, ...] | None) -> list[GoldDoc]:
    docs = []
    for txt in sorted(folder.glob("*.txt")):
        ann = txt.with_suffix(".ann")
        text = txt.read_text(encoding="utf-8")
        spans = set()
        for line in ann.read_text(encoding="utf-8").splitlines() if ann.exists() else []:
            if not line.startswith("T"):
                continue
            _, info, *_ = line.split("\t")
            label, _, offsets = info.partition(" ")
            if ";" in offsets or (labels and label not in labels):
                continue  # a discontinuous span: no extractor here produces one
            a, b = (int(x) for x in offsets.split())
            spans.add((a, b, label))
        docs.append(GoldDoc(id=txt.stem, language=language, text=text, spans=sorted(spans)))
    return docs


def load_scienceie(root: Path, split: str) -> list[GoldDoc]:
    return _brat(root / "scienceie" / split, "en", None)


def load_ranis(root: Path, split: str) -> list[GoldDoc]:
    folder = {"train": "goldstandard-v2/dev", "dev": "dev2", "test": "goldstandard-v2/test"}[split]
    return _brat(root / "ranis" / "data" / folder, "ja", RANIS_LABELS)


LOADERS = {"SciERC": load_scierc, "ScienceIE": load_scienceie, "RANIS": load_ranis}


def load(name: str, split: str, root: Path | None = None) -> list[GoldDoc]:
    root = gold_dir(root)
    try:
        return LOADERS[name](root, split)
    except FileNotFoundError as exc:
        raise FileNotFoundError(HOW_TO_FETCH.format(path=root)) from exc
