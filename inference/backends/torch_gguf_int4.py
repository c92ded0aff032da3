"""A GGUF Q4_K tensor read as int4 groups of 32 without a float detour: its codes, scales and mins as they are.

A Q4_K super-block of 256 weights holds f16 d and dmin, eight 6-bit (sc, m) pairs and 256 4-bit codes; weight j
of sub-block s is d·sc[s]·q[j] − dmin·m[s]. That is exactly an asymmetric int4 group of 32 with
scale = d·sc and low = −dmin·m, so the torch engine's int4 layout holds it losslessly up to the dtype its kernel
keeps scales in (f32 on the CPU, bf16 on CUDA). The block layout is gguf.quants.Q4_K's (llama.cpp's block_q4_K).
"""

from __future__ import annotations

import numpy as np
import torch

from inference.backends.torch_quant_fit import Int4Weight

Q4_K_GROUP = 32  # a sub-block
_BLOCK_BYTES = 144  # d (2) + dmin (2) + packed scales (12) + codes (128)
_WEIGHTS_PER_BLOCK = 256


def q4_k_int4(blocks: np.ndarray, rows: int, cols: int) -> Int4Weight:
    """The Int4Weight of a Q4_K tensor's raw bytes (uint8, [rows, cols/256·144] as gguf's reader gives them)."""
    import gguf

    if cols % _WEIGHTS_PER_BLOCK:
        raise ValueError(f"a Q4_K row of {cols} weights is not whole super-blocks")
    b = np.ascontiguousarray(blocks).reshape(-1, _BLOCK_BYTES)
    n_blocks = b.shape[0]
    d = b[:, 0:2].view(np.float16).astype(np.float32)
    dmin = b[:, 2:4].view(np.float16).astype(np.float32)
    sc, m = gguf.quants.Q4_K.get_scale_min(b[:, 4:16])
    # 128 bytes as 4 runs of 32: the low nibbles are sub-block 2i, the high ones sub-block 2i + 1
    qs = b[:, 16:].reshape(n_blocks, 4, 1, 32) >> np.array([0, 4], dtype=np.uint8).reshape(1, 1, 2, 1)
    codes = (qs & np.uint8(0x0F)).reshape(rows, cols)
    # the same f32 products gguf.quants.dequantize forms, so q·scale + low is its value bit for bit
    scale = (d * sc.astype(np.float32)).reshape(rows, cols // Q4_K_GROUP)
    low = -(dmin * m.astype(np.float32)).reshape(rows, cols // Q4_K_GROUP)
    return Int4Weight(torch.from_numpy(codes.copy()), torch.from_numpy(scale), torch.from_numpy(low))
