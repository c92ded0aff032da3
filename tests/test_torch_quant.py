"""The torch engine's weight-only int8/int4 linears and its sampler, on the CPU, with small random tensors."""

from __future__ import annotations

import threading

import pytest
import torch

from inference.backends.base import SamplingParams
from inference.backends.torch_model import ModelArgs, random_weights
from inference.backends.torch_quant import Int4Linear, Int8Linear, QuantConfig, quantize_model
from inference.backends.torch_sampling import Sampler, penalise


@pytest.fixture
def linear() -> torch.nn.Linear:
    torch.manual_seed(0)
    return torch.nn.Linear(256, 512, bias=True)


@pytest.mark.parametrize("rows", [1, 5])  # one row runs aten's kernel on the CPU, more the dequantized matmul
def test_int8_matches_its_dequantized_weight(linear: torch.nn.Linear, rows: int) -> None:
    q = Int8Linear.quantize(linear, torch.float32)
    x = torch.randn(rows, 256)
    dequantized = q.weight.float() * q.scales[:, None]
    assert torch.allclose(q(x), x @ dequantized.T + linear.bias, atol=1e-4)
    assert (q(x) - linear(x)).abs().max() < 0.05  # and int8 is close to the float weight


@pytest.mark.parametrize("rows", [1, 5])
@pytest.mark.parametrize("group", [32, 64, 128])
def test_int4_kernel_matches_its_dequantized_weight(linear: torch.nn.Linear, rows: int, group: int) -> None:
    q = Int4Linear.quantize(linear, group, torch.float32, search=False)
    assert int(q.codes.min()) >= 0 and int(q.codes.max()) <= 15
    x = torch.randn(rows, 256)
    assert torch.allclose(q(x), x @ q.dequantized().T + linear.bias, atol=1e-4)
    # min/max: every weight within half a step of its group's 15 steps
    step = (linear.weight.max() - linear.weight.min()) / 15
    assert (q.dequantized() - linear.weight).abs().max() <= step / 2 * (1 + 1e-4)


def test_quantize_model_keeps_the_embedding_float_and_can_spare_the_head() -> None:
    args = ModelArgs(arch="llama", n_layer=2, dim=128, n_head=4, n_kv_head=2, head_dim=32, ffn_dim=256, vocab_size=320,
                     tied_embeddings=True)
    model = random_weights(args, "cpu", torch.float32, seed=3)
    counts = quantize_model(model, QuantConfig("int4", 32, head=None), torch.float32)
    assert counts == {"quantized": 8, "kept_float": 1}
    assert isinstance(model.output, torch.nn.Linear) and model.tok_embeddings.weight.dtype == torch.float32
    assert quantize_model(model, QuantConfig("int8"), torch.float32)["quantized"] == 1  # only the head was left
    assert isinstance(model.output, Int8Linear)


def test_an_int4_model_keeps_its_head_in_int8_unless_told() -> None:
    args = ModelArgs(arch="llama", n_layer=1, dim=128, n_head=4, n_kv_head=2, head_dim=32, ffn_dim=256, vocab_size=320)
    model = random_weights(args, "cpu", torch.float32, seed=3)
    quantize_model(model, QuantConfig("int4", 32), torch.float32)
    assert isinstance(model.output, Int8Linear) and isinstance(model.layers[0].attention.wo, Int4Linear)
    all_int4 = random_weights(args, "cpu", torch.float32, seed=3)
    quantize_model(all_int4, QuantConfig("int4", 32, head="int4"), torch.float32)
    assert isinstance(all_int4.output, Int4Linear)


def test_greedy_is_argmax_and_ignores_penalties() -> None:
    logits = torch.tensor([0.0, 3.0, 1.0, 2.9])
    assert Sampler(SamplingParams(temperature=0, repeat_penalty=2.0))(logits, [1, 1, 1]) == 1


def test_sampling_is_seeded_and_respects_top_k() -> None:
    torch.manual_seed(1)
    logits = torch.randn(1000)
    params = SamplingParams(temperature=1.5, top_k=3, top_p=1.0, min_p=0.0, repeat_penalty=1.0, seed=42)
    draws = [Sampler(params)(logits, []) for _ in range(3)]
    assert len(set(draws)) == 1  # the same seed draws the same token
    top3 = set(torch.topk(logits, 3).indices.tolist())
    sampler = Sampler(params)
    assert {sampler(logits, []) for _ in range(200)} <= top3


def test_top_p_and_min_p_cut_the_tail() -> None:
    logits = torch.log(torch.tensor([0.6, 0.3, 0.05, 0.05]))
    nucleus = Sampler(SamplingParams(temperature=1.0, top_k=0, top_p=0.8, min_p=0.0, repeat_penalty=1.0, seed=0))
    assert {nucleus(logits, []) for _ in range(300)} == {0, 1}
    floor = Sampler(SamplingParams(temperature=1.0, top_k=0, top_p=1.0, min_p=0.6, repeat_penalty=1.0, seed=0))
    assert {floor(logits, []) for _ in range(300)} == {0}


def test_repeat_penalty_is_llama_cpps() -> None:
    out = penalise(torch.tensor([2.0, -2.0, 2.0]), [0, 1], 2.0)
    assert out.tolist() == [1.0, -4.0, 2.0]


def test_a_cancel_stops_the_torch_backend_between_tokens(tmp_path) -> None:
    from inference.backends.base import GenerationStats, LoadOptions, RequestContext
    from inference.backends.torch_engine import TorchBackend
    from inference.protocol import Cancelled
    from tests import tiny_torch_models

    backend = TorchBackend()
    backend.load(tiny_torch_models.build(tmp_path, "llama"), LoadOptions(n_ctx=256))
    cancel = threading.Event()
    stream = backend.generate(backend.tokenize("The river"), SamplingParams(max_tokens=50, temperature=0), GenerationStats(),
                              RequestContext(cancel=cancel))
    next(stream)
    cancel.set()
    with pytest.raises(Cancelled):
        list(stream)
    backend.unload()
