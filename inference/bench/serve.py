"""Serve benchmark: one bounded load against `scriptorium serve` and against llama-cpp-python's own server, in one run.

Why it is measured this way:
- Both servers load the same file with every setting both can take alike: n_ctx, n_batch = n_ubatch
  = 128, flash attention, the same decoding threads (--threads; all logical cores for batches),
  every layer on the GPU when the build has one. llama-cpp-python's server cannot set swa_full=False; ours
  does (DESIGN.md): the table says so. Speculation is off on our side (theirs has none).
- Every request is a greedy completion (temperature 0, no repetition penalty) of a distinct passage
  with the same max_tokens, streamed, so both do the same arithmetic and time to first token is seen at the
  client. A request's tokens are max_tokens when it ended for length, else its text re-tokenized:
  llama-cpp-python's server reports no usage in a stream, so one rule counts both sides.
- N client threads share a fixed number of requests, each sending its next as soon as its last is
  answered, over keep-alive connections to 127.0.0.1 with http.client: the clients cost both sides
  the same. Past the time limit no new request starts. Their server is run with
  interrupt_requests=False: by default it cuts a stream short when another request waits.
- Rounds alternate which server goes first (ABBA), so drift in machine load hits both. Throughput is
  tokens (and requests) over the rounds' wall time; p50/p99 over every request of a side.
- Exactly once: each request is answered by one complete stream (a finish reason, then [DONE]) and
  no error; on our side the worker's own count of finished generations must grow by the same number.
- Desktop priority: a third run serves the same load in this process, and while it is queued an
  interactive request goes straight to the endpoint's worker (as the desktop's would, sharing it).
  queue_stats names the background requests queued at that moment; the worker's order of endings
  must put the interactive one before every one of them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable

import psutil

from inference.bench.texts import passages
from inference.client import WorkerClient
from inference.launch import module_command
from inference.protocol import Done, Error, Event

SIDES = ("scriptorium", "llama_cpp")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model name or GGUF path (default: the default model)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--requests", type=int, default=16, help="requests per server, shared by the clients")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--prompt-chars", type=int, default=600, help="length of each prompt passage")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per server (the requests are split between them)")
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per server after which no new request starts")
    parser.add_argument("--threads", type=int, default=psutil.cpu_count(logical=False) or os.cpu_count() or 1,
                        help="decoding threads, both servers (default: one per physical core; on a busy machine 1 keeps llama.cpp from stalling on preempted threads)")


@dataclass
class Answer:
    """One request as its client saw it."""

    index: int
    ttft_s: float = 0.0
    latency_s: float = 0.0
    text: str = ""
    finish: str | None = None
    complete: bool = False  # a finish reason and then [DONE]
    error: str = ""


@dataclass
class Side:
    """One server under load: where it is, and what its requests saw."""

    name: str
    port: int
    model: str
    token: str = ""
    answers: list[Answer] = field(default_factory=list)
    wall_s: float = 0.0


# -- one streamed completion over http.client -------------------------------------------------------
def complete(conn: http.client.HTTPConnection, side: Side, index: int, prompt: str, max_tokens: int) -> Answer:
    # repeat_penalty 1.0: llama-cpp-python's server would otherwise apply its default 1.1 even when greedy (ours: none).
    body = {"model": side.model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "repeat_penalty": 1.0, "stream": True}
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {side.token}"} if side.token else {})}
    answer, t0 = Answer(index), time.perf_counter()
    conn.request("POST", "/v1/completions", body=json.dumps(body), headers=headers)
    response = conn.getresponse()
    if response.status != 200:
        answer.error = f"HTTP {response.status}: {response.read()[:200]!r}"
        return answer
    pieces = []
    while line := response.readline():
        if not line.startswith(b"data: "):
            continue
        data = line[6:].strip()
        if data == b"[DONE]":
            answer.complete = answer.finish is not None
            continue
        chunk = json.loads(data)
        if "error" in chunk:
            answer.error = chunk["error"].get("message", "error")
            continue
        choice = chunk["choices"][0]
        if choice.get("text") and not answer.ttft_s:
            answer.ttft_s = time.perf_counter() - t0
        pieces.append(choice.get("text") or "")
        answer.finish = choice.get("finish_reason") or answer.finish
    answer.latency_s, answer.text = time.perf_counter() - t0, "".join(pieces)
    return answer


def load(side: Side, prompts: list[str], indices: list[int], clients: int, max_tokens: int, deadline: float) -> list[Answer]:
    """`clients` threads share `indices`; each sends its next request as soon as its last is answered."""
    todo: queue.Queue[int] = queue.Queue()
    for i in indices:
        todo.put(i)
    answers: list[Answer] = []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", side.port, timeout=max(1.0, deadline - time.monotonic()) + 60)
        while time.monotonic() < deadline:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                break
            try:
                answers.append(complete(conn, side, i, prompts[i % len(prompts)], max_tokens))
            except (OSError, http.client.HTTPException, ValueError) as exc:
                answers.append(Answer(i, error=f"{type(exc).__name__}: {exc}"))
                conn.close()
        conn.close()

    threads = [threading.Thread(target=client, name=f"client-{c}") for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


# -- the two servers ------------------------------------------------------------------------------
def start_scriptorium(home: Path, model: str, n_ctx: int, threads: int) -> tuple[subprocess.Popen, int]:
    cmd = [*module_command("app.cli"), "serve", "--home", str(home), "--port", "0", "--model", model, "--n-ctx", str(n_ctx),
           "--n-threads", str(threads), "--speculative", "off"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if "http://127.0.0.1:" not in line:
        proc.kill()
        raise RuntimeError(f"scriptorium serve did not start: {line!r}")
    return proc, int(line.split("http://127.0.0.1:")[1].split("/")[0])


def start_llama_cpp(path: str, n_ctx: int, threads: int, log: IO[str]) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    settings = {
        "model": path, "host": "127.0.0.1", "port": port, "n_ctx": n_ctx, "n_batch": 128, "n_ubatch": 128, "flash_attn": True,
        "n_threads": threads, "n_threads_batch": os.cpu_count() or 1, "n_gpu_layers": -1, "logits_all": False,
        "interrupt_requests": False, "verbose": False,
    }
    cmd = [sys.executable, "-m", "llama_cpp.server", *[a for k, v in settings.items() for a in (f"--{k}", str(v))]]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)  # a file: an unread pipe would fill and stall it
    _wait_until_up(port, proc, log)
    return proc, port


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(port: int, proc: subprocess.Popen, log: IO[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"llama-cpp-python's server exited: {log.read()[-800:]} (its packages: pip install -e '.[bench]')")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/v1/models")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)  # polling a starting process; nothing to wait on
    raise RuntimeError("llama-cpp-python's server did not answer within 120 s.")


def get_json(side: Side, path: str) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", side.port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {side.token}"} if side.token else {})
    return json.loads(conn.getresponse().read())


def worker_done(side: Side) -> int:
    """How many requests our endpoint's worker has finished well (its queue_stats, read through the endpoint)."""
    return get_json(side, "/scriptorium/queue")["outcomes"].get("done", 0)


# -- the desktop-priority check -------------------------------------------------------------------
def priority_check(home: Path, model: str, n_ctx: int, prompts: list[str], args: argparse.Namespace) -> dict:
    """While an in-process endpoint has background requests queued, an interactive one to its worker must finish first."""
    from inference.server.app import Endpoint
    from inference.server.config import ServeConfig

    endpoint = Endpoint(ServeConfig(port=0, model=model, n_ctx=n_ctx, n_threads=args.threads, speculative="off"), home)
    endpoint.load()
    thread = threading.Thread(target=endpoint.run, name="endpoint", daemon=True)
    thread.start()
    side = Side("priority", endpoint.port, endpoint.bridge.model["name"], endpoint.token)
    worker = endpoint.bridge.client
    n = max(args.clients * 2, 4)
    background = threading.Thread(target=lambda: side.answers.extend(load(side, prompts, list(range(n)), args.clients, args.max_tokens, time.monotonic() + args.time_limit)))
    background.start()
    _wait_for(lambda: len(_queued(worker)) >= args.clients - 1)  # every client but the one being served is waiting
    done = threading.Event()

    def on_event(event: Event) -> None:
        if isinstance(event, (Done, Error)):
            done.set()

    sent = time.perf_counter()
    rid = worker.request("generate", {"raw_prompt": prompts[-1], "max_tokens": args.max_tokens, "temperature": 0, "speculative": "off"}, on_event=on_event)
    queued = _queued(worker)  # answered after the request above was read: exactly what it must overtake
    done.wait(args.time_limit)
    waited_ms = (time.perf_counter() - sent) * 1000
    background.join()
    order = [r["id"] for r in worker.call("queue_stats", timeout=30)["recent"]]
    endpoint.stop()
    thread.join(30)
    overtaken_by = [i for i in queued if i in order and order.index(i) < order.index(rid)] if rid in order else queued
    latencies = [a.latency_s * 1000 for a in side.answers if not a.error]
    return {
        "queued_when_sent": len(queued), "overtaken_by": len(overtaken_by), "interactive_ms": round(waited_ms, 1),
        "background_latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None, "ok": rid in order and not overtaken_by,
    }


def _queued(worker: WorkerClient) -> list[str]:
    """The ids of the background requests waiting in the worker's queue now."""
    return [i for ids in worker.call("queue_stats", timeout=30)["queued"]["background"].values() for i in ids]


def _wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("the background load never queued up; raise --clients")
        time.sleep(0.01)  # polling the worker's queue while the load builds up


# -- figures --------------------------------------------------------------------------------------
def summarise(side: Side, requests: int, max_tokens: int, count_tokens: Callable[[str], int]) -> dict:
    ok = [a for a in side.answers if a.complete and not a.error]
    tokens = sum(max_tokens if a.finish == "length" else count_tokens(a.text) for a in ok)
    seen = [a.index for a in side.answers]
    return {
        "tokens_per_s": tokens / side.wall_s if side.wall_s else 0.0,
        "requests_per_s": len(ok) / side.wall_s if side.wall_s else 0.0,
        "ttft_p50_ms": _pct(ok, "ttft_s", 50), "ttft_p99_ms": _pct(ok, "ttft_s", 99),
        "latency_p50_ms": _pct(ok, "latency_s", 50), "latency_p99_ms": _pct(ok, "latency_s", 99),
        "answered": len(ok), "requests": requests, "ended_early": sum(1 for a in ok if a.finish != "length"),
        "exactly_once": len(ok) == requests and sorted(seen) == sorted(set(seen)) and len(seen) == requests,
        "errors": [a.error for a in side.answers if a.error][:3],
    }


def _pct(answers: list[Answer], key: str, q: int) -> float:
    values = sorted(getattr(a, key) * 1000 for a in answers)
    if not values:
        return 0.0
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def run(args: argparse.Namespace) -> int:
    from inference.backends.llama_adapter import open_llama
    from inference.models import Registry
    from inference.server.auth import serve_token

    home = Path(args.home)
    load_before = os.getloadavg()[0]
    registry = Registry(home)
    info = registry.get(args.model) if args.model else registry.default()
    prompts = passages(args.requests + 1, args.prompt_chars)
    vocab = open_llama(info.path, n_ctx=64, vocab_only=True)

    def count_tokens(text: str) -> int:
        return len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    their_log = tempfile.TemporaryFile("w+")
    ours, our_port = start_scriptorium(home, str(info.path), args.n_ctx, args.threads)
    theirs, their_port = start_llama_cpp(str(info.path), args.n_ctx, args.threads, their_log)
    sides = {"scriptorium": Side("scriptorium", our_port, "", serve_token(home)), "llama_cpp": Side("llama_cpp", their_port, "")}
    try:
        for side in sides.values():
            side.model = get_json(side, "/v1/models")["data"][0]["id"]  # each names the file its own way
            load(side, prompts, [args.requests], 1, 4, time.monotonic() + 60)  # warm both once: first-call costs are not throughput
        finished_before = worker_done(sides["scriptorium"])
        for r in range(args.rounds):
            for name in (SIDES if r % 2 == 0 else SIDES[::-1]):
                side, t0 = sides[name], time.perf_counter()
                deadline = time.monotonic() + args.time_limit - side.wall_s  # the time limit is per server, over its rounds
                side.answers += load(side, prompts, list(range(args.requests))[r :: args.rounds], args.clients, args.max_tokens, deadline)
                side.wall_s += time.perf_counter() - t0
        finished = worker_done(sides["scriptorium"]) - finished_before
    finally:
        for proc in (ours, theirs):
            proc.terminate()
            proc.wait(30)
    priority = priority_check(home, str(info.path), args.n_ctx, prompts, args)
    load_after = os.getloadavg()[0]
    summary = {name: summarise(side, args.requests, args.max_tokens, count_tokens) for name, side in sides.items()}
    summary["scriptorium"]["exactly_once"] = summary["scriptorium"]["exactly_once"] and finished == args.requests
    report(info.name, args, summary, priority, finished, [load_before, load_after])
    return 0


def report(model: str, args: argparse.Namespace, summary: dict, priority: dict, finished: int, load: list[float]) -> None:
    ours, theirs = summary["scriptorium"], summary["llama_cpp"]
    ratio = ours["tokens_per_s"] / theirs["tokens_per_s"] if theirs["tokens_per_s"] else 0.0
    print(f"serve benchmark: {model}, {args.clients} clients, {args.requests} streamed greedy completions per server in {args.rounds} alternating rounds, "
          f"{args.max_tokens} tokens, prompts of ~{args.prompt_chars} chars, n_ctx {args.n_ctx}, {args.threads} decoding threads")
    print(f"{'':<26}{'scriptorium':>14}{'llama-cpp-python':>18}{'ours/theirs':>13}")
    for key, label in (("tokens_per_s", "throughput tokens/s"), ("requests_per_s", "throughput requests/s"), ("ttft_p50_ms", "ttft p50 ms"),
                       ("ttft_p99_ms", "ttft p99 ms"), ("latency_p50_ms", "latency p50 ms"), ("latency_p99_ms", "latency p99 ms")):
        r = ours[key] / theirs[key] if theirs[key] else 0.0
        print(f"{label:<26}{ours[key]:>14.2f}{theirs[key]:>18.2f}{r:>13.3f}")
    print(f"{'answered exactly once':<26}{_once(ours):>14}{_once(theirs):>18}   (our worker finished {finished} generations)")
    for name, s in summary.items():
        if s["errors"] or s["ended_early"]:
            print(f"  {name}: {s['ended_early']} ended before max_tokens; errors: {s['errors']}")
    print(f"desktop priority: an interactive request sent with {priority['queued_when_sent']} background requests queued was overtaken by "
          f"{priority['overtaken_by']}; answered in {priority['interactive_ms']:.0f} ms (a background request: {priority['background_latency_p50_ms']} ms p50) "
          f"-> {'ok' if priority['ok'] else 'FAILED'}")
    from inference.server.app import SERVE_WORKER_ENV

    theirs_wait = os.environ.get("OMP_WAIT_POLICY", "unset (spin)")
    print("settings alike: n_ctx, n_batch = n_ubatch = 128, flash attention, threads; differs: swa_full (ours False, theirs llama.cpp's default True), "
          f"OpenMP wait policy (ours {SERVE_WORKER_ENV['OMP_WAIT_POLICY']}, theirs {theirs_wait})")
    print(f"machine load average (1 min) before and after: {load[0]:.2f}, {load[1]:.2f} on {os.cpu_count()} CPUs: other work there bends both sides")
    print(f"throughput ours/theirs {ratio:.3f} (target: within 5%, at least 0.95) -> {'met' if ratio >= 0.95 else 'missed'}")
    print(json.dumps({"bench": "serve", "model": model, "clients": args.clients, "requests": args.requests, "max_tokens": args.max_tokens,
                      "rounds": args.rounds, "threads": args.threads, "scriptorium": ours, "llama_cpp": theirs, "throughput_ratio": ratio, "priority": priority,
                      "worker_generations": finished, "load_average": load, "omp_wait_policy": {"scriptorium": SERVE_WORKER_ENV["OMP_WAIT_POLICY"], "llama_cpp": theirs_wait}}))


def _once(s: dict) -> str:
    return f"{s['answered']}/{s['requests']} {'yes' if s['exactly_once'] else 'NO'}"

