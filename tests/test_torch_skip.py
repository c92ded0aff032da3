"""Layer-skipping self-speculation: greedy output identical to plain decoding, the skip-set search, its storage."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import torch

from inference.backends.base import GenerationStats, RequestContext, SamplingParams
from inference.backends.torch_model import ModelArgs, Transformer, random_weights
from inference.backends.torch_skip import SkipDrafter, TorchTarget
from inference.backends.torch_skip_search import COST_REPEATS, MAX_CHUNK, MIN_CHUNK, SkipChoice, SkipSearch, StepCosts, search_skip_set
from inference.backends.torch_skip_store import MIN_TEXT, PromptSample, SkipSets, load, save
from inference.protocol import Cancelled
from inference.speculative import Controller, speculative_decode

END = 3


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: on a busy 2-core machine torch's CPU attention kernel stalls for ms per call with two."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(arch: str = "llama", seed: int = 0, n_layer: int = 6) -> Transformer:
    """A small random model whose logits are peaked enough that skipping a layer changes some greedy tokens."""
    gemma = arch == "gemma3"
    args = ModelArgs(arch=arch, n_layer=n_layer, dim=64, n_head=4, n_kv_head=2, head_dim=16, ffn_dim=128, vocab_size=97,
                     norm_eps=1e-6, sliding_window=8 if gemma else None, global_every=3 if gemma else None,
                     embed_scale=8.0 if gemma else None, tied_embeddings=gemma, qk_norm=gemma, max_seq_len=256)
    model = random_weights(args, "cpu", torch.float32, seed=seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not name.endswith("norm.weight"):
                p.mul_(8.0)  # std 0.16: far from uniform logits, so agreement is not a coin toss
    model.setup_caches(1, 256, torch.float32, "cpu")
    return model


def plain(model: Transformer, prompt: list[int], n: int) -> list[int]:
    """Greedy decoding one token at a time: the reference every speculative run must equal."""
    target = TorchTarget(model, lambda t: t == END)
    target.prefill(prompt)
    out = []
    while len(out) < n and not target.is_end(cur := target.argmax(-1)):
        out.append(cur)
        target.decode([cur])
    return out


def speculative(model: Transformer, prompt: list[int], n: int, skip: frozenset[int]) -> tuple[list[int], GenerationStats]:
    target = TorchTarget(model, lambda t: t == END)
    target.prefill(prompt)
    stats = GenerationStats(prompt_tokens=len(prompt))
    ids = list(speculative_decode(target, Controller(), prompt, SkipDrafter(target, skip), SamplingParams(max_tokens=n, temperature=0.0),
                                  stats, RequestContext(speculative="skip")))
    return ids, stats


@pytest.mark.parametrize("arch", ["llama", "gemma3"])
@pytest.mark.parametrize("skip", [frozenset({2}), frozenset({1, 3, 4})])
def test_skip_speculation_gives_exactly_the_plain_greedy_tokens(arch: str, skip: frozenset[int]) -> None:
    model = tiny(arch)
    prompt = [1, 17, 42, 5, 60, 8, 21, 33, 9, 70, 11]
    reference = plain(model, prompt, 48)  # past the 8-token window of the gemma3 variant's local layers
    ids, stats = speculative(model, prompt, 48, skip)
    assert ids == reference
    assert stats.drafted_tokens > 0 and 0 <= stats.accepted_tokens <= stats.drafted_tokens


def test_the_drafter_writes_nothing_the_target_reads() -> None:
    model = tiny()
    target = TorchTarget(model, lambda t: t == END)
    target.prefill([1, 17, 42, 5])
    before = target.logits(-1)
    draft = SkipDrafter(target, frozenset({1, 2}))(list(range(5)), 4)
    assert len(draft) <= 4 and target.n_tokens == 4
    target.truncate(3)
    target.decode([5])  # position 3 again, after the drafter wrote positions 4..
    assert torch.allclose(torch.from_numpy(target.logits(-1)), torch.from_numpy(before), atol=1e-5)


def test_search_finds_layers_that_do_nothing() -> None:
    model = tiny(n_layer=6)
    with torch.no_grad():
        for i in (2, 3):  # no output projection: the layer adds nothing to the residual
            model.layers[i].attention.wo.weight.zero_()
            model.layers[i].feed_forward.w2.weight.zero_()
    tokens = [(7 * i + 3) % 97 for i in range(64)]
    choice = search_skip_set(model, tokens, costs=StepCosts(fixed=0.3, per_layer=0.1, n_layer=6))
    assert {2, 3} <= choice.skip and choice.skip <= set(range(1, 5))
    assert choice.alpha == pytest.approx(1.0) if choice.skip == {2, 3} else 0 < choice.alpha <= 1
    assert choice.draft_cost == pytest.approx((0.3 + 0.1 * (6 - len(choice.skip))) / 0.9)
    assert choice.predicted_speedup > 1 and choice.evaluated >= 4


def test_search_of_a_model_where_skipping_never_pays_keeps_no_layer() -> None:
    model = tiny(n_layer=4)
    tokens = [(5 * i + 1) % 97 for i in range(32)]
    # Drafting costs as much as a full step whatever is skipped: no skip set can pay.
    choice = search_skip_set(model, tokens, costs=StepCosts(fixed=1.0, per_layer=0.0, n_layer=4))
    assert choice.skip == frozenset() and choice.predicted_speedup == pytest.approx(1.0)


def test_search_refuses_too_short_a_sample() -> None:
    with pytest.raises(ValueError, match="at least"):
        search_skip_set(tiny(n_layer=4), [1, 2, 3])


def test_skip_sets_are_stored_per_model_and_setting(tmp_path: Path) -> None:
    db = tmp_path / "cache.db"
    choice = SkipChoice(frozenset({3, 5}), 0.61, 0.55, 1.12, 2, 256, 40)
    save(db, "a" * 64, "cpu:float32", choice, "your text (novel.txt)")
    assert load(db, "a" * 64, "cpu:float32", 18) == (choice, "your text (novel.txt)")
    assert load(db, "a" * 64, "cuda:bfloat16", 18) is None and load(db, "b" * 64, "cpu:float32", 18) is None
    assert load(db, "a" * 64, "cpu:float32", 4) is None  # names layer 5 of a 4-layer model: dropped
    assert sqlite3.connect(db).execute("SELECT count(*) FROM skip_sets").fetchone()[0] == 0


def test_a_search_in_steps_leaves_the_live_cache_as_it_was_and_chooses_as_one_batch_would() -> None:
    model = tiny(n_layer=6)
    model(torch.tensor([[5, 9, 11, 2]]), torch.arange(4))  # a live sequence the search must not touch
    live = [(layer.attention.kv_cache.k.clone(), layer.attention.kv_cache.v.clone()) for layer in model.layers]
    tokens = [(7 * i + 3) % 97 for i in range(80)]
    costs = StepCosts(fixed=0.3, per_layer=0.1, n_layer=6)
    search = SkipSearch(model, tokens, costs, chunk=16)
    chosen = search.run()
    whole = SkipSearch(model, tokens, costs, chunk=len(tokens)).run()  # the sample in one forward per set
    timed = SkipSearch(model, tokens, costs)  # chunks sized from each step's time
    assert chosen == whole == timed.run() and MIN_CHUNK <= timed.chunk <= MAX_CHUNK
    for layer, (k, v) in zip(model.layers, live):
        assert torch.equal(layer.attention.kv_cache.k, k) and torch.equal(layer.attention.kv_cache.v, v)
    # one step per 16-token chunk: the full model's reference, then every set tried; and the closing one
    assert len(search.step_seconds) == (1 + chosen.evaluated) * 5 + 1 and search.caches == []


def test_a_search_times_this_devices_costs_in_steps_of_one_forward() -> None:
    search = SkipSearch(tiny(n_layer=4), [(5 * i + 1) % 97 for i in range(32)], chunk=32)
    for _ in range(2 * (COST_REPEATS + 2)):  # per cost figure: the step built, then each timed forward
        assert search.step()
    choice = search.run()
    assert 0 < choice.draft_cost <= 1.0 and choice.evaluated >= 2


def test_the_sample_is_the_newest_prompts_tail_after_one_bos() -> None:
    sample = PromptSample(size=8)
    assert sample.tokens() == []
    sample.add([1, 10, 11, 12])
    assert sample.tokens() == [1, 10, 11, 12]
    sample.add([1, 20, 21, 22, 23])
    sample.add([1, 20, 21, 22, 23])  # sent again: counted once
    assert sample.tokens() == [1, 10, 11, 12, 20, 21, 22, 23]
    sample.add([1, *range(30, 40)])
    assert sample.tokens() == [1, *range(33, 40)]


def prompt_of(n: int, seed: int = 0) -> list[int]:
    return [1, *((seed + 7 * i + 3) % 97 for i in range(n - 1))]


def test_an_idle_search_runs_only_once_wanted_and_with_enough_text_then_is_stored_and_reused(tmp_path: Path) -> None:
    db = tmp_path / "cache.db"
    model = tiny(n_layer=5)
    sets = SkipSets(model, "c" * 64, "cpu:f32", db, sample_tokens=96)
    sets.note_prompt(prompt_of(MIN_TEXT + 40))
    assert not sets.idle_step() and sets.state == "none"  # nobody asked for skipping
    assert sets.choice() is None and sets.state == "pending"
    steps = 0
    while sets.idle_step():
        steps += 1
        assert sets.state == "searching" and (not db.exists() or load(db, "c" * 64, "cpu:f32", 5) is None)
    assert steps > 10 and sets.state == "stored" and sets.status()["skip"] == sorted(sets.stored.skip)
    stored, source = load(db, "c" * 64, "cpu:f32", 5)
    assert stored == sets.stored and source == "your prompts (96 tokens)"
    again = SkipSets(model, "c" * 64, "cpu:f32", db)  # the next worker: read, not searched
    assert again.state == "stored" and again.choice() == stored and not again.idle_step()


def test_too_little_text_waits_for_more(tmp_path: Path) -> None:
    sets = SkipSets(tiny(n_layer=4), "d" * 64, "cpu:f32", tmp_path / "cache.db")
    sets.note_prompt(prompt_of(MIN_TEXT - 10))
    assert sets.choice() is None and not sets.idle_step()
    assert sets.status() == {"state": "pending", "setting": "cpu:f32", "text_tokens": MIN_TEXT - 10, "text_needed": MIN_TEXT}
    sets.note_prompt(prompt_of(30, seed=5))
    assert sets.idle_step() and sets.state == "searching"


def test_an_unfinished_search_stores_nothing_and_a_forced_one_resumes_it(tmp_path: Path) -> None:
    db = tmp_path / "cache.db"
    model = tiny(n_layer=5)
    sets = SkipSets(model, "e" * 64, "cpu:f32", db, sample_tokens=64)
    sets.note_prompt(prompt_of(MIN_TEXT))
    sets.choice()
    for _ in range(5):
        assert sets.idle_step()
    assert load(db, "e" * 64, "cpu:f32", 5) is None  # dropped here (a shutdown), nothing was kept
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        sets.search_now(cancel)  # a forced request cancelled: one more step, then it stops
    assert sets.state == "searching" and sets.search.step_seconds and len(sets.search.step_seconds) == 6
    assert sets.search_now(None) == sets.stored and load(db, "e" * 64, "cpu:f32", 5)[0] == sets.stored


def test_a_search_that_fails_turns_skipping_off_and_is_not_retried(tmp_path: Path) -> None:
    sets = SkipSets(tiny(n_layer=4), "f" * 64, "cpu:f32", tmp_path / "cache.db")
    sets.note_prompt(prompt_of(MIN_TEXT))
    sets.choice()
    sets.model = None  # the search cannot even start: a broken model
    assert not sets.idle_step() and sets.state == "failed" and not sets.idle_step()


@pytest.mark.embedded
def test_skip_speculation_on_the_embedded_model_equals_plain_greedy(embedded_model: Path) -> None:
    from inference.backends.torch_weights import load_gguf

    model = load_gguf(embedded_model, torch.float32, "cpu", max_seq_len=1024)
    model.setup_caches(1, 1024, torch.float32, "cpu")
    prompt = [2, 818, 5279, 529, 506, 5430, 659, 711, 3282, 236764, 532, 506, 10728, 100440]  # "The history of the lighthouse ..."
    skip = frozenset({4, 8, 12})  # the search itself is tested on the tiny models; here the arithmetic of the real one
    ids, stats = speculative(model, prompt, 16, skip)
    assert ids == plain(model, prompt, 16) and stats.drafted_tokens > 0


def test_skip_speculation_continues_the_engines_decoder_and_keeps_its_cache_true() -> None:
    from inference.backends.torch_decode import Decoder
    from inference.backends.torch_skip import SkipSpeculation

    model = tiny("gemma3")
    decoder = Decoder(model, 256, torch.float32, use_graph=False)
    prompt = [1, 17, 42, 5, 60, 8, 21, 33, 9, 70, 11]
    logits, _ = decoder.prefill(prompt)
    reference = [int(logits.argmax())]
    while len(reference) < 40:
        reference.append(int(decoder.step(reference[-1]).argmax()))
    reference = reference[: next((i for i, t in enumerate(reference) if t == END), 40)]
    decoder.reset()
    logits, _ = decoder.prefill(prompt)
    spec = SkipSpeculation(model, lambda t: t == END, 256)
    spec.adopt_skip(frozenset({2, 4}))
    stats = GenerationStats(prompt_tokens=len(prompt))
    ids = list(spec.generate(decoder.tokens, logits, SamplingParams(max_tokens=40, temperature=0.0), stats, RequestContext(speculative="skip")))
    assert ids == reference and stats.drafted_tokens > 0
    assert decoder.tokens == (prompt + ids)[: len(decoder.tokens)] and len(decoder.tokens) >= len(prompt) + len(ids) - 1
