"""The torch engine on the CPU: the embedded model's logits against llama.cpp's all-F32 run, Llama-family models
against llama.cpp, int8/int4 against the engine's own f32, greedy text through the worker, and the GPU paths.

The embedded model is loaded once per module (about 12 s to dequantize on 2 threads) and shared.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from inference.backends import llama_adapter as adapter
from inference.backends.base import GenerationStats, LoadOptions, SamplingParams
from inference.backends.torch_agreement import compare_full, kl_vs_summary, summarise, top_k_summary
from inference.backends.torch_engine import TorchBackend
from inference.backends.torch_model import FeedForward, ModelArgs, Transformer, random_weights
from inference.backends.torch_quant import QuantConfig
from inference.backends.torch_weights import load_gguf
from inference.client import WorkerClient
from inference.protocol import Done, Token
from tests import tiny_torch_models
from tests.make_torch_golden import FIXTURE
from tests.tiny_model import CORPUS

log = logging.getLogger(__name__)
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (bf16 weights, CUDA graphs, tinygemm int4)")
# Two logits the reference itself puts closer than this are a tie: f32 forwards that sum in another order
# differ by up to ~3e-2 here (measured), so which of two tied tokens comes first is noise, not a bug.
TIE = 0.01
GGML_F32 = 0


@pytest.fixture(scope="module")
def golden() -> dict[str, torch.Tensor]:
    """llama.cpp's logits of the all-F32 embedded model (see tests/make_torch_golden.py), as top-20 per position."""
    return {k: torch.from_numpy(v) for k, v in np.load(FIXTURE).items()}


@pytest.fixture(scope="module")
def embedded_f32(embedded_model: Path) -> Transformer:
    """The embedded model in f32 on the CPU, loaded once for every test here."""
    model = load_gguf(embedded_model, torch.float32, "cpu", max_seq_len=1024).eval()
    model.setup_caches(1, 1024)
    return model


@pytest.fixture(scope="module")
def f32_logits(embedded_f32: Transformer, golden: dict) -> torch.Tensor:
    """The engine's own f32 logits over the golden tokens [N, V] (0.8 GB; shared by the quantized checks)."""
    return forward_all(embedded_f32, golden["tokens"].tolist())


@torch.inference_mode()
def forward_all(model: Transformer, tokens: list[int]) -> torch.Tensor:
    """Logits at every position of one prefill over `tokens`, f32 [N, V]."""
    return model(torch.tensor([tokens]), torch.arange(len(tokens)))[0]


# -- the embedded model against llama.cpp ----------------------------------------------------------
@pytest.mark.embedded
def test_embedded_f32_matches_llama_cpp_all_f32(golden: dict, f32_logits: torch.Tensor) -> None:
    ids, ref, lse = golden["ids"], golden["logits"], golden["lse"]
    assert len(golden["tokens"]) > 512  # past the sliding window, or it is never tested
    kl = kl_vs_summary(ids, ref, lse, f32_logits)
    found = summarise(ids[:, 0], f32_logits, kl)
    log.warning("embedded f32 vs llama.cpp all-F32: %s", found.line())
    chosen = f32_logits.argmax(-1)
    chosen_ref_logit = torch.where(ids == chosen[:, None], ref, torch.tensor(float("-inf"))).amax(1)
    # top-1 agrees everywhere up to the reference's own ties (a token within TIE of its top logit)
    assert bool((chosen_ref_logit >= ref[:, 0] - TIE).all()), f"top-1 differs beyond ties: {found.line()}"
    assert found.kl_mean <= 1e-6 and found.kl_p99 <= 1e-5
    assert (f32_logits.gather(1, ids.long()) - ref).abs().max().item() <= 0.1


def ggml_gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """GELU as llama.cpp's CPU build computes it (GGML_GELU_FP16): the input rounded to f16 and looked up in a table
    of f16 results, exact outside [-10, 10]. Test-only: the engine computes GELU in f32, which is the better value."""
    y = F.gelu(x.half().float(), approximate="tanh").half().float()
    return torch.where(x <= -10, torch.zeros_like(x), torch.where(x >= 10, x, y))


@pytest.mark.embedded
def test_embedded_f32_with_llama_cpps_f16_gelu_table_agrees_on_every_top_1(golden: dict, embedded_f32: Transformer,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the engine and llama.cpp part: with ggml's f16 GELU table reproduced, the one top-1 the test above counts as a
    tie (9.5e-5 apart in llama.cpp's logits) agrees too, and the KL halves (measured: 800/800, 1.96e-7 against 3.47e-7)."""
    def forward(self: FeedForward, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.w13(x).chunk(2, dim=-1)
        return self.w2(ggml_gelu_tanh(gate) * up)

    monkeypatch.setattr(FeedForward, "forward", forward)
    ids, ref, lse = golden["ids"], golden["logits"], golden["lse"]
    logits = forward_all(embedded_f32, golden["tokens"].tolist())
    found = summarise(ids[:, 0], logits, kl_vs_summary(ids, ref, lse, logits))
    log.warning("embedded f32, ggml's GELU table, vs llama.cpp all-F32: %s", found.line())
    assert found.top1 == 1.0 and found.kl_mean <= 3e-7


# -- the Llama family against llama.cpp --------------------------------------------------------------
@pytest.mark.parametrize("arch", tiny_torch_models.ARCHS)
def test_llama_family_matches_llama_cpp(tmp_path: Path, arch: str) -> None:
    path = tiny_torch_models.build(tmp_path, arch)
    llm = adapter.open_llama(path, n_ctx=512, n_batch=512, n_ubatch=512, logits_all=True, flash_attn=False, type_k=GGML_F32, type_v=GGML_F32)
    tokens = llm.tokenize(CORPUS.encode("utf-8"), add_bos=True)[:300]
    llm.eval(tokens)
    reference = torch.from_numpy(np.array(adapter.all_logits(llm, len(tokens))))
    llm.close()
    model = load_gguf(path)
    model.setup_caches(1, 512)
    found = compare_full(reference, forward_all(model, tokens))
    log.warning("tiny %s vs llama.cpp: %s", arch, found.line())
    assert found.top1 == 1.0 and found.kl_mean <= 1e-6


# -- int8 / int4 against the engine's own f32 ------------------------------------------------------------
# Bounds from what was measured here over these 800 tokens (python -m tests.measure_torch_quant; the README's table),
# with margin: int8 top-1 0.945 / mean KL 0.0053; int4 g128 0.671 / 0.214 and g32 0.778 / 0.100 (least-squares
# fit, Q4_K exact, int8 head; plain min/max with an int4 head was 0.565 / 0.394). Gemma 3 270M is small and its
# norm gains large (up to 300): int4 costs it much, int8 little.
QUANT_CASES = [  # the load's QuantConfig, min top-1, max mean KL
    (QuantConfig("int8"), 0.93, 0.007),
    (QuantConfig("int4", 128), 0.64, 0.25),  # the engine's int4 default
    (QuantConfig("int4", 32), 0.75, 0.12),
]


@pytest.mark.embedded
@pytest.mark.slow  # 1-4 min each on 2 cores at load 5-8 (a load fitting every tensor, an 800-token prefill through the 262k-row head)
@pytest.mark.parametrize("config,min_top1,max_kl", QUANT_CASES, ids=lambda c: c.describe() if isinstance(c, QuantConfig) else str(c))
def test_quantized_agrees_with_f32(embedded_model: Path, golden: dict, f32_logits: torch.Tensor,
                                   config: QuantConfig, min_top1: float, max_kl: float) -> None:
    ref = top_k_summary(f32_logits, 20)
    model = load_gguf(embedded_model, torch.float32, "cpu", max_seq_len=1024, quant=config).eval()
    model.setup_caches(1, 1024)
    logits = forward_all(model, golden["tokens"].tolist())
    found = summarise(ref["ids"][:, 0], logits, kl_vs_summary(ref["ids"], ref["logits"], ref["lse"], logits))
    log.warning("%s vs f32: %s", config.describe(), found.line())
    assert found.top1 >= min_top1 and found.kl_mean <= max_kl


@pytest.mark.embedded
@pytest.mark.slow  # rebuilds the 1.08 GB all-F32 copy (about 15 s) and loads it in llama.cpp
def test_embedded_greedy_equals_llama_cpp_greedy_on_the_f32_copy(embedded_model: Path, embedded_f32: Transformer, tmp_path: Path) -> None:
    from inference.backends.torch_decode import Decoder
    from inference.compress.reference import rebuild_reference

    f32 = rebuild_reference(embedded_model, tmp_path / "embedded-f32.gguf", "F32")
    llm = adapter.open_llama(f32, n_ctx=512, flash_attn=False, type_k=GGML_F32, type_v=GGML_F32)
    prompt = llm.tokenize(b"The scriptorium was a quiet room at the top of the abbey, where", add_bos=True)
    expected = []
    for token in llm.generate(prompt, temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
        if adapter.is_eog(llm, token) or len(expected) == 32:
            break
        expected.append(token)
    llm.close()
    decoder = Decoder(embedded_f32, 512, torch.float32, use_graph=False)
    logits, _ = decoder.prefill(prompt)
    ours = []
    while len(ours) < len(expected):
        ours.append(int(logits.argmax()))
        logits = decoder.step(ours[-1])
    embedded_f32.setup_caches(1, 1024)  # as the module's other tests expect it
    assert ours == expected


# -- decoding ------------------------------------------------------------------------------------------------
def test_skipped_layers_pass_the_residual_and_write_no_kv() -> None:
    args = ModelArgs(arch="llama", n_layer=3, dim=64, n_head=4, n_kv_head=2, head_dim=16, ffn_dim=128, vocab_size=100)
    model = random_weights(args, "cpu", torch.float32, seed=1)
    model.setup_caches(1, 32)
    with torch.inference_mode():
        full = model(torch.tensor([[1, 2, 3]]), torch.arange(3))
        skipped = model(torch.tensor([[1, 2, 3]]), torch.arange(3), skip=frozenset({1}))
        kv = model.layers[1].attention.kv_cache
        kv.k.fill_(7.0)
        model(torch.tensor([[4]]), torch.tensor([3]), skip=frozenset({1}))
    assert not torch.allclose(full, skipped)
    assert bool((kv.k == 7.0).all())


def test_cached_decode_equals_one_prefill() -> None:
    args = ModelArgs(arch="gemma3", n_layer=6, dim=64, n_head=2, n_kv_head=1, head_dim=32, ffn_dim=128, vocab_size=100,
                     norm_eps=1e-6, sliding_window=4, global_every=6, embed_scale=8.0, tied_embeddings=True, qk_norm=True)
    model = random_weights(args, "cpu", torch.float32, seed=2)
    model.setup_caches(1, 32)
    tokens = list(range(3, 15))  # 12 tokens: three times the window
    whole = forward_all(model, tokens)
    with torch.inference_mode():
        model(torch.tensor([tokens[:5]]), torch.arange(5))
        steps = [model(torch.tensor([[t]]), torch.tensor([5 + i]))[0, -1] for i, t in enumerate(tokens[5:])]
    assert torch.allclose(torch.stack(steps), whole[5:], atol=1e-4)


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_torch_models.build(tmp_path_factory.mktemp("tiny-torch"), "llama")


def greedy_ids(backend, text: str, n: int) -> list[int]:
    return list(backend.generate(backend.tokenize(text), SamplingParams(max_tokens=n, temperature=0), GenerationStats()))


def test_torch_greedy_equals_llama_cpp_greedy(tiny_llama: Path) -> None:
    torch_backend = TorchBackend()
    torch_backend.load(tiny_llama, LoadOptions(n_ctx=256))
    llm = adapter.open_llama(tiny_llama, n_ctx=256, type_k=GGML_F32, type_v=GGML_F32)
    prompt = llm.tokenize(b"The scriptorium was a quiet room", add_bos=True)
    expected = []
    for token in llm.generate(prompt, temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
        if adapter.is_eog(llm, token) or len(expected) == 24:
            break
        expected.append(token)
    assert greedy_ids(torch_backend, "The scriptorium was a quiet room", 24)[: len(expected)] == expected
    torch_backend.unload()


def test_worker_greedy_text_equals_the_engines_own(tiny_llama: Path, home: Path) -> None:
    backend = TorchBackend()
    backend.load(tiny_llama, LoadOptions(n_ctx=256))
    own = b"".join(backend.token_bytes(t) for t in greedy_ids(backend, "Once upon a time", 20)).decode("utf-8", "replace")
    backend.unload()
    with WorkerClient(home=home, backend="torch") as client:
        hello = client.call("load_model", model=str(tiny_llama), n_ctx=256, timeout=120)
        assert hello["engine"] == "torch" and hello["precision"] == "f32" and hello["device"] == "cpu"
        rid = client.send("generate", raw_prompt="Once upon a time", max_tokens=20, temperature=0, speculative="off")
        events = list(client.events(rid, timeout=120))
    done = events[-1]
    assert isinstance(done, Done), done
    streamed = "".join(e.text for e in events if isinstance(e, Token))
    assert streamed == done.result["output"] == own
    assert done.result["stats"]["prompt_tokens"] > 0 and done.result["stats"]["generated_tokens"] > 0


def test_a_second_prompt_reuses_the_aligned_prefix_and_gives_the_same_tokens(tiny_llama: Path) -> None:
    from inference.backends.torch_decode import CHUNK

    backend = TorchBackend()
    backend.load(tiny_llama, LoadOptions(n_ctx=1024))
    prompt = backend.tokenize(CORPUS)[:600]
    assert len(prompt) > 2 * CHUNK
    fresh = list(backend.generate(prompt, SamplingParams(max_tokens=8, temperature=0), GenerationStats()))
    stats = GenerationStats()
    again = list(backend.generate(prompt, SamplingParams(max_tokens=8, temperature=0), stats))
    assert again == fresh and stats.tokens_reused == (len(prompt) - 1) // CHUNK * CHUNK
    backend.unload()


def test_mode_skip_uses_the_stored_skip_set_and_gives_the_plain_greedy_tokens(tiny_llama: Path, tmp_path: Path) -> None:
    from inference.backends.base import RequestContext
    from inference.backends.torch_skip_search import SkipChoice
    from inference.backends.torch_skip_store import save

    backend = TorchBackend()
    backend.load(tiny_llama, LoadOptions(n_ctx=256))
    plain = greedy_ids(backend, "Once upon a time", 16)
    db = tmp_path / "cache.db"
    last = backend.decoder.model.args.n_layer - 1
    save(db, "sha-of-tiny", "cpu:f32", SkipChoice(frozenset({last}), 0.9, 0.5, 1.5, 2, 64, 1), "test")
    backend.attach_cache(db, "sha-of-tiny")
    stats = GenerationStats()
    ids = list(backend.generate(backend.tokenize("Once upon a time"), SamplingParams(max_tokens=16, temperature=0), stats,
                                RequestContext(speculative="skip")))
    assert ids == plain  # the stored set was used (no search ran: it would have replaced the row) and changed nothing
    assert stats.speculative.startswith("skip")
    assert backend._skip.drafter.skip == frozenset({last})
    # auto on a CPU never starts drafting by skipping: the search costs minutes there
    auto = GenerationStats()
    assert greedy_ids(backend, "Once upon a time", 16) == plain
    list(backend.generate(backend.tokenize("Once upon a time"), SamplingParams(max_tokens=4, temperature=0), auto))
    assert not auto.speculative.startswith("skip")
    backend.unload()


def test_auto_decodes_plainly_searches_when_idle_and_keeps_the_prefix_through_the_search(tiny_llama: Path, tmp_path: Path) -> None:
    from inference.backends.base import RequestContext
    from inference.backends.torch_decode import CHUNK
    from inference.backends.torch_skip_store import load

    backend = TorchBackend(skip_auto_devices=("cpu",))  # as on a GPU: auto would draft by skipping here
    backend.load(tiny_llama, LoadOptions(n_ctx=1024))
    db = tmp_path / "cache.db"
    backend.attach_cache(db, "sha-of-tiny")
    prompt = backend.tokenize(CORPUS)[:300]

    def answer(mode: str) -> tuple[list[int], GenerationStats]:
        stats = GenerationStats()
        ids = list(backend.generate(prompt, SamplingParams(max_tokens=12, temperature=0), stats, RequestContext(speculative=mode)))
        return ids, stats

    plain, _ = answer("off")
    first, stats = answer("auto")  # no stored set: plain decoding at once, the search wanted
    assert first == plain and stats.extra["skip_set"] == "pending" and stats.speculative == "off"
    for _ in range(3):
        assert backend.idle_step()
    assert backend.cache_stats()["skip_set"]["state"] == "searching"
    mid, stats = answer("auto")  # a request between two steps: same tokens, and the search left the live prefix alone
    assert mid == plain and stats.tokens_reused == CHUNK and stats.extra["skip_set"] == "searching"
    while backend.idle_step():
        pass
    status = backend.cache_stats()["skip_set"]
    assert status["state"] == "stored" and load(db, "sha-of-tiny", "cpu:f32", 3)[0].skip == frozenset(status["skip"])
    after, stats = answer("auto")
    assert after == plain and stats.extra["skip_set"] == "stored" and stats.extra["skip_layers"] == len(status["skip"])
    backend.unload()


def test_forced_skip_searches_once_and_the_next_worker_reads_the_stored_set(tiny_llama: Path, home: Path) -> None:
    text = CORPUS[:500]
    results = []
    for _ in range(2):  # two workers, one after the other, on the same data directory
        with WorkerClient(home=home, backend="torch") as client:
            client.call("load_model", model=str(tiny_llama), n_ctx=512, timeout=120)
            off = client.call("generate", raw_prompt=text, max_tokens=10, temperature=0, speculative="off", timeout=120)
            skip = client.call("generate", raw_prompt=text, max_tokens=10, temperature=0, speculative="skip", timeout=120)
            results.append((off, skip, client.call("cache_stats", timeout=60)))
    (off1, skip1, stats1), (off2, skip2, stats2) = results
    assert skip1["output"] == off1["output"] == skip2["output"] == off2["output"]
    assert skip1["stats"]["skip_set"] == "stored" and skip1["stats"]["skip_search_s"] >= 0  # the first waited for it
    assert skip2["stats"]["skip_set"] == "stored" and "skip_search_s" not in skip2["stats"]  # the second read it
    assert stats1["skip_set"]["state"] == stats2["skip_set"]["state"] == "stored"
    assert stats1["skip_set"]["skip"] == stats2["skip_set"]["skip"]


# -- GPU paths (skipped without CUDA) ---------------------------------------------------------------------
@cuda
def test_cuda_graph_decode_equals_eager_decode(tiny_llama: Path) -> None:
    from inference.backends.torch_decode import DecodeGraph

    model = load_gguf(tiny_llama, torch.bfloat16, "cuda")
    model.setup_caches(1, 128, torch.bfloat16, "cuda")
    graph = DecodeGraph(model)
    with torch.inference_mode():
        model(torch.tensor([[1, 5, 9]], device="cuda"), torch.arange(3, device="cuda"))
        eager = model(torch.tensor([[11]], device="cuda"), torch.tensor([3], device="cuda"))[0, -1].clone()
        replayed = graph(11, 3).clone()
    assert torch.equal(eager, replayed)


@cuda
@pytest.mark.parametrize("precision", ["bf16", "int8", "int4"])
def test_cuda_precisions_agree_with_cpu_f32(tiny_llama: Path, precision: str) -> None:
    tokens = list(range(5, 105))
    cpu = load_gguf(tiny_llama)
    cpu.setup_caches(1, 128)
    reference = forward_all(cpu, tokens)
    model = load_gguf(tiny_llama, torch.bfloat16, "cuda", quant=QuantConfig.of_precision(precision, 32, "int8"))
    model.setup_caches(1, 128, torch.bfloat16, "cuda")
    with torch.inference_mode():
        logits = model(torch.tensor([tokens], device="cuda"), torch.arange(len(tokens), device="cuda"))[0].cpu()
    found = compare_full(reference, logits)
    log.warning("tiny llama %s on CUDA vs CPU f32: %s", precision, found.line())
    assert found.top1 >= 0.9
