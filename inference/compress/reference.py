"""Rebuild a full-precision reference GGUF from a quantized one: every metadata key copied, every tensor dequantized."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import gguf
import numpy as np

from inference.gguf_meta import FILE_TYPES

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, float | None], None]
FLOAT_TYPES = (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16, gguf.GGMLQuantizationType.BF16)
# Keys the writer sets itself (the header counts) or that must describe the new file, not the source.
_SKIP_KEYS = ("GGUF.", "general.architecture", "general.file_type", "general.alignment")
REFERENCE_TYPES = ("F32", "F16")


def is_full_precision(path: Path) -> bool:
    """True when every tensor of the file is stored as F32, F16 or BF16, so it is its own reference."""
    reader = gguf.GGUFReader(str(path), "r")
    return all(t.tensor_type in FLOAT_TYPES for t in reader.tensors)


def weight_types(path: Path) -> dict[str, int]:
    """How many tensors of each stored type the file holds (F32, Q4_K, Q6_K …)."""
    counts: dict[str, int] = {}
    for t in gguf.GGUFReader(str(path), "r").tensors:
        counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + 1
    return counts


def reference_size(path: Path, dtype: str = "F32") -> int:
    """Bytes the rebuilt reference will take on disk (tensor data; metadata is small beside it)."""
    reader = gguf.GGUFReader(str(path), "r")
    return sum(int(t.n_elements) * _bytes_per_element(t, dtype) for t in reader.tensors) + 8 * 1024 * 1024


def rebuild_reference(src: Path, dst: Path, dtype: str = "F32", progress: ProgressFn | None = None) -> Path:
    """Write `dst` with src's metadata and every tensor dequantized to `dtype` (F32, or F16 for matrices)."""
    if dtype not in REFERENCE_TYPES:
        raise ValueError(f"reference dtype must be F32 or F16, not {dtype}")
    reader = gguf.GGUFReader(str(src), "r")
    arch = str(reader.fields["general.architecture"].contents())
    writer = gguf.GGUFWriter(str(dst), arch)
    _copy_metadata(reader, writer)
    writer.add_file_type(FILE_TYPES[dtype])
    for t in reader.tensors:
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))  # ggml order -> numpy order
        np_dtype = np.float16 if _bytes_per_element(t, dtype) == 2 else np.float32
        writer.add_tensor_info(t.name, shape, np.dtype(np_dtype), int(t.n_elements) * np.dtype(np_dtype).itemsize)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    total = len(reader.tensors)
    for i, t in enumerate(reader.tensors):
        writer.write_tensor_data(_dequantized(t, dtype))
        if progress:
            progress("reference", (i + 1) / total)
    writer.close()
    log.info("rebuilt a %s reference of %s at %s", dtype, src.name, dst)
    return dst


def _copy_metadata(reader: gguf.GGUFReader, writer: gguf.GGUFWriter) -> None:
    """Copy every key/value pair with its original GGUF value type."""
    for name, field in reader.fields.items():
        if name.startswith(_SKIP_KEYS) or not field.types:
            continue
        vtype = field.types[0]
        sub_type = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(name, field.contents(), vtype, sub_type=sub_type)


def _bytes_per_element(t: gguf.ReaderTensor, dtype: str) -> int:
    """F16 references keep 1-D tensors (norms, biases) in F32, as llama.cpp's converters do."""
    return 2 if dtype == "F16" and len(t.shape) > 1 else 4


def _dequantized(t: gguf.ReaderTensor, dtype: str) -> np.ndarray:
    """The tensor as a float array of the reference's dtype, in numpy (row-major) shape."""
    data = gguf.quants.dequantize(t.data, t.tensor_type)
    shape = tuple(int(d) for d in reversed(t.shape.tolist()))
    out = np.asarray(data, dtype=np.float32).reshape(shape)
    return out.astype(np.float16) if _bytes_per_element(t, dtype) == 2 else out
