"""A fast reader of GGUF headers: scalar metadata and tensor extents, without loading big arrays.

gguf.GGUFReader parses every array (a 262k-entry vocabulary takes seconds in Python); listing
and validating models needs only the scalars and where the tensor data must end.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

# GGUF value types: id -> struct format for scalars; 8 is string, 9 is array.
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_MAX_STRING = 1 << 26  # a key or value longer than 64 MiB means the header is garbage


class GGUFFormatError(ValueError):
    """The file is not a well-formed GGUF header."""


@dataclass(frozen=True)
class GGUFHeader:
    version: int
    fields: dict  # scalar values; arrays appear as their length
    tensor_count: int
    parameter_count: int
    data_end: int  # the file must be at least this long


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
        etype, count = struct.unpack("<I", _read(f, 4))[0], _u64(f)
        _skip_array(f, etype, count)
        return count
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
        fields = {}
        for _ in range(n_kv):
            key = _string(f)
            fields[key] = _value(f, struct.unpack("<I", _read(f, 4))[0])
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
    return GGUFHeader(version, fields, n_tensors, params, end)


def _tensor_bytes(ttype: int, n_elements: int) -> int:
    try:
        block, size = GGML_QUANT_SIZES[GGMLQuantizationType(ttype)]
    except (ValueError, KeyError):
        raise GGUFFormatError(f"unknown tensor type {ttype}") from None
    return n_elements // block * size
