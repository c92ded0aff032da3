"""int4 fits (min/max and the least-squares search), Q4_K taken exactly, and the GGUF loader quantizing tensor by tensor."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import pytest
import torch

from inference.backends.torch_gguf_int4 import q4_k_int4
from inference.backends.torch_quant import Int4Linear, Int8Linear, QuantConfig, quantize_model
from inference.backends.torch_quant_fit import cat_rows, fit_int4, fit_int8, take_rows
from inference.backends.torch_weights import load_gguf

DIM, FFN, N_HEAD, N_KV, VOCAB = 256, 512, 4, 2, 96  # every K a multiple of 256, so Q4_K rows are whole super-blocks
HEAD_DIM = DIM // N_HEAD


def outlier_weights(n: int, k: int, seed: int = 0) -> torch.Tensor:
    """Gaussian weights with a few large columns, as trained linears have: where min/max wastes its levels."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, k, generator=g) * 0.05
    w[:, torch.randperm(k, generator=g)[: k // 64]] *= 8
    return w


def group_errors(w: torch.Tensor, fit, group: int) -> torch.Tensor:
    return (fit.dequantize() - w).reshape(-1, group).square().sum(1)


@pytest.mark.parametrize("group", [32, 64, 128])
def test_the_search_never_fits_a_group_worse_than_min_max_and_cuts_the_error(group: int) -> None:
    w = outlier_weights(256, 512)
    plain, searched = fit_int4(w, group, search=False), fit_int4(w, group, search=True)
    e_plain, e_search = group_errors(w, plain, group), group_errors(w, searched, group)
    assert bool((e_search <= e_plain * (1 + 1e-5) + 1e-12).all())
    assert e_search.sum() < 0.9 * e_plain.sum()  # measured 0.75-0.85 on the embedded model's weights
    assert int(searched.codes.max()) <= 15 and searched.codes.dtype == torch.uint8


def test_fused_parts_quantize_as_the_fused_weight() -> None:
    a, b = outlier_weights(64, 256, 1), outlier_weights(32, 256, 2)
    fused = fit_int4(torch.cat([a, b]), 64)
    parts = cat_rows([fit_int4(a, 64), fit_int4(b, 64)])
    assert torch.equal(parts.codes, fused.codes) and torch.equal(parts.scale, fused.scale) and torch.equal(parts.low, fused.low)
    order = torch.randperm(96)
    assert torch.equal(take_rows(fused, order).dequantize(), fused.dequantize()[order])
    assert torch.equal(cat_rows([fit_int8(a), fit_int8(b)]).codes, fit_int8(torch.cat([a, b])).codes)
    with pytest.raises(ValueError):
        cat_rows([fit_int4(a, 64), fit_int4(b, 128)])


def random_q4_k(rows: int, cols: int, seed: int) -> np.ndarray:
    """Valid Q4_K bytes [rows, cols/256·144]: random f16 d and dmin, random 6-bit scales and mins, random codes."""
    rng = np.random.default_rng(seed)
    n = rows * cols // 256
    d = rng.uniform(1e-4, 1e-3, (n, 1)).astype(np.float16).view(np.uint8)
    dmin = rng.uniform(1e-4, 1e-3, (n, 1)).astype(np.float16).view(np.uint8)
    rest = rng.integers(0, 256, (n, 140), dtype=np.uint8)
    return np.concatenate([d, dmin, rest], axis=1).reshape(rows, -1)


def test_q4_k_blocks_become_int4_groups_of_32_exactly() -> None:
    blocks = random_q4_k(48, 512, seed=3)
    reference = torch.from_numpy(gguf.quants.dequantize(blocks, gguf.GGMLQuantizationType.Q4_K).reshape(48, 512).copy())
    w = q4_k_int4(blocks, 48, 512)
    assert w.group == 32 and torch.equal(w.dequantize(), reference)  # bit for bit
    linear = Int4Linear.from_weight(w, None, torch.float32)
    # the kernels' (q − 8)·scale + zero in f32: a rounding of the last bit at most
    assert (linear.dequantized() - reference).abs().max() <= 1e-6 * reference.abs().max()
    x = torch.randn(1, 512)
    assert torch.allclose(linear(x), x @ reference.T, rtol=1e-4, atol=1e-5)


def write_gguf(path: Path, tied: bool) -> Path:
    """A tiny Llama GGUF whose ffn and attn_output weights (and attn_q/k, but not attn_v) are Q4_K, the rest F32."""
    rng = np.random.default_rng(11)
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_context_length(256)
    writer.add_embedding_length(DIM)
    writer.add_block_count(2)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_KV)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)

    def f32(*shape: int, scale: float = 0.05) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def q4_k(name: str, rows: int, cols: int) -> None:
        writer.add_tensor(name, random_q4_k(rows, cols, int(rng.integers(1 << 30))), raw_dtype=gguf.GGMLQuantizationType.Q4_K)

    writer.add_tensor("token_embd.weight", f32(VOCAB, DIM, scale=1.0))
    for i in range(2):
        b = f"blk.{i}."
        writer.add_tensor(b + "attn_norm.weight", 1 + f32(DIM))
        q4_k(b + "attn_q.weight", DIM, DIM)
        q4_k(b + "attn_k.weight", N_KV * HEAD_DIM, DIM)
        writer.add_tensor(b + "attn_v.weight", f32(N_KV * HEAD_DIM, DIM))
        q4_k(b + "attn_output.weight", DIM, DIM)
        writer.add_tensor(b + "ffn_norm.weight", 1 + f32(DIM))
        q4_k(b + "ffn_gate.weight", FFN, DIM)
        q4_k(b + "ffn_up.weight", FFN, DIM)
        q4_k(b + "ffn_down.weight", DIM, FFN)
    writer.add_tensor("output_norm.weight", 1 + f32(DIM))
    if not tied:
        writer.add_tensor("output.weight", f32(VOCAB, DIM))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="module")
def q4_k_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_gguf(tmp_path_factory.mktemp("q4k") / "tiny-q4k.gguf", tied=True)


@torch.inference_mode()
def logits(model, tokens: list[int]) -> torch.Tensor:
    model.setup_caches(1, 64)
    return model(torch.tensor([tokens]), torch.arange(len(tokens)))[0]


def test_the_loader_takes_q4_k_as_it_is_and_fits_the_rest(q4_k_gguf: Path) -> None:
    ref = load_gguf(q4_k_gguf, max_seq_len=64)
    model = load_gguf(q4_k_gguf, max_seq_len=64, quant=QuantConfig("int4", 128))
    for layer, ref_layer in zip(model.layers, ref.layers):
        for name in ("attention.wo", "feed_forward.w13", "feed_forward.w2"):
            exact, float_weight = layer.get_submodule(name), ref_layer.get_submodule(name).weight
            assert exact.group == 32, name  # gate and up are both Q4_K, so their fused w13 is exact too
            assert (exact.dequantized() - float_weight).abs().max() <= 1e-6 * float_weight.abs().max(), name
        assert layer.attention.wqkv.group == 128  # attn_v is F32: the fused QKV is fitted at the asked group
    assert isinstance(model.output, Int8Linear) and model.tok_embeddings.weight.dtype == torch.float32
    assert model.output.weight.data_ptr() != model.tok_embeddings.weight.data_ptr()


@pytest.mark.parametrize("config,tied", [(QuantConfig("int4", 64, exact=False), True), (QuantConfig("int4", 32, head="int4", exact=False), False),
                                         (QuantConfig("int8"), True), (QuantConfig("int4", 128, head=None, search=False, exact=False), True)])
def test_fitting_while_reading_gives_the_model_quantized_after_loading(tmp_path: Path, tied: bool, config: QuantConfig) -> None:
    path = write_gguf(tmp_path / "tiny.gguf", tied)
    after = load_gguf(path, max_seq_len=64)
    quantize_model(after, config, torch.float32)
    streamed = load_gguf(path, max_seq_len=64, quant=config)
    assert [type(m) for m in streamed.modules()] == [type(m) for m in after.modules()]
    tokens = [1, 5, 17, 3, 60, 9, 9, 40]
    assert torch.equal(logits(streamed, tokens), logits(after, tokens))  # Q/K row unpermuting and fusing commute with fitting


def test_a_bad_head_precision_is_refused() -> None:
    with pytest.raises(ValueError):
        QuantConfig("int4", 128, head="int2")
    with pytest.raises(ValueError):
        QuantConfig("int4", 100)
    assert QuantConfig.of_precision("bf16", 128, "int8") is None
    assert QuantConfig.of_precision("int4", 64, "float").head is None


@pytest.mark.embedded
@pytest.mark.slow  # opening the embedded GGUF parses its 262k-token vocabulary: 20-50 s on 2 busy cores
def test_the_embedded_models_q4_k_tensors_convert_bit_for_bit(embedded_model: Path) -> None:
    reader = gguf.GGUFReader(str(embedded_model), "r")
    tensors = [t for t in reader.tensors if t.tensor_type == gguf.GGMLQuantizationType.Q4_K][:4]
    assert tensors
    for t in tensors:
        rows, cols = int(t.shape[1]), int(t.shape[0])
        reference = torch.from_numpy(gguf.quants.dequantize(t.data, t.tensor_type).reshape(rows, cols).copy())
        assert torch.equal(q4_k_int4(t.data, rows, cols).dequantize(), reference), t.name


def test_the_backend_says_how_its_int4_weights_were_fitted_and_refuses_an_unknown_head(tmp_path: Path) -> None:
    from inference.backends.base import LoadOptions
    from inference.backends.torch_engine import TorchBackend
    from inference.protocol import BadRequest
    from tests import tiny_torch_models

    path = tiny_torch_models.build(tmp_path, "llama")
    backend = TorchBackend()
    hello = backend.load(path, LoadOptions(n_ctx=64, precision="int4", group_size=32))
    assert hello["weights"] == "int4 g32 least-squares, GGUF Q4_K kept exact (g32); head int8"
    assert isinstance(backend.decoder.model.output, Int8Linear) and isinstance(backend.decoder.model.layers[0].attention.wo, Int4Linear)
    with pytest.raises(BadRequest):
        backend.load(path, LoadOptions(n_ctx=64, precision="int4", head_precision="int2"))
    backend.unload()
