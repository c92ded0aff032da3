"""A fast reader of GGUF headers: scalar metadata, the parameter count and tensor extents, without loading big arrays;
and the table of GGUF file types.

gguf.GGUFReader parses every array (a 262k-entry vocabulary takes seconds in Python); listing
and validating models needs only the scalars and where the tensor data must end.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

# GGUF value types: id -> struct format for scalars; 8 is string, 9 is array.
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_MAX_STRING = 1 << 26  # a key or value longer than 64 MiB means the header is garbage
# Numeric arrays up to this length keep their values: per-layer hyperparameters (head counts of models whose
# layers differ) are that short; vocabularies and scores, 32k entries and up, stay skipped.
_KEEP_ARRAY = 1024
# ggml file types (llama_ftype in llama.h, 0.3.36; general.file_type in a GGUF) by the names users know.
# Written out, not read from the gguf package: importing the table must not cost the gguf import (~0.1 s),
# and the quantization types it names must not need the native library.
FILE_TYPES = {
    "F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10, "Q3_K_S": 11,
    "Q3_K_M": 12, "Q3_K_L": 13, "Q4_K_S": 14, "Q4_K_M": 15, "Q5_K_S": 16, "Q5_K_M": 17, "Q6_K": 18,
    "IQ2_XXS": 19, "IQ2_XS": 20, "Q2_K_S": 21, "IQ3_XS": 22, "IQ3_XXS": 23, "IQ1_S": 24, "IQ4_NL": 25,
    "IQ3_S": 26, "IQ3_M": 27, "IQ2_S": 28, "IQ2_M": 29, "IQ4_XS": 30, "IQ1_M": 31, "BF16": 32, "TQ1_0": 36, "TQ2_0": 37,
}
_FILE_TYPE_NAMES = {v: k for k, v in FILE_TYPES.items()}


def file_type_name(ftype: int) -> str:
    """A general.file_type value by the name users know (Q4_K_M …), or `type N` for one the table lacks."""
    return _FILE_TYPE_NAMES.get(ftype, f"type {ftype}")


class GGUFFormatError(ValueError):
    """The file is not a well-formed GGUF header."""


@dataclass(frozen=True)
class GGUFHeader:
    version: int
    fields: dict  # scalar values; arrays appear as their length
    tensor_count: int
    parameter_count: int
    data_end: int  # the file must be at least this long
    arrays: dict = field(default_factory=dict)  # values of short numeric arrays (per-layer hyperparameters)


def _read(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise GGUFFormatError("unexpected end of file in the header")
    return data


def _u64(f: BinaryIO) -> int:
    return struct.unpack("<Q", _read(f, 8))[0]


def _string(f: BinaryIO) -> str:
    n = _u64(f)
    if n > _MAX_STRING:
        raise GGUFFormatError("implausible string length")
    return _read(f, n).decode("utf-8", "replace")


def _value(f: BinaryIO, vtype: int) -> object:
    if vtype in _SCALARS:
        fmt = _SCALARS[vtype]
        return struct.unpack(fmt, _read(f, struct.calcsize(fmt)))[0]
    if vtype == _STRING:
        return _string(f)
    if vtype == _ARRAY:
        return _array(f)[0]
    raise GGUFFormatError(f"unknown value type {vtype}")


def _skip_array(f: BinaryIO, etype: int, count: int) -> None:
    if etype in _SCALARS:
        f.seek(struct.calcsize(_SCALARS[etype]) * count, 1)
    elif etype == _STRING:
        for _ in range(count):
            n = _u64(f)
            if n > _MAX_STRING:
                raise GGUFFormatError("implausible string length")
            f.seek(n, 1)
    else:
        for _ in range(count):
            _value(f, etype)


def read_header(path: Path) -> GGUFHeader:
    """Parse a GGUF header; raise GGUFFormatError if it is damaged."""
    with Path(path).open("rb") as f:
        if _read(f, 4) != b"GGUF":
            raise GGUFFormatError("no GGUF magic")
        version = struct.unpack("<I", _read(f, 4))[0]
        n_tensors, n_kv = _u64(f), _u64(f)
        fields, arrays = {}, {}
        for _ in range(n_kv):
            key = _string(f)
            vtype = struct.unpack("<I", _read(f, 4))[0]
            if vtype == _ARRAY:
                fields[key], values = _array(f)
                if values is not None:
                    arrays[key] = values
            else:
                fields[key] = _value(f, vtype)
        extents, params = [], 0
        for _ in range(n_tensors):
            _string(f)
            n_dims = struct.unpack("<I", _read(f, 4))[0]
            dims = struct.unpack(f"<{n_dims}Q", _read(f, 8 * n_dims))
            ttype, offset = struct.unpack("<I", _read(f, 4))[0], _u64(f)
            n = 1
            for d in dims:
                n *= d
            params += n
            extents.append((offset, _tensor_bytes(ttype, n)))
        align = int(fields.get("general.alignment", 32))
        data_start = -(-f.tell() // align) * align
    end = data_start + max((o + s for o, s in extents), default=0)
    return GGUFHeader(version, fields, n_tensors, params, end, arrays)


def _array(f: BinaryIO) -> tuple[int, tuple | None]:
    """An array's length, and its values when it is short and numeric."""
    etype, count = struct.unpack("<I", _read(f, 4))[0], _u64(f)
    if etype in _SCALARS and count <= _KEEP_ARRAY:
        fmt = _SCALARS[etype]
        return count, struct.unpack(f"<{count}{fmt[1]}", _read(f, struct.calcsize(fmt) * count))
    _skip_array(f, etype, count)
    return count, None


def parameter_count(path: Path) -> int:
    """The model's parameters: every tensor's elements, summed from the header's shapes."""
    return read_header(path).parameter_count


def _tensor_bytes(ttype: int, n_elements: int) -> int:
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType  # here, so the table above imports for free

    try:
        block, size = GGML_QUANT_SIZES[GGMLQuantizationType(ttype)]
    except (ValueError, KeyError):
        raise GGUFFormatError(f"unknown tensor type {ttype}") from None
    return n_elements // block * size
