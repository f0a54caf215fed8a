"""Contextual features of the English entity tagger (feature set 4, issue 26): the encoder's last-layer token
states, from the same forward pass that embeds the passages, mapped to the tagger's words and clustered."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import spacy

from domain.settings import NlpSettings
from nlp.embedder import TokenStates
from nlp.entity_tagger import (ContextClusters, context_features, context_path, features, features_version_path,
                               model_path, word_states, write_features_version)

EN = spacy.blank("en")


def test_word_states_are_the_mean_of_each_words_pieces_across_overlapping_passages():
    doc = EN.make_doc("Graphene-oxide membranes filter water.")
    # tokens: Graphene 0-8, - 8-9, oxide 9-14, membranes 15-24, filter 25-31, water 32-37, . 37-38
    first = TokenStates(np.array([[0, 5], [5, 8], [8, 9], [9, 14]]), np.array([[1.0], [3.0], [5.0], [7.0]]))
    # a second passage starting at character 15 that overlaps nothing of the first, then one overlapping
    # "oxide" (starting at 9): its piece is averaged with the first passage's
    second = TokenStates(np.array([[0, 9], [10, 16]]), np.array([[10.0], [20.0]]))
    third = TokenStates(np.array([[0, 5]]), np.array([[9.0]]))
    states, ok = word_states(doc, [(0, first), (15, second), (9, third)], dim=1)
    assert [t.text for t in doc] == ["Graphene", "-", "oxide", "membranes", "filter", "water", "."]
    assert states[:, 0].tolist() == [2.0, 5.0, 8.0, 10.0, 20.0, 0.0, 0.0]
    assert ok.tolist() == [True, True, True, True, True, False, False]
    # a piece across two words counts for both; pieces outside the doc for none
    across = TokenStates(np.array([[-4, -1], [20, 27], [40, 45]]), np.array([[1.0], [4.0], [6.0]]))
    states, ok = word_states(doc, [(0, across)], dim=1)
    assert states[:, 0].tolist() == [0.0, 0.0, 0.0, 4.0, 4.0, 0.0, 0.0]


def test_word_states_match_a_piece_by_piece_reference_on_random_pieces():
    """The per-token sums (vectorised) are the mean of every piece that overlaps a token, as a plain loop gives."""
    text = "Graphene-oxide membranes (GO) filter sea water at 2.5 nm; ab initio DFT agrees, mostly."
    doc = EN.make_doc(text)
    rng = np.random.default_rng(3)
    pieces = []
    for base in (0, 17, 40):  # passages that overlap
        cuts = np.sort(rng.choice(np.arange(1, len(text) - base), size=12, replace=False))
        offsets = np.stack([np.r_[0, cuts[:-1]], cuts], axis=1)
        pieces.append((base, TokenStates(offsets, rng.normal(size=(len(offsets), 4)))))
    states, ok = word_states(doc, pieces, dim=4)
    total, count = np.zeros((len(doc), 4)), np.zeros(len(doc))
    for base, found in pieces:
        for (a, b), state in zip(found.offsets, found.states):
            for t in doc:
                if t.idx < base + b and base + a < t.idx + len(t):
                    total[t.i] += state
                    count[t.i] += 1
    assert ok.tolist() == (count > 0).tolist()
    np.testing.assert_allclose(states[ok], total[ok] / count[ok, None], rtol=1e-5, atol=1e-6)


def test_cluster_labels_are_the_nearest_centroids_and_survive_a_round_trip(tmp_path):
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(0)
    x = ContextClusters.unit(rng.normal(size=(300, 8)).astype(np.float32))
    fitted = {k: KMeans(n_clusters=k, random_state=0, n_init=2).fit(x) for k in (4, 16)}
    clusters = ContextClusters({k: m.cluster_centers_.astype(np.float32) for k, m in fitted.items()})
    path = tmp_path / "en.context.npz"
    clusters.save(path)
    loaded = ContextClusters.load(path)
    assert path.exists() and loaded.dim == 8
    raw = rng.normal(size=(50, 8)).astype(np.float32) * 3  # labels unit-normalize the states first
    for k, labels in loaded.labels(raw).items():
        assert labels.tolist() == fitted[k].predict(ContextClusters.unit(raw)).tolist()


def test_context_features_name_each_words_clusters_and_its_neighbours():
    labels = {64: np.array([1, 2, 3]), 256: np.array([10, 20, 30])}
    feats = context_features(labels, np.array([True, False, True]))
    assert feats[0] == ["k64=1", "k256=10"]  # its neighbour has no state
    assert feats[1] == []
    assert feats[2] == ["k64=3", "k256=30"]
    feats = context_features(labels, np.array([True, True, True]))
    assert feats[1] == ["k64=2", "k256=20", "-1k256=10", "1k256=30"]


def _real_pieces(embedder, text):
    vectors, states = embedder.encode_with_states([text])
    return vectors, [(0, states[0])]


def test_the_encoders_token_states_come_from_the_pass_that_embeds(real_embedder):
    """encode_with_states gives `encode`'s vectors and each text's word pieces, at their characters."""
    pytest.importorskip("onnxruntime")
    texts = ["Graphene oxide membranes filter seawater.", "radar", "Graphene oxide membranes filter seawater."]
    vectors, states = real_embedder.encode_with_states(texts)
    np.testing.assert_allclose(vectors, real_embedder.encode(texts), atol=1e-6)
    first = states[0]
    assert first.states.shape == (len(first.offsets), real_embedder.dim)
    pieces = [texts[0][a:b] for a, b in first.offsets]
    assert "".join(pieces) == texts[0].replace(" ", "")  # every character of the text, no [CLS] or [SEP]
    assert pieces[:2] == ["graph", "ene"] or pieces[0] == "Graphene" or "".join(pieces[:3]).startswith("Graph")
    np.testing.assert_array_equal(states[2].states, first.states)  # a repeated text: the same states
    # The states are the ones the vector pools: their mean, normalised, is close to the vector (the pooled mean
    # also counts [CLS] and [SEP], left out here).
    mean = first.states.mean(0)
    assert float(mean @ vectors[0] / np.linalg.norm(mean)) > 0.95


def test_features_with_the_same_states_are_the_same_and_differ_by_context(real_embedder, tmp_path):
    text = "Graphene oxide membranes filter water."
    doc = EN.make_doc(text)
    _, pieces = _real_pieces(real_embedder, text)
    states, ok = word_states(doc, pieces)
    assert ok.all()
    rng = np.random.default_rng(1)
    clusters = ContextClusters({4: ContextClusters.unit(rng.normal(size=(4, 384))).astype(np.float32),
                                256: ContextClusters.unit(rng.normal(size=(256, 384))).astype(np.float32)})
    once = features(doc, "en", clusters, pieces)
    again = features(EN.make_doc(text), "en", clusters, _real_pieces(real_embedder, text)[1])
    assert once == again
    assert all(any(f.startswith("k256=") for f in word) for word in once)
    # without pieces (an embedder that gives no states) the words carry no contextual feature
    bare = features(doc, "en", clusters, [])
    assert not any(f.startswith(("k4=", "k256=")) for word in bare for f in word)
    assert bare == features(doc, "en")
    # "filter" as a verb here and as a noun there: another state for the same word
    other = "A filter of graphene oxide."
    states2, _ = word_states(EN.make_doc(other), _real_pieces(real_embedder, other)[1])
    assert float((ContextClusters.unit(states[3:4]) @ ContextClusters.unit(states2[1:2]).T)[0, 0]) < 0.99


def _train_context_model(folder, embedder):
    """A tiny English model of feature set 4 (typed), with its clusters, as scripts/train_entities.py makes one."""
    import pycrfsuite

    sentences = [("We study graphene oxide membranes .", {2: "B-MATERIAL", 3: "I-MATERIAL", 4: "I-MATERIAL"}),
                 ("Graphene oxide membranes filter water .", {0: "B-MATERIAL", 1: "I-MATERIAL", 2: "I-MATERIAL"}),
                 ("We propose beam search decoding .", {2: "B-METHOD", 3: "I-METHOD", 4: "I-METHOD"}),
                 ("Beam search decoding is fast .", {0: "B-METHOD", 1: "I-METHOD", 2: "I-METHOD"})]
    rows, items = [], []
    for text, tags in sentences:
        doc = EN.make_doc(text)
        pieces = _real_pieces(embedder, text)[1]
        states, ok = word_states(doc, pieces)
        rows.append(ContextClusters.unit(states[ok]))
        items.append((doc, pieces, [tags.get(i, "O") for i in range(len(doc))]))
    from sklearn.cluster import KMeans

    x = np.concatenate(rows)
    clusters = ContextClusters({k: KMeans(n_clusters=k, random_state=0, n_init=2).fit(x).cluster_centers_
                                .astype(np.float32) for k in (4, 8)})
    trainer = pycrfsuite.Trainer(verbose=False)
    for doc, pieces, tags in items * 5:
        trainer.append(features(doc, "en", clusters, pieces), tags)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "en.crfsuite"
    trainer.train(str(path))
    write_features_version(path, "en", 4)
    clusters.save(context_path(path))
    return path


def _typed_terms_alone_and_at_ingest(enricher, embedder, url):
    """The MATERIAL and METHOD terms `analyse_text` finds alone, those `enrich` finds, and the enriched document;
    asserts that `enrich` made one encoder pass (the passages' embedding gave the states)."""
    from domain.models import Document

    def typed(entities):
        return {(e.start, e.end, e.text, str(e.label)) for e in entities if str(e.label) in ("MATERIAL", "METHOD")}

    calls = []
    encode = embedder.encode_with_states

    def counted(texts, wanted=None):
        calls.append(list(texts))
        return encode(texts, wanted)

    text = "Graphene oxide membranes and beam search decoding."
    alone = typed(enricher.analyse_text(text, "en").entities)
    assert (0, 24, "Graphene oxide membranes", "MATERIAL") in alone
    assert (29, 49, "beam search decoding", "METHOD") in alone
    embedder.encode_with_states = counted
    try:
        doc = Document.make(kind="research", source="test", url=url, title="", text=text, language="en")
        enriched, rejects = enricher.enrich([doc])
    finally:
        del embedder.encode_with_states
    assert not rejects and len(calls) == 1  # one pass: the passages' embedding gave the states
    return alone, typed(enriched[0].analysis.entities), enriched[0]


def test_ingest_tags_with_the_passage_passs_states_as_analyse_text_does_with_its_own(real_embedder, tmp_path):
    """`enrich` hands the tagger the token states of the pass that embeds the passages (no second pass);
    `analyse_text` alone makes its own: the same typed terms either way."""
    from nlp.pipeline import Enricher

    path = _train_context_model(tmp_path / "entities", real_embedder)
    assert model_path("en", tmp_path) == path
    enricher = Enricher(NlpSettings(cache=False, onnx_dir=tmp_path), embedder=real_embedder)
    alone, ingest, enriched = _typed_terms_alone_and_at_ingest(enricher, real_embedder, "test:ctx")
    assert ingest == alone
    assert {t["text"] for t in enriched.document.meta["terms"]} >= {"Graphene oxide membranes",
                                                                        "beam search decoding"}


def test_a_model_of_an_older_feature_set_or_without_its_clusters_is_passed_over(real_embedder, tmp_path, caplog):
    path = _train_context_model(tmp_path / "entities", real_embedder)
    assert model_path("en", tmp_path) == path
    context_path(path).unlink()  # the clusters are part of the model
    with caplog.at_level(logging.WARNING, logger="nlp.entity_tagger"):
        assert model_path("en", tmp_path) is None
    assert "retrain" in caplog.text
    _train_context_model(tmp_path / "entities", real_embedder)
    features_version_path(path).write_text("2\n", encoding="utf-8")  # trained before the parts of speech
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="nlp.entity_tagger"):
        assert model_path("en", tmp_path) is None
    assert "older feature set" in caplog.text


def test_a_model_of_feature_set_3_is_still_used_without_the_contextual_features(tmp_path):
    """Set 4 is set 3 plus the clusters: a set-3 model (trained before them) tags as it was trained, with no
    encoder pass for token states."""
    import pycrfsuite

    from nlp.entity_tagger import EntityTagger

    trainer = pycrfsuite.Trainer(verbose=False)
    for text, tags in [("We study graphene oxide membranes .", ["O", "O", "B-MATERIAL", "I-MATERIAL", "I-MATERIAL",
                                                                 "O"])] * 5:
        trainer.append(features(EN.make_doc(text), "en"), tags)
    (tmp_path / "entities").mkdir()
    path = tmp_path / "entities" / "en.crfsuite"
    trainer.train(str(path))
    features_version_path(path).write_text("3\n", encoding="utf-8")
    assert model_path("en", tmp_path) == path
    tagger = EntityTagger(path, "en")
    assert not tagger.needs_context
    assert tagger.spans(EN.make_doc("We study graphene oxide membranes .")) == [(2, 5, "MATERIAL")]


def test_the_cache_gives_token_states_for_passages_it_has_seen(real_embedder, tmp_path):
    from nlp.cache import CachedEmbedder, EmbeddingCache

    cached = CachedEmbedder(real_embedder, EmbeddingCache(tmp_path / "cache.sqlite"))
    texts = ["Graphene oxide membranes filter water.", "A title."]
    first_vectors, first = cached.encode_with_states(texts, [True, False])
    assert first[0] is not None and first[1] is None
    again_vectors, again = cached.encode_with_states(texts, [True, False])  # both hits now
    np.testing.assert_array_equal(first_vectors, again_vectors)
    assert again[0] is not None and again[1] is None
    np.testing.assert_allclose(again[0].states, first[0].states, atol=1e-5)


# -- feature set 5: a trained head on the word states ---------------------------------------------------------


def test_head_inputs_put_each_word_beside_its_neighbours_and_leave_words_without_a_state_empty():
    from nlp.entity_tagger import ContextHead

    states = np.array([[3.0, 4.0], [0.0, 2.0], [9.0, 9.0], [1.0, 0.0]], dtype=np.float32)
    ok = np.array([True, True, False, True])
    x = ContextHead.inputs(states, ok, window=1)
    assert x.shape == (4, 6)
    np.testing.assert_allclose(x[0], [0.6, 0.8, 0, 0, 0, 1])  # itself (unit length), no left, the next
    np.testing.assert_allclose(x[1], [0, 1, 0.6, 0.8, 0, 0])  # its right neighbour has no state
    np.testing.assert_allclose(x[2], [0, 0, 0, 1, 1, 0])  # no state of its own: its neighbours' only
    np.testing.assert_allclose(x[3], [1, 0, 0, 0, 0, 0])


def test_the_head_learns_tags_from_states_is_deterministic_and_survives_a_round_trip(tmp_path):
    from nlp.entity_tagger import HEAD_TAGS, ContextHead

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(len(HEAD_TAGS), 3 * 16)).astype(np.float32) * 2
    y = rng.integers(0, len(HEAD_TAGS), size=2000)
    x = centres[y] + rng.normal(size=(2000, 48)).astype(np.float32)
    head = ContextHead.fit(x[:1500], y[:1500], epochs=6, window=1)
    assert head.dim == 16 and head.weights.shape == (48, len(HEAD_TAGS))
    assert (head.predict(x[1500:]).argmax(1) == y[1500:]).mean() > 0.9  # held-out rows
    again = ContextHead.fit(x[:1500], y[:1500], epochs=6, window=1)
    np.testing.assert_array_equal(again.weights, head.weights)
    path = tmp_path / "en.head.npz"
    head.save(path)
    loaded = ContextHead.load(path)
    np.testing.assert_array_equal(loaded.predict(x[1500:]), head.predict(x[1500:]))
    assert loaded.window == head.window


def test_a_hidden_layer_learns_what_a_regression_cannot_stops_early_and_survives_a_round_trip(tmp_path):
    """The perceptron head: on tags set by the signs of two inputs together (no line separates them) it learns
    what the softmax regression cannot; early stopping keeps the epoch of the lowest held-out log-loss, the same
    data give the same weights, and save/load keep the hidden layer (a regression head loads as before)."""
    from nlp.entity_tagger import HEAD_TAGS, ContextHead

    rng = np.random.default_rng(1)
    x = rng.normal(size=(3000, 6)).astype(np.float32)  # window 0 would be dim 6; here window 1: dim 2
    y = np.where(x[:, 0] * x[:, 1] > 0, 0, 4)  # B where the two agree in sign, else O
    fit, held, test = slice(0, 2000), slice(2000, 2500), slice(2500, 3000)
    plain = ContextHead.fit(x[fit], y[fit], epochs=8, window=1, rate=1e-2, batch=32)
    deep = ContextHead.fit(x[fit], y[fit], epochs=8, window=1, hidden=32, rate=1e-2, batch=32,
                           valid=(x[held], y[held]))
    assert deep.hidden is not None and deep.hidden[0].shape == (6, 32) and deep.weights.shape == (32, len(HEAD_TAGS))
    assert deep.dim == 2 and plain.dim == 2
    assert (plain.predict(x[test]).argmax(1) == y[test]).mean() < 0.65  # a line cannot do it
    assert (deep.predict(x[test]).argmax(1) == y[test]).mean() > 0.9
    again = ContextHead.fit(x[fit], y[fit], epochs=8, window=1, hidden=32, rate=1e-2, batch=32,
                            valid=(x[held], y[held]))
    np.testing.assert_array_equal(again.hidden[0], deep.hidden[0])
    np.testing.assert_array_equal(again.weights, deep.weights)
    path = tmp_path / "en.head.npz"
    deep.save(path)
    loaded = ContextHead.load(path)
    assert loaded.hidden is not None
    np.testing.assert_array_equal(loaded.predict(x[test]), deep.predict(x[test]))
    plain.save(path)
    assert ContextHead.load(path).hidden is None


def test_early_stopping_keeps_the_epoch_with_the_lowest_held_out_loss():
    """Trained on noise (tags unrelated to the inputs), a wide hidden layer only learns the noise by heart: the
    held-out loss rises after the first epoch, and the head kept is the first epoch's, not the last's."""
    from nlp.entity_tagger import HEAD_TAGS, ContextHead

    rng = np.random.default_rng(4)
    x = rng.normal(size=(400, 30)).astype(np.float32)
    y = rng.integers(0, len(HEAD_TAGS), size=400)
    held = (x[300:], y[300:])

    def loss(head):
        p = head.predict(held[0])
        return -np.log(p[np.arange(len(held[1])), held[1]]).mean()

    early = ContextHead.fit(x[:300], y[:300], epochs=30, window=0, hidden=256, rate=1e-2, batch=32, valid=held)
    late = ContextHead.fit(x[:300], y[:300], epochs=30, window=0, hidden=256, rate=1e-2, batch=32)
    one = ContextHead.fit(x[:300], y[:300], epochs=1, window=0, hidden=256, rate=1e-2, batch=32)
    assert loss(early) < loss(late)
    np.testing.assert_array_equal(early.weights, one.weights)  # stopped after the first epoch, kept it


def test_head_features_are_real_valued_and_only_for_words_with_a_state(real_embedder):
    from nlp.entity_tagger import HEAD_TAGS, HEAD_WINDOW, ContextHead, english_features, with_head

    text = "Graphene oxide membranes filter water."
    doc = EN.make_doc(text)
    rng = np.random.default_rng(2)
    head = ContextHead(rng.normal(size=((2 * HEAD_WINDOW + 1) * 384, len(HEAD_TAGS))).astype(np.float32),
                       np.zeros(len(HEAD_TAGS), np.float32))
    assert head.dim == 384
    once = features(doc, "en", pieces=_real_pieces(real_embedder, text)[1], head=head)
    again = features(EN.make_doc(text), "en", pieces=_real_pieces(real_embedder, text)[1], head=head)
    assert once == again  # the same text, the same features (a fresh encoder pass)
    plain = english_features(doc)
    for item, words in zip(once, plain):
        assert {k for k, v in item.items() if v == 1.0} >= set(words)
        probs = [item[f"h{tag}"] for tag in HEAD_TAGS]
        assert abs(sum(probs) - 1) < 1e-5 and all(0 < p < 1 for p in probs)
    # without states (an embedder that gives none) the words keep their other features and no head's
    bare = features(doc, "en", pieces=[], head=head)
    assert bare == [dict.fromkeys(words, 1.0) for words in plain]
    ok = np.array([True, False, True, True, True, True, True])
    mixed = with_head(plain, np.full((7, 5), 0.2), ok)
    assert "hB" in mixed[0] and "hB" not in mixed[1]


def _gold_doc(i, text, spans):
    from bench.entity_gold import GoldDoc

    return GoldDoc(id=f"d{i}", language="en", text=text, spans=spans)


def test_the_crf_learns_from_out_of_fold_head_probabilities(real_embedder, monkeypatch):
    """Each training document's head probabilities come from a head fitted without it (its fold left out), so the
    CRF sees how the head does on unseen text; the head kept for tagging is fitted on all documents."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from scripts import train_entities as te

    texts = [("We study graphene oxide membranes .", [(9, 33, "Material")]),
             ("Beam search decoding is fast .", [(0, 20, "Method")]),
             ("Graphene oxide membranes filter water .", [(0, 24, "Material")]),
             ("We propose beam search decoding .", [(11, 31, "Method")]),
             ("Silicon carbide wafers are hard .", [(0, 22, "Material")]),
             ("We use gradient descent here .", [(7, 23, "Method")])]
    docs = [_gold_doc(i, t, s) for i, (t, s) in enumerate(texts)]
    pieces = [_real_pieces(real_embedder, d.text)[1] for d in docs]
    head, out = te.head_out_of_fold(docs, pieces, EN, folds=3)
    rows = te._head_rows(docs, pieces, EN)
    assert [r[1].tolist() for r in rows][0] == [4, 4, 0, 1, 2, 4]  # O O B I L O: the boundary tags
    for k in range(3):
        without = te._fit_head([r for i, r in enumerate(rows) if i % 3 != k])
        for i in range(k, len(docs), 3):
            np.testing.assert_allclose(out[i][0], without.predict(rows[i][0]), rtol=1e-6)
            # not the probabilities of a head that saw the document
            assert not np.allclose(out[i][0], head.predict(rows[i][0]))
    np.testing.assert_array_equal(head.weights, te._fit_head(rows).weights)


def _train_head_model(folder, embedder):
    """A tiny English model of feature set 5 (typed) with its head, as scripts/train_entities.py makes one."""
    import pycrfsuite

    from nlp.entity_tagger import ContextHead, head_path

    sentences = [("We study graphene oxide membranes .", {2: "B-MATERIAL", 3: "I-MATERIAL", 4: "I-MATERIAL"}),
                 ("Graphene oxide membranes filter water .", {0: "B-MATERIAL", 1: "I-MATERIAL", 2: "I-MATERIAL"}),
                 ("We propose beam search decoding .", {2: "B-METHOD", 3: "I-METHOD", 4: "I-METHOD"}),
                 ("Beam search decoding is fast .", {0: "B-METHOD", 1: "I-METHOD", 2: "I-METHOD"})]
    xs, ys, items = [], [], []
    for text, tags in sentences:
        doc = EN.make_doc(text)
        pieces = _real_pieces(embedder, text)[1]
        states, ok = word_states(doc, pieces)
        xs.append(ContextHead.inputs(states, ok))
        ys.append([0 if tags.get(i, "O").startswith("B") else 1 if i in tags else 4 for i in range(len(doc))])
        items.append((doc, pieces, [tags.get(i, "O") for i in range(len(doc))]))
    head = ContextHead.fit(np.concatenate(xs), np.concatenate(ys), epochs=20)
    trainer = pycrfsuite.Trainer(verbose=False)
    for doc, pieces, tags in items * 5:
        trainer.append(features(doc, "en", pieces=pieces, head=head), tags)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "en.crfsuite"
    trainer.train(str(path))
    write_features_version(path, "en")
    head.save(head_path(path))
    return path


def test_ingest_tags_set_5_with_the_passage_passs_states_as_analyse_text_does(real_embedder, tmp_path, caplog):
    from nlp.entity_tagger import EntityTagger, head_path
    from nlp.pipeline import Enricher

    path = _train_head_model(tmp_path / "entities", real_embedder)
    assert features_version_path(path).read_text().strip() == "5"
    assert model_path("en", tmp_path) == path and EntityTagger(path, "en").needs_context
    enricher = Enricher(NlpSettings(cache=False, onnx_dir=tmp_path), embedder=real_embedder)
    alone, ingest, _ = _typed_terms_alone_and_at_ingest(enricher, real_embedder, "test:head")
    assert ingest == alone

    head_path(path).unlink()  # the head is part of a set-5 model: without it, passed over with a warning
    with caplog.at_level(logging.WARNING, logger="nlp.entity_tagger"):
        assert model_path("en", tmp_path) is None
    assert "retrain" in caplog.text
