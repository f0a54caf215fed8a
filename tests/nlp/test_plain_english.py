"""`nlp.plain_english`: plain English analysed without spaCy must give what spaCy gives, or decline.

Compared on real text (the demo bundle's arXiv titles and sentences, SBIR topic titles and announcements) and on
made-up strings built to hit spaCy's special cases, hyphens, closing marks, abbreviations and units.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nlp.components import get_pipeline
from nlp.plain_english import PlainEnglish, tables_path
from nlp.taxonomy import BUNDLED_TAXONOMY

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "scout" / "demo" / "data"
AWKWARD = ["radar", "Radar", "counter-drone", "x-ray", "F35", "F-35", "3D", "5G", "10km", "cannot", "dont", "Dont",
           "U.S.", "e.g.", "a.", "A.", "E.", "i", "I", "its", "whats", "AI", "SAR", "UAV", "uav", "GPS", "1990",
           "1990.", "radar,", "sonar.", "what?", "state-of-the-art", "Dec.", "St.", "co.", "Ill-co.", "-", "--",
           "synthetic", "aperture", "quantum", "sensing", "machine", "learning", "metamaterial", "metamaterials",
           "gonna", "e-mail", "hypersonic", "graph", "neural", "networks", "batteries", "WebCariA.", "ok:", "no;"]


def real_texts() -> list[str]:
    texts: list[str] = []
    for line in (DATA / "arxiv.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        texts.append(" ".join(row["title"].split()))
        texts += [s for s in re.split(r"(?<=[.!?])\s+", " ".join(row["summary"].split()))][:4]
    for line in (DATA / "announcements.jsonl").read_text(encoding="utf-8").splitlines():
        texts.append(" ".join(str(json.loads(line).get("title", "")).split()))
    return [t for t in texts if t]


def made_up_texts(n: int = 6000) -> list[str]:
    rng = random.Random(7)
    pieces = ["a", "A", "Bc", "x", "1", "22", "-", ".", ",", "?", " ", "s", "nt", "ll", "don", "t", "I", "km", "D",
              "co", "St", "Mr"]
    out = [" ".join(rng.choice(AWKWARD) for _ in range(rng.randint(1, 6))) for _ in range(n)]
    out += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 8))) for _ in range(n)]
    return out


@pytest.fixture(scope="module")
def english():
    nlp = get_pipeline("en", "")
    return nlp, PlainEnglish.from_pipeline(nlp)


def test_tokens_are_spacys_or_declined(english):
    nlp, plain = english
    texts = real_texts() + made_up_texts()
    accepted = 0
    for text in texts:
        tokens = plain.tokens(text)
        if tokens is not None:
            accepted += 1
            assert tokens == [t.text for t in nlp.make_doc(text)], text
    assert accepted > len(texts) // 3  # most typed queries are plain; declining everything would pass the above


def test_concepts_are_the_taxonomy_matchers(english):
    nlp, plain = english
    compared = found = 0
    for text in real_texts() + made_up_texts(1500):
        tokens = plain.tokens(text)
        if tokens is None:
            continue
        doc = nlp(text)
        expected = [span.kb_id_ for span in doc.spans["tech"]]
        assert plain.concept_ids(tokens) == expected, text
        compared += 1
        found += bool(expected)
    assert compared > 500 and found > 100


def test_bm25_terms_are_the_same(english):
    from nlp.lexical import LexicalEncoder

    _, plain = english
    texts = [t for t in real_texts()[:600] + ["Counter-drone radar, F35 and 1990 batteries?"] if plain.tokens(t)]
    with_spacy, without = LexicalEncoder(), LexicalEncoder(plain=plain)
    assert len(texts) > 100
    for text in texts:
        assert without.tokens(text, "en") == with_spacy.tokens(text, "en"), text
    assert without._en is None  # spaCy was never loaded for them
    assert LexicalEncoder(plain=plain).tokens("U.S. radar", "en") == with_spacy.tokens("U.S. radar", "en")


def test_tables_round_trip_and_are_keyed_by_taxonomy(english, tmp_path):
    _, plain = english
    path = tables_path(tmp_path, BUNDLED_TAXONOMY)
    plain.save(path)
    assert PlainEnglish.load(path) == plain
    other = tmp_path / "taxonomy.yaml"
    other.write_text(BUNDLED_TAXONOMY.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert tables_path(tmp_path, other) != path
    path.write_text("{not json", encoding="utf-8")
    assert PlainEnglish.load(path) is None  # a damaged file means: take the spaCy path (and save it anew)


QUERY = """
import json, sys
from nlp.pipeline import Enricher
q = Enricher().query(sys.argv[1])
print(json.dumps({"concepts": q.concepts, "sparse": [q.sparse.indices, q.sparse.values],
                  "spacy": "spacy" in sys.modules}))
"""


def test_a_plain_query_needs_no_spacy_once_the_tables_exist(scout_home):
    """The first English pipeline saves the tables; a later process answers a plain query without spaCy and
    with the same concepts and BM25 vector as the spaCy path."""
    env = {**os.environ, "SCOUT_NLP_MODEL": "hashing", "PYTHONPATH": str(ROOT),
           "SCOUT_NLP_ONNX_DIR": str(scout_home / "models")}  # not the suite's shared folder: no tables yet

    def query(text: str) -> dict:
        done = subprocess.run([sys.executable, "-c", QUERY, text], cwd=ROOT, env=env, capture_output=True,
                              text=True, check=True)
        return json.loads(done.stdout)

    text = "synthetic aperture radar for small satellites"
    first = query(text)  # no tables yet: spaCy, which saves them
    assert first["spacy"] and first["concepts"]
    assert list((scout_home / "models").glob("plain-english-*.json"))
    second = query(text)
    assert not second["spacy"]
    assert second["concepts"] == first["concepts"] and second["sparse"] == first["sparse"]
    assert query("U.S. radar")["spacy"]  # not plain: spaCy as before
