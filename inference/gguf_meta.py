"""A fast reader of GGUF headers: scalar metadata, the parameter count and tensor extents, without loading big arrays;
and the table of GGUF file types.

gguf.GGUFReader parses every array (a 262k-entry vocabulary takes seconds in Python); listing
and validating models needs only the scalars and where the tensor data must end.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

# GGUF value types: id -> struct format for scalars; 8 is string, 9 is array.
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_MAX_STRING = 1 << 26  # a key or value longer than 64 MiB means the header is garbage
_MAX_DIMS = 4  # GGML_MAX_DIMS: a tensor of higher rank cannot exist
_MAX_NESTING = 4  # arrays of arrays: GGUF writers nest one level at most; a hostile file would recurse forever
# The fewest bytes one key/value pair, one array element of a type, and one tensor entry take in the file:
# a count claiming more than the rest of the file can hold is refused before any loop runs over it.
_MIN_KV, _MIN_TENSOR = 8 + 4 + 1, 8 + 4 + 4 + 8
_MIN_ELEMENT = {_STRING: 8, _ARRAY: 12}
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


def _left(f: BinaryIO) -> int:
    """Bytes of the file after the read position."""
    return os.fstat(f.fileno()).st_size - f.tell()


def _check_left(f: BinaryIO, n: int, what: str = "") -> None:
    if n > _left(f):
        raise GGUFFormatError(f"{what} claims more than the file holds" if what else "unexpected end of file in the header")


def _check_count(f: BinaryIO, count: int, each: int, what: str) -> None:
    """GGUFFormatError when `count` items of at least `each` bytes cannot fit in the rest of the file."""
    _check_left(f, count * each, f"{what} ({count:,})")


def _u64(f: BinaryIO) -> int:
    return struct.unpack("<Q", _read(f, 8))[0]


def _string(f: BinaryIO) -> str:
    n = _u64(f)
    if n > _MAX_STRING:
        raise GGUFFormatError("implausible string length")
    _check_left(f, n)  # before reading: a claimed length is never allocated unless the file holds it
    return _read(f, n).decode("utf-8", "replace")


def _value(f: BinaryIO, vtype: int, depth: int = 0) -> object:
    if vtype in _SCALARS:
        fmt = _SCALARS[vtype]
        return struct.unpack(fmt, _read(f, struct.calcsize(fmt)))[0]
    if vtype == _STRING:
        return _string(f)
    if vtype == _ARRAY:
        return _array(f, depth + 1)[0]
    raise GGUFFormatError(f"unknown value type {vtype}")


def _skip_array(f: BinaryIO, etype: int, count: int, depth: int) -> None:
    if etype in _SCALARS:
        size = struct.calcsize(_SCALARS[etype]) * count
        _check_left(f, size, f"an array of {count:,} values")
        f.seek(size, 1)
    elif etype == _STRING:
        for _ in range(count):
            n = _u64(f)
            if n > _MAX_STRING:
                raise GGUFFormatError("implausible string length")
            f.seek(n, 1)  # past the end is harmless: the next read says the file ends
    else:
        for _ in range(count):
            _value(f, etype, depth)


def read_header(path: Path) -> GGUFHeader:
    """Parse a GGUF header; raise GGUFFormatError if it is damaged."""
    with Path(path).open("rb") as f:
        if _read(f, 4) != b"GGUF":
            raise GGUFFormatError("no GGUF magic")
        version = struct.unpack("<I", _read(f, 4))[0]
        n_tensors, n_kv = _u64(f), _u64(f)
        _check_count(f, n_kv, _MIN_KV, "its count of metadata keys")
        _check_count(f, n_tensors, _MIN_TENSOR, "its tensor count")
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
            if n_dims > _MAX_DIMS:
                raise GGUFFormatError(f"a tensor of {n_dims:,} dimensions")
            dims = struct.unpack(f"<{n_dims}Q", _read(f, 8 * n_dims))
            ttype, offset = struct.unpack("<I", _read(f, 4))[0], _u64(f)
            n = 1
            for d in dims:
                n *= d
            params += n
            extents.append((offset, _tensor_bytes(ttype, n)))
        align = fields.get("general.alignment", 32)
        if not isinstance(align, int) or isinstance(align, bool) or align <= 0:
            raise GGUFFormatError(f"general.alignment is {align!r}, not a positive whole number")
        data_start = -(-f.tell() // align) * align
    end = data_start + max((o + s for o, s in extents), default=0)
    return GGUFHeader(version, fields, n_tensors, params, end, arrays)


def _array(f: BinaryIO, depth: int = 0) -> tuple[int, tuple | None]:
    """An array's length, and its values when it is short and numeric."""
    if depth > _MAX_NESTING:
        raise GGUFFormatError(f"arrays nested more than {_MAX_NESTING} deep")
    etype, count = struct.unpack("<I", _read(f, 4))[0], _u64(f)
    if etype in _MIN_ELEMENT:
        _check_count(f, count, _MIN_ELEMENT[etype], "an array")
    if etype in _SCALARS and count <= _KEEP_ARRAY:
        fmt = _SCALARS[etype]
        return count, struct.unpack(f"<{count}{fmt[1]}", _read(f, struct.calcsize(fmt) * count))
    _skip_array(f, etype, count, depth)
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
