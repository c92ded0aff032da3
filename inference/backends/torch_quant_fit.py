"""Fitting weights to int4 groups and int8 rows: codes plus scales, by min/max or by a least-squares search.

An int4 group of g weights x is stored as codes q in 0..15 with one scale and one low value, x ≈ q·scale + low.
Min/max spreads the 16 levels over [min, max]; the search (llama.cpp's make_qkx2_quants, vectorised over every
group at once) tries ranges slightly narrower and wider than that, refits scale and low to the codes by least
squares, and keeps whichever has the least squared error — min/max itself is among the candidates, so the
search is never worse than it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor

INT4_LEVELS = 15
# Ranges of 14 … 16 steps across [min, max], as llama.cpp's make_qkx2_quants(nmax=15, rmin=-1, …) tries, but 11 of
# them, not its 21: on the embedded model's weights 21 cut the squared error only 0.1% more, at twice the time.
SEARCH_STEPS = tuple(-1.0 + 0.2 * i for i in range(11))
REFINE_ROUNDS = 2  # re-coding to the refitted scale and refitting again (measured: 0.3-1% less error than none)
CHUNK_GROUPS = 1 << 16  # groups fitted at once: small enough for the caches (measured 2x faster than 1 << 20)


@dataclass(frozen=True)
class Int4Weight:
    """Codes q in 0..15 (uint8 [N, K]) and per-group scale and low (f32 [N, K/group]): w = q·scale + low."""

    codes: Tensor
    scale: Tensor
    low: Tensor

    @property
    def group(self) -> int:
        return self.codes.shape[1] // self.scale.shape[1]

    @property
    def shape(self) -> torch.Size:
        return self.codes.shape

    def dequantize(self) -> Tensor:
        """The float weight [N, K] the codes stand for."""
        n, k = self.codes.shape
        q = self.codes.float().reshape(n, -1, self.group)
        return (q * self.scale[..., None] + self.low[..., None]).reshape(n, k)


@dataclass(frozen=True)
class Int8Weight:
    """Codes in -128..127 (int8 [N, K]) and one scale per output row (f32 [N]): w = q·scale."""

    codes: Tensor
    scale: Tensor

    @property
    def shape(self) -> torch.Size:
        return self.codes.shape

    def dequantize(self) -> Tensor:
        return self.codes.float() * self.scale[:, None]


QuantWeight = Int4Weight | Int8Weight


def cat_rows(parts: list[QuantWeight]) -> QuantWeight:
    """The quantized weights of parts stacked row after row (every field is per row, so fusing is exact)."""
    kind = type(parts[0])
    if any(type(p) is not kind for p in parts) or (kind is Int4Weight and len({p.group for p in parts}) > 1):
        raise ValueError("fused parts must share a precision and a group size")
    return kind(*(torch.cat([getattr(p, f.name) for p in parts]) for f in fields(kind)))


def take_rows(w: QuantWeight, index: Tensor) -> QuantWeight:
    """The rows of w in the order of index (a permutation of the output rows)."""
    return type(w)(*(getattr(w, f.name)[index.to(getattr(w, f.name).device)] for f in fields(w)))


def to_device(w: QuantWeight, device: torch.device | str) -> QuantWeight:
    return type(w)(*(getattr(w, f.name).to(device) for f in fields(w)))


def fit_int8(w: Tensor) -> Int8Weight:
    """Symmetric int8 with one scale per row, the row's largest magnitude at ±127."""
    n, k = w.shape
    codes = torch.empty(n, k, dtype=torch.int8, device=w.device)
    scale = torch.empty(n, device=w.device)
    rows = max(1, CHUNK_GROUPS * 32 // k)
    for i in range(0, n, rows):  # a chunk at a time: a 262k-row head's float temporaries would be gigabytes
        chunk = w[i : i + rows].float()
        scale[i : i + rows] = (chunk.abs().amax(dim=1) / 127).clamp(min=1e-10)
        codes[i : i + rows] = (chunk / scale[i : i + rows, None]).round_().clamp_(-128, 127).to(torch.int8)  # not in place: chunk may be w
    return Int8Weight(codes, scale)


def fit_int4(w: Tensor, group: int, search: bool = True) -> Int4Weight:
    """Asymmetric int4 in groups of `group` input columns: min/max, or the least-squares search when `search`."""
    n, k = w.shape
    if k % group:
        raise ValueError(f"{k} columns do not split into groups of {group}")
    codes = torch.empty(n, k // group, group, dtype=torch.uint8, device=w.device)
    scale, low = (torch.empty(n, k // group, device=w.device) for _ in range(2))
    rows = max(1, CHUNK_GROUPS * group // k)
    for i in range(0, n, rows):  # whole rows at a time
        part = slice(i, i + rows)
        codes[part], scale[part], low[part] = _fit_groups(w[part].float().reshape(-1, k // group, group), search)
    return Int4Weight(codes.reshape(n, k), scale, low)


def _fit_groups(x: Tensor, search: bool) -> tuple[Tensor, Tensor, Tensor]:
    """(codes uint8 [..., g], scale [...], low [...]) for groups x [..., g]."""
    g = float(x.shape[-1])
    # Centred on the mean, the sums a candidate's error is computed from stay small enough for f32.
    mean = x.sum(-1) / g
    x = x - mean[..., None]
    lo, hi = x.amin(dim=-1), x.amax(dim=-1)
    span = (hi - lo).clamp(min=1e-10)
    scale, low = span / INT4_LEVELS, lo
    if search:
        sxx = (x * x).sum(-1)
        best = _error_from_sums(scale, low, g, *_sums(x, _codes(x, scale, low)), sxx)
        for step in SEARCH_STEPS:
            scale, low, best = _keep_better(x, _codes(x, span / (INT4_LEVELS + step), lo), scale, low, best, g, sxx)
        for _ in range(REFINE_ROUNDS):
            scale, low, best = _keep_better(x, _codes(x, scale, low), scale, low, best, g, sxx)
    return _codes(x, scale, low).to(torch.uint8), scale, low + mean


def _codes(x: Tensor, scale: Tensor, low: Tensor) -> Tensor:
    """The nearest of the 16 levels: the best code for a given scale and low."""
    return x.sub(low[..., None]).div_(scale[..., None]).round_().clamp_(0, INT4_LEVELS)


def _sums(x: Tensor, q: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Σq, Σq², Σqx per group."""
    return q.sum(-1), (q * q).sum(-1), (q * x).sum(-1)


def _keep_better(x: Tensor, q: Tensor, scale: Tensor, low: Tensor, best: Tensor, g: float, sxx: Tensor):
    """The least-squares (scale, low) for codes q where it beats the current fit's error, else the current."""
    sq, sq2, sqx = _sums(x, q)
    det = g * sq2 - sq * sq
    ok = det > 1e-6 * g * sq2  # all codes equal: no line through them, keep what there is
    det = torch.where(ok, det, torch.ones_like(det))
    new_scale = g * sqx / det  # Σx = 0 once centred
    new_low = -sq * sqx / det
    err = _error_from_sums(new_scale, new_low, g, sq, sq2, sqx, sxx)
    better = ok & (new_scale > 0) & (err < best)
    return torch.where(better, new_scale, scale), torch.where(better, new_low, low), torch.where(better, err, best)


def _error_from_sums(scale: Tensor, low: Tensor, g: float, sq: Tensor, sq2: Tensor, sqx: Tensor, sxx: Tensor) -> Tensor:
    """Σ (q·scale + low − x)² of centred groups (Σx = 0) from their sums, so no candidate needs a second pass over x."""
    return scale * scale * sq2 + 2 * scale * low * sq - 2 * scale * sqx + g * low * low + sxx
