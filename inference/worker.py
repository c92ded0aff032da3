"""python -m inference.worker: read protocol requests on stdin, answer events on stdout, one request at a time, fairly queued."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import fields, replace
from pathlib import Path
from typing import IO, Callable

from inference import backends, sqlfile
from inference.backends.base import LoadOptions
from inference.embedders import EmbedParams, Embedders, run_embed
from inference.engine import Engine, GenerateParams
from inference.models import Registry
from inference.paths import home_dir
from inference.protocol import (
    OPS,
    PROTOCOL_VERSION,
    BadRequest,
    Cancelled,
    Done,
    Error,
    ErrorCode,
    Event,
    Progress,
    Request,
    Token,
    WorkerError,
    error_event,
    from_line,
    to_line,
)
from inference.scheduler import FairQueue
from inference.scoring import ScoreParams, run_score

log = logging.getLogger("inference.worker")
RECENT = 256  # requests remembered by queue_stats: enough to check the order of a benchmark's burst


class Worker:
    """The request loop. A reader thread takes lines off stdin so `cancel` acts while a request runs."""

    def __init__(self, engine: Engine, home: Path, out: IO[str]) -> None:
        self.engine = engine
        self.registry = Registry(home)
        self.embedders = Embedders(self.registry)
        self.out = out
        self.out_lock = threading.Lock()
        self.pending = FairQueue()
        # Cancels of requests neither queued nor running, oldest first: most came after their request ended and
        # are never asked for again, so only the last RECENT are kept (a long serve session must not grow).
        self.cancelled: dict[str, None] = {}
        self.current: tuple[Request, threading.Event] | None = None
        self.state_lock = threading.Lock()
        self.cache_budget_mb: int | None = None
        self.outcomes: Counter[str] = Counter()  # how requests ended: done, cancelled, or another error code
        self.recent: deque[dict] = deque(maxlen=RECENT)  # the last requests to end, oldest first
        self.client_gone = False  # the client's end of stdout closed: nobody reads what comes next
        self.idle_work = False  # whether the engine may have background work (Engine.idle_step) to run when idle

    def emit(self, event: Event) -> None:
        line = to_line(event)
        with self.out_lock:
            if self.client_gone:
                return
            try:
                self.out.write(line)
                self.out.flush()
            except (BrokenPipeError, ConnectionResetError):
                # The client died (killed, crashed) while we answered: stop the running request and serve no more,
                # instead of generating the queue for nobody or dying with a traceback at the next write.
                self.client_gone = True
                self._stop_current()

    def _stop_current(self) -> None:
        with self.state_lock:
            if self.current is not None:
                self.current[1].set()

    def finish(self, request: Request, event: Done | Error) -> None:
        """Emit a request's terminal event and remember how it ended (for queue_stats)."""
        outcome = "done" if isinstance(event, Done) else event.code
        with self.state_lock:
            self.outcomes[outcome] += 1
            self.recent.append({**_summary(request), "outcome": outcome})
        self.emit(event)

    # -- reading ---------------------------------------------------------------------------
    def read_loop(self, stream: IO[str]) -> None:
        """Parse each line; cancel and queue_stats at once, queue everything else; shutdown or EOF closes the queue."""
        for line in stream:
            if not line.strip():
                continue
            try:
                message = from_line(line)
                if not isinstance(message, Request):
                    raise BadRequest("Only requests may be sent to the worker.")
            except WorkerError as exc:
                self.emit(error_event(_salvage_id(line), exc))
                continue
            if message.op == "cancel":
                self._cancel(message)
            elif message.op == "queue_stats":
                self.emit(Done(message.id, self.queue_stats()))
            elif message.op == "shutdown":
                self.pending.close(message)
                return
            else:
                self.pending.put(message)
        self.pending.close()

    def _cancel(self, request: Request) -> None:
        target = str(request.params.get("target", ""))
        queued = None
        with self.state_lock:
            running = self.current is not None and self.current[0].id == target
            if running:
                self.current[1].set()  # type: ignore[index]
            elif (queued := self.pending.remove(target)) is None:
                # Not queued: either unknown, or taken off the queue but not yet marked current (serve checks this set).
                self.cancelled[target] = None
                if len(self.cancelled) > RECENT:
                    del self.cancelled[next(iter(self.cancelled))]
        if queued is not None:
            self.finish(queued, Error(target, ErrorCode.CANCELLED, "The request was cancelled before it started."))
        self.emit(Done(request.id, {"target": target, "was_running": running}))

    def queue_stats(self) -> dict:
        """What runs, what waits (ids by priority and client), and how requests ended."""
        with self.state_lock:
            running = self.current[0] if self.current else None
            return {
                "running": _summary(running) if running else None,
                "queued": self.pending.snapshot(),
                "outcomes": dict(self.outcomes),
                "recent": list(self.recent),
            }

    # -- serving ---------------------------------------------------------------------------
    def serve(self) -> None:
        """Run requests in the queue's order until shutdown or end of input."""
        while not self.client_gone and (request := self._next()) is not None:
            if request.op == "shutdown":
                self.emit(Done(request.id, {}))
                return
            cancel = threading.Event()
            with self.state_lock:
                if request.id in self.cancelled:
                    del self.cancelled[request.id]
                    cancel.set()
                self.current = (request, cancel)
            try:
                if cancel.is_set():
                    raise Cancelled("The request was cancelled before it started.")
                result = self.handle(request, cancel)
                end: Done | Error = Done(request.id, result)
            except Exception as exc:  # every failure becomes an error event; the worker keeps serving
                if not isinstance(exc, WorkerError):
                    log.exception("request %s (%s) failed", request.id, request.op)
                end = error_event(request.id, exc)
            with self.state_lock:
                self.current = None
            self.finish(request, end)
            self.idle_work = True  # a request may have left background work: ask the engine when the queue empties
        if self.client_gone:
            log.warning("the client has gone (its end of the pipe closed): queued requests dropped, stopping")

    def _next(self) -> Request | None:
        """The next request. While none waits, the engine's background work runs a step at a time: a request that
        arrives waits for the step in progress only, and a shutdown or end of input ends the work unfinished."""
        while self.idle_work and not self.client_gone and self.pending.idle():
            try:
                self.idle_work = self.engine.idle_step()
            except Exception:  # background work must never take the worker down; it is offered again after a request
                log.exception("background work failed")
                self.idle_work = False
        return self.pending.get()

    def handle(self, request: Request, cancel: threading.Event) -> dict:
        handler: Callable[[Request, threading.Event], dict] | None = getattr(self, f"op_{request.op}", None)
        if handler is None:
            raise WorkerError(f"Unknown op {request.op!r}; the worker knows: {', '.join(OPS)}.", code=ErrorCode.UNKNOWN_OP)
        return handler(request, cancel)

    # -- ops ---------------------------------------------------------------------------------
    def op_hello(self, request: Request, cancel: threading.Event) -> dict:
        return {"protocol": PROTOCOL_VERSION, "pid": os.getpid(), "backend": self.engine.backend.name, **self.engine.describe()}

    def op_load_model(self, request: Request, cancel: threading.Event) -> dict:
        params = dict(request.params)
        name = params.pop("model", None) or params.pop("path", None)
        options = _load_options(params)
        # The budget a client set (load_model or cache_budget) holds for every later model too.
        if options.cache_budget_mb is None and self.cache_budget_mb is not None:
            options = replace(options, cache_budget_mb=self.cache_budget_mb)
        self.cache_budget_mb = options.cache_budget_mb

        def progress(stage: str, fraction: float | None) -> None:
            self.emit(Progress(request.id, "prepare", fraction, stage))

        info = self.registry.get(str(name)) if name else self.registry.default(progress)
        self.emit(Progress(request.id, "load", None, f"Loading {info.name}"))
        described = self.engine.load(info, options)
        return {"model": info.to_json(), **described}

    def op_generate(self, request: Request, cancel: threading.Event) -> dict:
        params = self._resolve_draft(GenerateParams.from_wire(request.params))  # validate before loading anything
        if self.engine.model is None or request.params.get("model"):
            self.op_load_model(Request(request.id, "load_model", {"model": request.params.get("model")}), cancel)

        batch = TokenBatcher(lambda text, n: self.emit(Token(request.id, text, n)))
        try:
            return self.engine.generate(params, batch.add, cancel).to_result()
        finally:
            batch.flush()

    def op_score(self, request: Request, cancel: threading.Event) -> dict:
        params = ScoreParams.from_wire(request.params)  # validate before loading anything
        if self.engine.model is None:
            self.op_load_model(Request(request.id, "load_model", {}), cancel)
        return run_score(self.engine, params, cancel)

    def op_tokenize(self, request: Request, cancel: threading.Event) -> dict:
        if "text" not in request.params:
            raise BadRequest("tokenize needs a 'text' parameter.")
        ids = self.engine.backend.tokenize(str(request.params["text"]), add_bos=bool(request.params.get("add_bos", True)))
        return {"ids": ids, "count": len(ids)}

    def op_cache_stats(self, request: Request, cancel: threading.Event) -> dict:
        return self.engine.backend.cache_stats()

    def op_cache_clear(self, request: Request, cancel: threading.Event) -> dict:
        return self.engine.backend.cache_clear()

    def op_cache_budget(self, request: Request, cancel: threading.Event) -> dict:
        mb = request.params.get("mb")
        if not isinstance(mb, int) or isinstance(mb, bool) or mb < 0:
            raise BadRequest(f"cache_budget needs 'mb', a whole number of MiB (0 or more), not {mb!r}.")
        self.cache_budget_mb = mb
        return self.engine.backend.set_cache_budget(mb)

    def _resolve_draft(self, params: GenerateParams) -> GenerateParams:
        """`draft:NAME` names a registered model or a file; the backend is handed its path."""
        if not params.speculative.startswith("draft:"):
            return params
        info = self.registry.get(params.speculative.removeprefix("draft:"))
        return replace(params, speculative=f"draft:{info.path}")

    def op_embed(self, request: Request, cancel: threading.Event) -> dict:
        params = EmbedParams.from_wire(request.params)  # validate before loading anything

        def progress(done: int, total: int) -> None:
            self.emit(Progress(request.id, "embed", done / total, f"{done}/{total} texts"))

        return run_embed(self.embedders, params, progress, cancel)


class TokenBatcher:
    """Sends the first token at once, then at most one token event per BATCH_S, carrying what came since.

    Each event wakes the client process; on a two-core laptop that preempts one of llama.cpp's
    threads every token and costs a few percent of decode speed. 20 ms is still 50 updates a
    second, smoother than the eye follows text.
    """

    BATCH_S = 0.02

    def __init__(self, send: Callable[[str, int], None]) -> None:
        self.send = send
        self.text, self.n, self.last = "", 0, float("-inf")

    def add(self, text: str, n: int) -> None:
        self.text += text
        self.n += n
        if time.perf_counter() - self.last >= self.BATCH_S:
            self.flush()

    def flush(self) -> None:
        if self.text or self.n:
            self.send(self.text, self.n)
            self.text, self.n = "", 0
        self.last = time.perf_counter()


def _load_options(params: dict) -> LoadOptions:
    known = {f.name for f in fields(LoadOptions)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise BadRequest(f"Unknown load_model parameter(s): {', '.join(unknown)}.")
    return LoadOptions(**params)


def _summary(request: Request) -> dict:
    return {"id": request.id, "op": request.op, "priority": request.priority, "client": request.client}


def _salvage_id(line: str) -> str:
    """The id of a malformed request when it can still be read, so the client can match the error."""
    import json

    try:
        value = json.loads(line)
        return str(value.get("id", "")) if isinstance(value, dict) else ""
    except (json.JSONDecodeError, AttributeError):
        return ""


def _protocol_stdout() -> IO[str]:
    """Keep the protocol on a private copy of stdout and point fd 1 at stderr.

    Native code (llama.cpp, CUDA) writes to fd 1 directly; one stray line there would corrupt
    the stream, so after this only the worker's own writer can reach the client.
    """
    sys.stdout.flush()
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(proto_fd, "w", encoding="utf-8", buffering=1)


def hold_key_line(home: Path, line: str) -> None:
    """Hold the key a client sent as the first line of stdin: on a pipe only the two processes see it, where a
    command line is shown by `ps` to every user of the machine."""
    try:
        sqlfile.hold_key(home, sqlfile.key_from_line(line))
    except ValueError:  # never log the line itself: it may be a key cut short
        log.warning("the library key sent on stdin is not %d bytes of hex: cache.db stays closed, session caches "
                    "stay in memory", sqlfile.KEY_BYTES)


def _engine(backend: str, cache_db: Path) -> Engine:
    """An engine on a fixed backend, or (auto) one that picks llama.cpp or torch per model, llama.cpp until then."""
    if backend != "auto":
        return Engine(backends.base.create(backend), cache_db=cache_db)
    from inference.engine_choice import choose

    return Engine(backends.base.create("llama_cpp"), cache_db=cache_db, choose=choose)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.worker", description=__doc__)
    parser.add_argument("--backend", default=os.environ.get("SCRIPTORIUM_BACKEND", "auto"), choices=["auto", *backends.base.available()],
                        help="auto: torch on a CUDA GPU for the models it runs, llama.cpp otherwise (inference/engine_choice.py)")
    parser.add_argument("--home", default=None)
    parser.add_argument("--log-level", default=os.environ.get("SCRIPTORIUM_LOG", "WARNING"))
    parser.add_argument("--key-on-stdin", action="store_true",
                        help="the first line of stdin is the encrypted library's key (hex), before any request")
    parser.add_argument("--nice", type=int, default=0, metavar="N", help="lower this process's scheduling priority by N (the desk asks for it)")
    args = parser.parse_args(argv)
    if args.nice > 0:
        os.nice(args.nice)  # before llama.cpp starts its threads, which inherit it
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr, format="worker %(levelname)s %(name)s: %(message)s")
    out = _protocol_stdout()
    stdin = open(sys.stdin.fileno(), "r", encoding="utf-8", errors="replace", closefd=False)
    home = home_dir(args.home)
    if args.key_on_stdin:
        hold_key_line(home, stdin.readline())
    worker = Worker(_engine(args.backend, home / "cache.db"), home, out)
    threading.Thread(target=worker.read_loop, args=(stdin,), name="stdin-reader", daemon=True).start()
    worker.serve()
    worker.engine.backend.unload()
    worker.embedders.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
