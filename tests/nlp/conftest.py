"""Shared fixtures: a deterministic fake sparse encoder (the SparseEncoder seam without BM25 statistics) and session-scoped real parts."""

from __future__ import annotations

import hashlib
import os
import re

import pytest

from nlp.base import SparseVector

os.environ.setdefault("HF_HUB_OFFLINE", "1")


class TokenCountSparse:
    """Deterministic SparseEncoder for tests: hashed word / character counts."""

    def _encode(self, text: str) -> SparseVector:
        counts: dict[int, float] = {}
        for token in re.findall(r"[a-z0-9]+|[^\sa-z0-9]", text.lower()):
            idx = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "little")
            counts[idx] = counts.get(idx, 0.0) + 1.0
        keys = sorted(counts)
        return SparseVector(indices=keys, values=[counts[k] for k in keys])

    def encode_document(self, text: str, language: str) -> SparseVector:
        return self._encode(text)

    def encode_query(self, text: str, language: str) -> SparseVector:
        return self._encode(text)

    def encode_title(self, text: str, language: str) -> SparseVector:
        return self._encode(text)


@pytest.fixture
def sparse() -> TokenCountSparse:
    return TokenCountSparse()


@pytest.fixture
def nlp_settings(tmp_path, monkeypatch):
    from domain.settings import NlpSettings

    monkeypatch.setenv("SCOUT_HOME", str(tmp_path))
    return NlpSettings()


@pytest.fixture(scope="session")
def real_embedder(onnx_exports):
    """The packaged all-MiniLM-L6-v2, loaded once per session (its query encoder exported once too), on the
    fp32 export: the model's own vectors, which the tests hold to PyTorch's (the int8 default is tested apart)."""
    from nlp.embedder import SentenceTransformerEmbedder
    from domain.settings import NlpSettings

    return SentenceTransformerEmbedder(NlpSettings(cache=False, onnx_dir=onnx_exports, onnx_int8=False))
