"""Weight-only int8 (per output channel) and int4 (group-wise, asymmetric) linears, requantized on load.

Kernels: on the CPU `aten._weight_int8pack_mm` and `_weight_int4pack_mm_for_cpu`; on CUDA tinygemm's
`_weight_int4pack_mm` (bf16, sm_80+) and `_weight_int8pack_mm` where this torch has it for CUDA, else a
dequantize-then-matmul fallback (probed once; `int8_cuda_path()` says which). Both int4 kernels take the same
scales-and-zeros layout [K/group, N, 2] holding (scale, min + 8·scale) for codes q in 0..15.
"""

from __future__ import annotations

import functools
import logging

import torch
import torch.nn.functional as F
from torch import Tensor, nn

log = logging.getLogger(__name__)

GROUP_SIZES = (32, 64, 128, 256)
INNER_K_TILES = 8  # tinygemm's widest tile: K must be a multiple of 8·16 = 128 on CUDA
# Measured here: torch's CPU weight-only kernels cost time linear in the rows of x (a 64-row product through
# the 262k-row head: int8 32 s, int4 37 s, f32 1.5 s), so on the CPU a product of more rows than this
# (prefill, a verify batch) dequantizes the weight and multiplies in f32 — the same values, summed in another order.
CPU_KERNEL_ROWS = 1


class Int8Linear(nn.Module):
    """y = x·(w_int8·scale)ᵀ with one scale per output row."""

    def __init__(self, weight: Tensor, scales: Tensor, bias: Tensor | None) -> None:
        super().__init__()
        self.out_features, self.in_features = weight.shape
        self.register_buffer("weight", weight)  # int8 [N, K]
        self.register_buffer("scales", scales)  # [N], the activations' dtype
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)

    @classmethod
    def quantize(cls, linear: nn.Linear, dtype: torch.dtype) -> "Int8Linear":
        w = linear.weight.detach().float()
        scales = (w.abs().amax(dim=1) / 127).clamp(min=1e-10)
        q = torch.round(w / scales[:, None]).clamp(-128, 127).to(torch.int8)
        return cls(q, scales.to(dtype), _bias(linear, dtype))

    def forward(self, x: Tensor) -> Tensor:
        x2 = x.reshape(-1, self.in_features)
        cpu = x.device.type == "cpu"
        if (cpu and x2.shape[0] <= CPU_KERNEL_ROWS) or (not cpu and int8_cuda_path() == "_weight_int8pack_mm"):
            y = torch.ops.aten._weight_int8pack_mm(x2, self.weight, self.scales)
        else:
            y = F.linear(x2, self.weight.to(x.dtype)) * self.scales
        return _finish(y, x, self.bias, self.out_features)


class Int4Linear(nn.Module):
    """y = x·wᵀ with w = q·scale + min per group of `group` input columns, codes packed for the device's kernel."""

    def __init__(self, packed: Tensor, scales_and_zeros: Tensor, group: int, in_features: int, out_features: int,
                 bias: Tensor | None, codes: Tensor | None = None) -> None:
        super().__init__()
        self.in_features, self.out_features, self.group = in_features, out_features, group
        self.register_buffer("packed", packed)
        self.register_buffer("scales_and_zeros", scales_and_zeros)  # [K/group, N, 2]
        # On the CPU the codes are kept unpacked too (uint8 [N, K]) for products of many rows (CPU_KERNEL_ROWS).
        self.register_buffer("codes", codes)
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)

    @classmethod
    def quantize(cls, linear: nn.Linear, group: int, dtype: torch.dtype) -> "Int4Linear":
        q, scales_and_zeros = quantize_int4(linear.weight.detach(), group)
        device = linear.weight.device
        codes = q.to(torch.uint8) if device.type == "cpu" else None
        return cls(pack_int4(q, device), scales_and_zeros.to(device, dtype), group, linear.in_features, linear.out_features,
                   _bias(linear, dtype), codes)

    def forward(self, x: Tensor) -> Tensor:
        x2 = x.reshape(-1, self.in_features)
        if x.device.type != "cpu":
            y = torch.ops.aten._weight_int4pack_mm(x2, self.packed, self.group, self.scales_and_zeros)
        elif x2.shape[0] <= CPU_KERNEL_ROWS or self.codes is None:
            y = torch.ops.aten._weight_int4pack_mm_for_cpu(x2, self.packed, self.group, self.scales_and_zeros)
        else:
            y = F.linear(x2, self.dequantized().to(x.dtype))
        return _finish(y, x, self.bias, self.out_features)

    def dequantized(self) -> Tensor:
        """The float weight [N, K] the codes stand for: (q − 8)·scale + zero per group."""
        n, k, g = self.out_features, self.in_features, self.group
        scale, zero = self.scales_and_zeros.float().permute(1, 0, 2).unbind(-1)  # each [N, K/g]
        q = self.codes.float().reshape(n, k // g, g)
        return ((q - 8) * scale[..., None] + zero[..., None]).reshape(n, k)


def quantize_int4(w: Tensor, group: int) -> tuple[Tensor, Tensor]:
    """Codes q in 0..15 (int32 [N, K]) and scales-and-zeros [K/group, N, 2] (f32) of an asymmetric min/max fit."""
    n, k = w.shape
    wg = w.float().reshape(n, k // group, group)
    lo, hi = wg.amin(dim=-1), wg.amax(dim=-1)
    scale = ((hi - lo) / 15).clamp(min=1e-10)
    q = torch.round((wg - lo[..., None]) / scale[..., None]).clamp(0, 15).to(torch.int32).reshape(n, k)
    # the kernels compute (q - 8)·scale + zero, so zero = min + 8·scale
    return q, torch.stack([scale.t(), (lo + 8 * scale).t()], dim=-1).contiguous()


def pack_int4(q: Tensor, device: torch.device | str) -> Tensor:
    """int4 codes [N, K] in the layout of the device's kernel."""
    device = torch.device(device)
    if device.type == "cpu":
        return torch.ops.aten._convert_weight_to_int4pack_for_cpu(q.cpu(), 1)
    pairs = (q[:, ::2] << 4 | q[:, 1::2]).to(torch.uint8).to(device)  # two codes a byte, high nibble first
    return torch.ops.aten._convert_weight_to_int4pack(pairs, INNER_K_TILES)


def int4_fits(in_features: int, out_features: int, group: int, device: torch.device | str) -> bool:
    """Whether a layer's shape suits the int4 kernels (else it stays in float)."""
    if in_features % group:
        return False
    if torch.device(device).type == "cpu":
        return out_features % 16 == 0  # the CPU packer's tile
    return in_features % (INNER_K_TILES * 16) == 0 and out_features % 8 == 0


@functools.cache
def int8_cuda_path() -> str:
    """'_weight_int8pack_mm' when this torch has that kernel for CUDA, else 'dequantize-matmul'."""
    if not torch.cuda.is_available():
        return "none"
    try:
        x = torch.ones(2, 64, device="cuda", dtype=torch.bfloat16)
        w = torch.ones(16, 64, device="cuda", dtype=torch.int8)
        torch.ops.aten._weight_int8pack_mm(x, w, torch.ones(16, device="cuda", dtype=torch.bfloat16))
        return "_weight_int8pack_mm"
    except (RuntimeError, NotImplementedError) as exc:
        log.info("no CUDA _weight_int8pack_mm (%s): int8 runs as dequantize-then-matmul", exc)
        return "dequantize-matmul"


def quantize_model(model: nn.Module, precision: str, dtype: torch.dtype, group: int = 128, head: bool = True) -> dict:
    """Replace the model's linears (and the output head when `head`) by int8/int4 ones in place; returns counts.

    The embedding gather stays in float: it reads one row a token, so quantizing it saves memory, not time.
    A tied head gets its own quantized copy (it is 63% of the embedded model's bytes).
    """
    if precision not in ("int8", "int4"):
        raise ValueError(f"precision {precision!r} is not int8 or int4")
    if precision == "int4" and group not in GROUP_SIZES:
        raise ValueError(f"int4 group size must be one of {GROUP_SIZES}, not {group}")
    counts = {"quantized": 0, "kept_float": 0}
    for parent, name, linear in list(_linears(model, head)):
        if precision == "int4" and not int4_fits(linear.in_features, linear.out_features, group, linear.weight.device):
            counts["kept_float"] += 1
            continue
        new = Int8Linear.quantize(linear, dtype) if precision == "int8" else Int4Linear.quantize(linear, group, dtype)
        setattr(parent, name, new)
        counts["quantized"] += 1
    if counts["kept_float"]:
        log.info("%d linears kept in float: their shape does not suit the int4 kernel", counts["kept_float"])
    return counts


def _linears(model: nn.Module, head: bool):
    """(parent, attribute, linear) for every nn.Linear, the output head only when asked."""
    for parent_name, parent in model.named_modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.Linear) and (head or f"{parent_name}.{name}".lstrip(".") != "output"):
                yield parent, name, child


def _bias(linear: nn.Linear, dtype: torch.dtype) -> Tensor | None:
    return None if linear.bias is None else linear.bias.detach().to(dtype)


def _finish(y: Tensor, x: Tensor, bias: Tensor | None, out_features: int) -> Tensor:
    if bias is not None:
        y = y + bias
    return y.reshape(*x.shape[:-1], out_features)


def random_quantized(model: nn.Module, precision: str, group: int, device: torch.device | str, dtype: torch.dtype, seed: int = 0) -> nn.Module:
    """Give a meta-device model random quantized linears and a random float rest on `device`, never materialising float weights.

    Benchmarks only: decode speed does not depend on the values. A 70B-shaped model in bf16 would not fit.
    """
    generator = torch.Generator(device=device).manual_seed(seed)
    for parent, name, linear in list(_linears(model, head=True)):
        n, k = linear.out_features, linear.in_features
        if precision == "int4" and not int4_fits(k, n, group, device):
            continue  # made a float linear below, as quantize_model would keep it
        if precision == "int8":
            w = torch.randint(-127, 128, (n, k), device=device, dtype=torch.int8, generator=generator)
            setattr(parent, name, Int8Linear(w, torch.full((n,), 0.01, device=device, dtype=dtype), None))
        else:
            q = torch.randint(0, 16, (n, k), device=device, dtype=torch.int32, generator=generator)
            zeros = torch.stack([torch.full((k // group, n), 0.01), torch.zeros(k // group, n)], dim=-1).to(device, dtype)
            setattr(parent, name, Int4Linear(pack_int4(q, device), zeros, group, k, n, None))
    with torch.no_grad():
        for module in model.modules():
            for pname, p in list(module.named_parameters(recurse=False)):
                if p.is_meta:
                    fresh = torch.empty(p.shape, device=device, dtype=dtype)
                    fresh.fill_(1.0) if pname == "weight" and "Norm" in type(module).__name__ else fresh.normal_(0.0, 0.02, generator=generator)
                    setattr(module, pname, nn.Parameter(fresh, requires_grad=False))
            for bname, b in list(module.named_buffers(recurse=False)):
                if b is not None and b.is_meta:
                    setattr(module, bname, torch.empty(b.shape, device=device, dtype=b.dtype))
    return model
