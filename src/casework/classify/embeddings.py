"""Static sentence embeddings as extra features, from weights shipped inside a package.

Optional (`pip install casework[embeddings]`), used only by the `embeddings` model recipe;
no Django. A text's embedding is the mean of its tokens' vectors, L2-normalised: one table
look-up per token, no neural network at run time, a few tens of microseconds per message.

The one source known here is WordLlama's default model (`wordllama` on PyPI, MIT licence,
by Lee Miller): a 32,000-token table of 256 dimensions trained from the token-embedding
codebooks of large language models (Llama 2 70B, Phi-3 among them), with the Llama 2
tokenizer. Both files ship inside the wheel. They are read from the installed package's
folder as data: none of the package's code runs (its own loader would fetch a missing
tokenizer from the internet), the tensor file is parsed here (safetensors: a JSON header
and raw little-endian numbers), and the tokenizer is the `tokenizers` library's reading of
a JSON file. Nothing is downloaded, ever.

A model stores the fingerprint (SHA-256) of the files it was trained with; loading it with
other files (another package version) is refused rather than silently answering differently.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


class EmbeddingUnavailable(ValueError):
    """The embedding's package is not installed, or its files are not the expected ones."""


@dataclass(frozen=True)
class Source:
    package: str
    weights: str  # path inside the package folder
    tensor: str  # the table's name in the safetensors file
    tokenizer: str  # path inside the package folder (a `tokenizers` JSON file)
    extra: str  # the pip extra that installs it


SOURCES: dict[str, Source] = {
    "wordllama-l2-supercat-256": Source(
        package="wordllama",
        weights="weights/l2_supercat_256.safetensors",
        tensor="embedding.weight",
        tokenizer="tokenizers/l2_supercat_tokenizer_config.json",
        extra="embeddings",
    ),
}

_SAFETENSORS_DTYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "BF16": None}


class StaticEmbedding:
    """A token table and a tokenizer: `embed(texts)` gives one unit vector per text."""

    def __init__(self, name: str, table: np.ndarray, tokenizer: Any, fingerprint: str) -> None:
        self.name = name
        self.table = np.ascontiguousarray(table, dtype=np.float32)
        self.tokenizer = tokenizer
        self.fingerprint = fingerprint

    @property
    def dim(self) -> int:
        return int(self.table.shape[1])

    def embed_one(self, text: str) -> np.ndarray:
        ids = self.tokenizer.encode(text, add_special_tokens=False).ids
        return self._pool(ids)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        for row, encoding in enumerate(
            self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        ):
            out[row] = self._pool(encoding.ids)
        return out

    def _pool(self, ids: Sequence[int]) -> np.ndarray:
        ids = [i for i in ids if 0 <= i < len(self.table)]
        if not ids:
            return np.zeros(self.dim, dtype=np.float32)
        vector = self.table[ids].mean(axis=0)
        norm = float(np.sqrt(vector @ vector))
        return vector / norm if norm else vector


_loaded: dict[str, StaticEmbedding] = {}
_lock = threading.Lock()


def load(name: str, *, fingerprint: str | None = None) -> StaticEmbedding:
    """The named embedding (read once per process). Raises EmbeddingUnavailable if its
    package is missing or its files differ from `fingerprint`."""
    with _lock:
        embedding = _loaded.get(name)
        if embedding is None:
            embedding = _loaded[name] = _read(name)
    if fingerprint is not None and embedding.fingerprint != fingerprint:
        raise EmbeddingUnavailable(
            f"the installed {SOURCES[name].package} files of {name} are not the ones this "
            f"model was trained with (fingerprint {embedding.fingerprint[:12]}…, the model "
            f"expects {fingerprint[:12]}…): install the version the model was trained with"
        )
    return embedding


def is_available(name: str) -> bool:
    source = SOURCES.get(name)
    return source is not None and _package_folder(source.package) is not None


def read_safetensors(data: bytes, tensor: str) -> np.ndarray:
    """One tensor of a safetensors file: 8 bytes header length, a JSON header with each
    tensor's dtype, shape and byte range, then the raw data. Nothing is executed."""
    if len(data) < 8:
        raise EmbeddingUnavailable("not a safetensors file: too short")
    (header_length,) = struct.unpack("<Q", data[:8])
    if header_length > len(data) - 8:
        raise EmbeddingUnavailable("not a safetensors file: header longer than the file")
    try:
        header = json.loads(data[8 : 8 + header_length])
        entry = header[tensor]
        dtype = _SAFETENSORS_DTYPES.get(entry["dtype"])
        start, end = (int(x) for x in entry["data_offsets"])
        shape = tuple(int(x) for x in entry["shape"])
    except (ValueError, KeyError, TypeError) as error:
        raise EmbeddingUnavailable(f"no tensor {tensor!r} in the safetensors file") from error
    if dtype is None:
        raise EmbeddingUnavailable(f"unsupported tensor type {entry['dtype']}")
    body = data[8 + header_length :]
    if not 0 <= start <= end <= len(body):
        raise EmbeddingUnavailable(f"tensor {tensor!r} lies outside the file")
    array = np.frombuffer(body[start:end], dtype=np.dtype(dtype))
    if array.size != int(np.prod(shape)):
        raise EmbeddingUnavailable(f"tensor {tensor!r} does not have its shape {shape}")
    return array.reshape(shape)


def _read(name: str) -> StaticEmbedding:
    source = SOURCES.get(name)
    if source is None:
        raise EmbeddingUnavailable(f"unknown embedding {name}; known: {', '.join(SOURCES)}")
    folder = _package_folder(source.package)
    if folder is None:
        raise EmbeddingUnavailable(
            f"the embedding {name} needs the package {source.package}: "
            f"pip install 'casework[{source.extra}]'"
        )
    try:
        weights = (folder / source.weights).read_bytes()
        tokenizer_json = (folder / source.tokenizer).read_bytes()
    except OSError as error:
        raise EmbeddingUnavailable(
            f"{source.package} is installed without its file {error.filename}"
        ) from error
    try:
        from tokenizers import Tokenizer
    except ImportError as error:
        raise EmbeddingUnavailable(
            f"the embedding {name} needs the package tokenizers: "
            f"pip install 'casework[{source.extra}]'"
        ) from error
    digest = hashlib.sha256(weights)
    digest.update(tokenizer_json)
    tokenizer = Tokenizer.from_str(tokenizer_json.decode("utf-8"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return StaticEmbedding(
        name, read_safetensors(weights, source.tensor), tokenizer, digest.hexdigest()
    )


def _package_folder(package: str) -> Path | None:
    """Where an installed package's files are, without importing (running) it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))
