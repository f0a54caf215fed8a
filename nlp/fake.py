"""A deterministic fake behind the Embedder Protocol: token hashing into a normalized vector.

For fast tests of everything around the model (passages, cache, pipeline, index). Similar texts get
similar vectors (shared tokens), so ranking tests still mean something.
"""

from __future__ import annotations

import hashlib
import re
from typing import Sequence

import numpy as np

_TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]", re.IGNORECASE)


class HashingEmbedder:
    """Hashes word tokens (and single non-Latin characters) into `dim` buckets; counts encoder calls."""

    def __init__(self, dim: int = 384, max_tokens: int = 128, name: str = "hashing-fake") -> None:
        self.dim = dim
        self.max_tokens = max_tokens
        self.name = name
        self.encode_calls = 0
        self.encoded_texts = 0

    @staticmethod
    def tokens(text: str) -> list[str]:
        return [t.lower() for t in _TOKEN.findall(text)]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(self.tokens(t)) for t in texts]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encode_calls += 1
        self.encoded_texts += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in self.tokens(text):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dim
                sign = 1.0 if digest[4] & 1 else -1.0
                out[row, bucket] += sign
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
        return out
