"""GiNZA's tokenizer built alone (`nlp.components.japanese_tokenizer_only`) must tokenize as the whole loaded
pipeline does: only the tokenizer is used, and loading the pipeline reads its 46 MB of vectors first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def japanese_texts() -> list[str]:
    data = json.loads((ROOT / "scout/demo/data/japanese.json").read_text(encoding="utf-8"))
    texts = [r["title_ja"] for r in data["jstage"] + data["kaken"]]
    texts += [r["abstract"] for r in data["jstage"]] + [r["outline_ja"] for r in data["kaken"]]
    texts += [r["title"] + "\n" + "\n".join(r["paragraphs"]) for r in data["prtimes"]]
    texts += [json.loads(line)["title_ja"]
              for line in (ROOT / "bench/data/needs_ja_titles.jsonl").read_text(encoding="utf-8").splitlines()]
    return [t for t in texts if t]


def test_the_tokenizer_alone_tokenizes_as_the_whole_pipeline():
    import spacy

    from nlp.components import JA_EXCLUDE, japanese_tokenizer_only

    light = japanese_tokenizer_only("ja_ginza")
    assert light is not None
    full = spacy.load("ja_ginza", exclude=JA_EXCLUDE)
    texts = japanese_texts()
    assert len(texts) > 40
    for text in texts:
        seen = [(t.text, t.norm_, t.lemma_, t.pos_, t.tag_, t.idx, t.whitespace_, t.is_punct, t.is_stop)
                for t in light.make_doc(text)]
        assert seen == [(t.text, t.norm_, t.lemma_, t.pos_, t.tag_, t.idx, t.whitespace_, t.is_punct, t.is_stop)
                        for t in full.make_doc(text)], text[:40]


@pytest.mark.parametrize("name", ["no_such_pipeline_installed", "en_core_web_sm"])
def test_a_pipeline_that_is_not_installed_is_left_to_spacy(name):
    from nlp.components import japanese_tokenizer_only

    assert japanese_tokenizer_only(name) is None  # spacy.load then says what is missing


def test_a_folder_with_another_tokenizer_is_loaded_whole(tmp_path):
    from nlp.components import japanese_tokenizer_only

    (tmp_path / "config.cfg").write_text('[nlp]\nlang = "en"\n\n[nlp.tokenizer]\n@tokenizers = "spacy.Tokenizer.v1"\n',
                                         encoding="utf-8")
    assert japanese_tokenizer_only(str(tmp_path)) is None
