"""Build the demo bundle in scout/demo/data/ from the public records in ../shared/data.

Run once by maintainers (`python scripts/build_demo_data.py`); the output is committed so that `make demo`
needs nothing outside the repository. Sources:
- arXiv abstracts: shared/data/samples/arxiv_ml_cv_abstracts_1k.csv (arXiv metadata, CC0).
- Small-business technology announcements and DoD SBIR topics: shared/data/sbir-bench (SBIR.gov award and
  topic records, US government works, public domain).
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "scout" / "demo" / "data"

NEED_TOPICS = [
    "dod-topic:AF162D001",  # Mitigation of small UAS threats
    "dod-topic:SB171013",  # Load bearing thermal protection for hypersonic flight
    "dod-topic:N181029",  # Maritime ATR from ISAR imagery
    "dod-topic:N162115",  # Advanced persistent cyber threat anomaly detection
    "dod-topic:N152093",  # High-energy light-weight battery storage (Li-air ...)
    "dod-topic:A16095",  # Quantum optical switch, 1550 nm
    "dod-topic:N181018",  # AI/ML techniques
    "dod-topic:A18095",  # Real-time automated multi-sensor target classification
]
EXTRA_KEYWORDS = ["metamaterial", "radar absorb", "quantum sens", "magnetometer", "counter-uas", "counter uas",
                  "satellite imag", "hypersonic", "lithium", "swarm"]
FIRM = re.compile(r"company (.+)$")


def main() -> None:
    rng = random.Random(20261122)
    OUT.mkdir(parents=True, exist_ok=True)
    needs = {n["id"]: n for n in map(json.loads, (SHARED / "sbir-bench/needs.jsonl").open())}
    docs = {d["id"]: d for d in map(json.loads, (SHARED / "sbir-bench/docs.jsonl").open())}
    qrels: dict[str, list[str]] = defaultdict(list)
    for line in (SHARED / "sbir-bench/qrels.tsv").open():
        need_id, doc_id, _ = line.rstrip("\n").split("\t")
        qrels[need_id].append(doc_id)

    # Needs, in the SBIR.gov solicitations API shape: one solicitation per DoD component.
    by_branch: dict[str, list[dict]] = defaultdict(list)
    for nid in NEED_TOPICS:
        need = needs[nid]
        code = nid.split(":", 1)[1]
        branch = {"A": "Army", "AF": "Air Force", "N": "Navy", "SB": "DoD"}[re.match(r"[A-Z]+?(?=\d|D)", code).group(0)
                                                                          if not code.startswith("AF") else "AF"]
        by_branch[branch].append({
            "topic_title": need["title"],
            "branch": branch,
            "topic_number": code,
            "topic_description": need["text"],
            "sbir_topic_link": f"/topics/{code}",
            "subtopics": [],
        })
    solicitations = [{
        "solicitation_title": f"DoD SBIR {branch} topics (demo bundle)",
        "solicitation_number": f"DEMO-{i + 1}",
        "program": "SBIR",
        "phase": "Phase I",
        "agency": "Department of Defense",
        "branch": branch,
        "solicitation_year": 2018,
        "release_date": "2018-01-08",
        "open_date": "2018-02-08",
        "close_date": "2018-03-08",
        "solicitation_topics": topics,
    } for i, (branch, topics) in enumerate(sorted(by_branch.items()))]
    (OUT / "sbir_topics.json").write_text(json.dumps(solicitations, indent=1, ensure_ascii=False))

    # Small-business technology announcements: the awards made under the demo topics, awards on a few
    # themes analysts ask about, and civilian (DOE/NSF/...) awards: firms outside the defense base.
    chosen: list[str] = [d for nid in NEED_TOPICS for d in qrels[nid]]
    themed = [d["id"] for d in docs.values()
              if any(k in (d["title"] + " " + d["text"]).lower() for k in EXTRA_KEYWORDS)]
    civilian = [d["id"] for d in docs.values() if not d["id"].startswith("sbir-dod:")]
    defense = [d["id"] for d in docs.values() if d["id"].startswith("sbir-dod:")]
    chosen += rng.sample(themed, min(70, len(themed)))
    chosen += rng.sample(civilian, 60) + rng.sample(defense, 50)
    seen: set[str] = set()
    with (OUT / "announcements.jsonl").open("w") as out:
        for doc_id in chosen:
            if doc_id in seen:
                continue
            seen.add(doc_id)
            d = docs[doc_id]
            firm = FIRM.search(d["source"])
            out.write(json.dumps({
                "id": doc_id.replace(":", "-"),
                "title": d["title"],
                "text": d["text"],
                "company": firm.group(1).strip() if firm else "",
                "year": d.get("award_year"),
                "agency": d.get("branch") or "",
                "phase": d.get("phase") or "",
            }, ensure_ascii=False) + "\n")

    # Past DoD awardees: the known defense suppliers of the demo.
    suppliers = sorted({m.group(1).strip() for d in docs.values() if d["id"].startswith("sbir-dod:")
                        for m in [FIRM.search(d["source"])] if m})
    lines = ["# Firms with DoD SBIR awards in 2017-2019 (SBIR.gov award records, public domain): the demo's",
             "# known defense suppliers. Firms outside this list are flagged as potential new entrants.",
             "suppliers:"] + [f"  - {json.dumps(name, ensure_ascii=False)}" for name in suppliers]
    (OUT / "known_suppliers.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")

    # arXiv abstracts (no arXiv ids in the sample: the demo site numbers them).
    rows = list(csv.DictReader((SHARED / "samples/arxiv_ml_cv_abstracts_1k.csv").open()))
    picked = rng.sample(rows, 240)
    with (OUT / "arxiv.jsonl").open("w") as out:
        for i, row in enumerate(picked):
            out.write(json.dumps({
                "id": f"demo.{i:05d}",
                "title": " ".join(row["titles"].split()),
                "summary": " ".join(row["summaries"].split()),
                "categories": [c.strip(" '[]\"") for c in row["terms"].split(",") if c.strip(" '[]\"")],
            }, ensure_ascii=False) + "\n")
    print(f"needs {len(NEED_TOPICS)}, announcements {len(seen)}, arxiv {len(picked)}, suppliers {len(suppliers)}")


if __name__ == "__main__":
    main()
