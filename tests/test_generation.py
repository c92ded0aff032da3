"""Generation through the real llama.cpp path: the worker never changes the text bare llama-cpp-python gives."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
from pathlib import Path

import pytest

from app.store import create_document, get_document, open_db
from inference.backends.llama_adapter import is_eog, open_llama
from inference.client import WorkerClient
from inference.protocol import Done, Error, ErrorCode, Token

PROMPT = "The lighthouse keeper climbed the stairs"


def bare_greedy(model: Path, prompt: str, n: int) -> str:
    """Greedy tokens straight from llama-cpp-python, stopping at end of sequence like any front end."""
    llm = open_llama(model, n_ctx=2048)
    ids = llm.tokenize(prompt.encode(), add_bos=True, special=True)
    out = []
    for token in llm.generate(ids, temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
        if is_eog(llm, token) or len(out) == n:
            break
        out.append(token)
    text = llm.detokenize(out).decode("utf-8", "replace")
    llm.close()
    return text


def worker_greedy(client: WorkerClient, prompt: str, n: int, task: str | None = None) -> tuple[str, dict]:
    """Greedy text through the worker: the raw prompt, as bare llama-cpp-python gets it, or the prompt as a task's text."""
    request = {"task": task, "text": prompt} if task else {"raw_prompt": prompt}
    tokens, done = [], None
    for event in client.events(client.send("generate", **request, max_tokens=n, temperature=0, speculative="off"), timeout=120):
        if isinstance(event, Token):
            tokens.append(event.text)
        elif isinstance(event, Error):
            pytest.fail(f"{event.code}: {event.message}")
        else:
            done = event
    assert isinstance(done, Done)
    assert "".join(tokens) == done.result["output"]
    return done.result["output"], done.result["stats"] | {"stop_reason": done.result["stop_reason"]}


def test_tiny_model_worker_equals_bare(home: Path, tiny_model: Path) -> None:
    with WorkerClient(home=home) as client:
        client.call("load_model", model=str(tiny_model), n_ctx=2048, timeout=60)
        for prompt in ("Once upon a time", "春眠不觉晓"):
            output, stats = worker_greedy(client, prompt, 24)
            assert output == bare_greedy(tiny_model, prompt, 24)


def test_tiny_chat_model_uses_its_template(home: Path, tiny_chat_model: Path) -> None:
    with WorkerClient(home=home) as client:
        client.call("load_model", model=str(tiny_chat_model), timeout=60)
        result = client.call("generate", task="proofread", text="Their going.", max_tokens=8, temperature=0, timeout=60)
    assert result["prompt"].startswith("<start_of_turn>user") and "Their going." in result["prompt"]


@pytest.mark.embedded
def test_embedded_worker_equals_bare_token_for_token(home: Path, embedded_model: Path) -> None:
    with WorkerClient(home=home) as client:
        client.call("load_model", model=str(embedded_model), n_ctx=2048, timeout=120)
        output, stats = worker_greedy(client, PROMPT, 40)
        continued, guarded = worker_greedy(client, PROMPT, 40, task="continue")
    bare = bare_greedy(embedded_model, PROMPT, 40)
    assert output == bare
    assert stats["generated_tokens"] == 40 and stats["tokens_per_s"] > 0 and stats["ttft_ms"] > 0
    # As a task, the loop greedy decoding falls into here is cut after its first round: the same text, shorter.
    assert bare.startswith(continued) and guarded["stop_reason"] in ("repetition", "length")


@pytest.mark.embedded
def test_embedded_cancel_mid_stream_stops_promptly(home: Path, embedded_model: Path) -> None:
    with WorkerClient(home=home) as client:
        client.call("load_model", model=str(embedded_model), n_ctx=2048, timeout=120)
        events = client.events(client.send("generate", task="continue", text=PROMPT, max_tokens=500, temperature=0.8, seed=1), timeout=60)
        seen = 0
        for event in events:
            seen += isinstance(event, Token)
            if seen == 5:
                client.cancel(event.id)
                break
        after = list(events)
        assert isinstance(after[-1], Error) and after[-1].code == ErrorCode.CANCELLED
        # tokens already in flight may still arrive, but generation stops at the next token boundary
        assert sum(isinstance(e, Token) for e in after) <= 5  # events are at most 20 ms apart: ~100 ms of slack
        assert client.call("hello", timeout=30)["model"]  # the worker serves on


@pytest.mark.embedded
def test_killing_the_worker_mid_generation_leaves_the_database_intact(home: Path, embedded_model: Path) -> None:
    db = open_db(home)
    doc = create_document(db, "Keeper", PROMPT)
    with WorkerClient(home=home) as client:
        client.call("load_model", model=str(embedded_model), n_ctx=2048, timeout=120)
        events = client.events(client.send("generate", task="continue", text=doc.body, max_tokens=500, doc_key=f"doc:{doc.id}"), timeout=60)
        assert isinstance(next(events), Token)
        os.kill(client.pid, signal.SIGKILL)
        last = list(events)[-1]
    assert isinstance(last, Error) and last.code == ErrorCode.WORKER_DIED and "text is safe" in last.message
    assert get_document(open_db(home), doc.id).body == PROMPT
    assert sqlite3.connect(home / "scriptorium.db").execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.embedded
def test_cancel_interrupts_a_long_prefill_and_the_model_stays_usable(embedded_model: Path) -> None:
    from inference.backends.base import GenerationStats, LoadOptions, RequestContext, SamplingParams
    from inference.backends.llama_cpp import LlamaCppBackend
    from inference.bench.texts import sample_text
    from inference.protocol import Cancelled

    backend = LlamaCppBackend()
    backend.load(embedded_model, LoadOptions(n_ctx=4096))
    try:
        prompt = backend.tokenize(sample_text())[:3000]  # 24 batches of prefill
        cancel = CancelAfterPolls(3000)  # llama.cpp polls between graph nodes: this lands a few batches in
        with pytest.raises(Cancelled):
            list(backend.generate(prompt, SamplingParams(max_tokens=4, temperature=0), GenerationStats(), RequestContext(cancel=cancel)))
        assert backend.session.n_tokens < len(prompt) - 128  # it stopped while reading, not after
        short = prompt[:200]
        after = list(backend.generate(short, SamplingParams(max_tokens=8, temperature=0), GenerationStats()))
    finally:
        backend.unload()
    expected = bare_greedy(embedded_model, _detok(embedded_model, short), 8)
    assert _detok(embedded_model, after) == expected


class CancelAfterPolls(threading.Event):
    """A cancel flag that turns itself on after being polled n times: deterministic on any machine's speed."""

    def __init__(self, polls: int) -> None:
        super().__init__()
        self.left = polls

    def is_set(self) -> bool:
        self.left -= 1
        return self.left < 0 or super().is_set()


def _detok(model: Path, ids: list[int]) -> str:
    llm = open_llama(model, n_ctx=512)
    text = llm.detokenize(ids).decode("utf-8", "replace")
    llm.close()
    return text


def test_a_sampled_chat_marker_ends_the_answer(embedded_model: Path) -> None:
    """Gemma's `<start_of_turn>` renders as nothing and starts a made-up conversation: it ends a continuation."""
    llm = open_llama(embedded_model, n_ctx=512)
    start_of_turn = llm.tokenize(b"<start_of_turn>", add_bos=False, special=True)
    newline = llm.tokenize(b"\n", add_bos=False, special=True)
    try:
        assert len(start_of_turn) == 1
        assert is_eog(llm, start_of_turn[0])
        assert not is_eog(llm, newline[-1])
    finally:
        llm.close()
