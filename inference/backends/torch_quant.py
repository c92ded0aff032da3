"""Weight-only int8 (per output channel) and int4 (group-wise, asymmetric) linears, and how a load quantizes (QuantConfig).

The fits themselves are torch_quant_fit's; torch_weights applies them tensor by tensor as a GGUF is read.

Kernels: on the CPU `aten._weight_int8pack_mm` and `_weight_int4pack_mm_for_cpu`; on CUDA tinygemm's
`_weight_int4pack_mm` (bf16, sm_80+) and `_weight_int8pack_mm` where this torch has it for CUDA, else a
dequantize-then-matmul fallback (probed once; `int8_cuda_path()` says which). Both int4 kernels take the same
scales-and-zeros layout [K/group, N, 2] holding (scale, min + 8·scale) for codes q in 0..15.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from inference.backends.torch_quant_fit import Int4Weight, Int8Weight, QuantWeight, fit_int4, fit_int8

log = logging.getLogger(__name__)

GROUP_SIZES = (32, 64, 128, 256)
HEAD_PRECISIONS = ("int8", "int4", "float")  # what a load may ask for the output head of an int8/int4 model
INNER_K_TILES = 8  # tinygemm's widest tile: K must be a multiple of 8·16 = 128 on CUDA
# Measured here: torch's CPU weight-only kernels cost time linear in the rows of x (a 64-row product through
# the 262k-row head: int8 32 s, int4 37 s, f32 1.5 s), so on the CPU a product of more rows than this
# (prefill, a verify batch) dequantizes the weight and multiplies in f32 — the same values, summed in another order.
CPU_KERNEL_ROWS = 1
PACK_ROWS = 4096  # a multiple of the CPU packer's 16-row tile


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
        return cls.from_weight(fit_int8(linear.weight.detach()), _bias(linear, dtype), dtype)

    @classmethod
    def from_weight(cls, w: Int8Weight, bias: Tensor | None, dtype: torch.dtype) -> "Int8Linear":
        return cls(w.codes, w.scale.to(dtype), bias)

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
    def quantize(cls, linear: nn.Linear, group: int, dtype: torch.dtype, search: bool = True) -> "Int4Linear":
        return cls.from_weight(fit_int4(linear.weight.detach(), group, search), _bias(linear, dtype), dtype)

    @classmethod
    def from_weight(cls, w: Int4Weight, bias: Tensor | None, dtype: torch.dtype) -> "Int4Linear":
        """The kernels' layout of a fitted weight; scales and zeros are rounded to `dtype` here, nowhere else."""
        n, k = w.shape
        device = w.codes.device
        # the kernels compute (q - 8)·scale + zero, so zero = low + 8·scale
        scales_and_zeros = torch.stack([w.scale.t(), (w.low + 8 * w.scale).t()], dim=-1).contiguous().to(dtype)
        codes = w.codes if device.type == "cpu" else None
        return cls(pack_int4(w.codes, device), scales_and_zeros, w.group, k, n, bias, codes)

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
        """The float weight [N, K] the kernel computes with: (q − 8)·scale + zero per group."""
        n, k, g = self.out_features, self.in_features, self.group
        scale, zero = self.scales_and_zeros.float().permute(1, 0, 2).unbind(-1)  # each [N, K/g]
        q = self.codes.float().reshape(n, k // g, g)
        return ((q - 8) * scale[..., None] + zero[..., None]).reshape(n, k)


def pack_int4(q: Tensor, device: torch.device | str) -> Tensor:
    """int4 codes [N, K] in the layout of the device's kernel."""
    device = torch.device(device)
    if device.type == "cpu":
        # In row chunks (the packed rows are the codes' rows; a test checks it): the packer wants int32 codes,
        # 4 bytes a weight, which for a 262k-row head is a 671 MB temporary at once.
        return torch.cat([torch.ops.aten._convert_weight_to_int4pack_for_cpu(q[i : i + PACK_ROWS].to(torch.int32).cpu(), 1)
                          for i in range(0, q.shape[0], PACK_ROWS)])
    q = q.to(device, torch.int32)
    pairs = (q[:, ::2] << 4 | q[:, 1::2]).to(torch.uint8)  # two codes a byte, high nibble first
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


@dataclass(frozen=True)
class QuantConfig:
    """How a model's linears are quantized on load: int8 rows or int4 groups, and the output head apart."""

    precision: str  # "int8" | "int4"
    group: int = 128  # int4: input columns sharing a scale
    # The output head's own precision: "int8", "int4" or None (float). Measured on the embedded model, whose tied
    # 262k-row head is 63% of its bytes, int4 g128 against f32: top-1 0.671 / mean KL 0.214 with an int8 head,
    # 0.609 / 0.299 with an int4 one, for 74 MB more (README, the quantization table); Q4_K_M keeps it at Q8_0 too.
    head: str | None = "int8"
    search: bool = True  # int4: the least-squares fit (torch_quant_fit), else plain min/max
    # int4: a GGUF's Q4_K tensors taken as they are, as groups of 32 (torch_gguf_int4). (Weighing each column's error
    # by the squared gain of the norm feeding it was tried and measured no better: top-1 0.670 / mean KL 0.238 against
    # 0.671 / 0.214 on the embedded model, g128, Q4_K exact, int8 head; so the fit weighs every column alike.)
    exact: bool = True

    def __post_init__(self) -> None:
        if self.precision not in ("int8", "int4"):
            raise ValueError(f"precision {self.precision!r} is not int8 or int4")
        if self.head not in (None, "int8", "int4"):
            raise ValueError(f"head precision {self.head!r} is not int8, int4 or None (float)")
        if "int4" in (self.precision, self.head) and self.group not in GROUP_SIZES:
            raise ValueError(f"int4 group size must be one of {GROUP_SIZES}, not {self.group}")

    @classmethod
    def of_precision(cls, precision: str, group: int, head: str) -> "QuantConfig | None":
        """The config of an engine precision with a head precision of HEAD_PRECISIONS; None for f32/bf16."""
        if precision not in ("int8", "int4"):
            return None
        return cls(precision, group, None if head == "float" else head)

    def of(self, is_head: bool) -> str | None:
        """The precision of the head or of the other linears."""
        return self.head if is_head else self.precision

    def describe(self) -> str:
        """One line for hello: what the weights are and how they were fitted."""
        fit = "least-squares" if self.search else "min/max"
        rest = f"int4 g{self.group} {fit}" if self.precision == "int4" else "int8 rows"
        exact = ", GGUF Q4_K kept exact (g32)" if self.precision == "int4" and self.exact else ""
        return f"{rest}{exact}; head {self.head or 'float'}"


def quantize_weight(w: Tensor, precision: str, config: QuantConfig) -> QuantWeight | None:
    """A float weight [N, K] fitted to `precision`, or None where int4's kernels do not take its shape."""
    if precision == "int8":
        return fit_int8(w)
    if not int4_fits(w.shape[1], w.shape[0], config.group, w.device):
        return None
    return fit_int4(w, config.group, config.search)


def quantized_linear(w: QuantWeight, bias: Tensor | None, dtype: torch.dtype) -> nn.Module:
    """The Int8Linear or Int4Linear of a fitted weight."""
    return Int8Linear.from_weight(w, bias, dtype) if isinstance(w, Int8Weight) else Int4Linear.from_weight(w, bias, dtype)


def quantize_model(model: nn.Module, config: QuantConfig, dtype: torch.dtype) -> dict:
    """Replace the model's float linears by int8/int4 ones as `config` says, in place; returns counts.

    The embedding gather stays in float: it reads one row a token, so quantizing it saves memory, not time.
    A tied head gets its own quantized copy.
    """
    counts = {"quantized": 0, "kept_float": 0}
    for parent, name, linear, is_head in list(_linears(model)):
        precision = config.of(is_head)
        w = None if precision is None else quantize_weight(linear.weight.detach(), precision, config)
        if w is None:
            counts["kept_float"] += 1
            continue
        setattr(parent, name, quantized_linear(w, _bias(linear, dtype), dtype))
        counts["quantized"] += 1
    if counts["kept_float"]:
        log.info("%d linears kept in float (%s)", counts["kept_float"], config.describe())
    return counts


def _linears(model: nn.Module):
    """(parent, attribute, linear, is the output head) for every nn.Linear."""
    for parent_name, parent in model.named_modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.Linear):
                yield parent, name, child, f"{parent_name}.{name}".lstrip(".") == "output"


def _bias(linear: nn.Linear, dtype: torch.dtype) -> Tensor | None:
    return None if linear.bias is None else linear.bias.detach().to(dtype)


def _finish(y: Tensor, x: Tensor, bias: Tensor | None, out_features: int) -> Tensor:
    if bias is not None:
        y = y + bias
    return y.reshape(*x.shape[:-1], out_features)


def random_quantized(model: nn.Module, config: QuantConfig, device: torch.device | str, dtype: torch.dtype, seed: int = 0) -> nn.Module:
    """Give a meta-device model random quantized linears and a random float rest on `device`, never materialising float weights.

    Benchmarks only: decode speed does not depend on the values. A 70B-shaped model in bf16 would not fit.
    The head gets the precision `config` gives it, as a loaded model's would.
    """
    generator = torch.Generator(device=device).manual_seed(seed)
    group = config.group
    for parent, name, linear, is_head in list(_linears(model)):
        n, k = linear.out_features, linear.in_features
        precision = config.of(is_head)
        if precision is None or (precision == "int4" and not int4_fits(k, n, group, device)):
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
