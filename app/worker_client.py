"""The Qt adapter over the inference worker: a QProcess with no thread and no blocking wait.

Contract, after frescobaldi's job and vorta's borg runner:
- whole lines only: stdout bytes are buffered until a newline, then parsed; a line that is not
  protocol is logged and skipped, never fatal;
- `finished(id, event)` fires exactly once per request id, with the `Done` or `Error` event — also
  when the worker crashed, was killed or never started (then a `worker_died` / `worker_start_failed`
  error), and always from the event loop, never inside `request()`;
- newest request wins: a request sent on a `channel` supersedes the open one of that channel, which
  is cancelled and finishes at once with `cancelled`; its later events are dropped;
- cancel in stages: ask the worker (`cancel`), then after a grace period terminate, then kill.

The process is the client's one dependency, a `Transport`: `ProcessTransport` runs the real worker;
tests pass a `ReplayTransport` (tests/replay.py) that plays a recorded transcript.
"""

from __future__ import annotations

import itertools
import logging
from functools import partial
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal
from shiboken6 import isValid

from inference.client import DEFAULT_BACKEND, key_line, worker_command
from inference.protocol import Done, Error, ErrorCode, Event, Progress, Request, Token, to_line
from inference.wire import NOT_RUNNING, LineBuffer, Router, gone_message

log = logging.getLogger(__name__)

# The worker stops within milliseconds, between tokens or between graph nodes of a prefill; should native
# code hang anyway, after this grace period a stop becomes a terminate (the worker restarts, the text is
# never at risk).
CANCEL_GRACE_MS = 4000
# After a terminate (SIGTERM) the worker gets this long before SIGKILL.
KILL_AFTER_MS = 2000
SHUTDOWN_GRACE_MS = 3000
# The desk's worker runs at nice 10: llama.cpp keeps every core busy (its threads spin between graph nodes), and
# at equal priority a keystroke waits its turn behind them; at 10 the scheduler gives the window about ten times
# the model's share of a contended core, and the model loses nothing on an idle one.
WORKER_NICE = 10


class Transport(QObject):
    """The worker's pipes as the client sees them: stdout bytes as they come, and one `ended` when it exits or never starts."""

    output = Signal(bytes)  # stdout, in reads of any size: a read may end mid-line or mid-character
    ended = Signal(str, str)  # error code (worker_died | worker_start_failed), why ("exit code 9")

    def start(self, command: list[str], env: dict[str, str]) -> None:
        """Start the worker; `ended` follows once, however it goes."""
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        """Send bytes to the worker's stdin."""
        raise NotImplementedError

    def close_input(self) -> None:
        """End the worker's stdin; a worker reads that as shut down."""
        raise NotImplementedError

    def terminate(self) -> None:
        raise NotImplementedError

    def kill(self) -> None:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return None


class ProcessTransport(Transport):
    """The worker as a QProcess: stdout out as `output`, stderr to the log, exit or failure to start as `ended`."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.proc = QProcess(self)
        self.proc.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self._stderr = LineBuffer()
        self._ended = False
        self.proc.readyReadStandardOutput.connect(self._read)
        self.proc.readyReadStandardError.connect(self._log_stderr)
        self.proc.errorOccurred.connect(self._error)
        self.proc.finished.connect(lambda code, _status: self._end(ErrorCode.WORKER_DIED, f"exit code {code}"))

    def start(self, command: list[str], env: dict[str, str]) -> None:
        environment = QProcessEnvironment.systemEnvironment()
        for key, value in env.items():
            environment.insert(key, value)
        self.proc.setProcessEnvironment(environment)
        self.proc.start(command[0], command[1:])

    def write(self, data: bytes) -> None:
        self.proc.write(data)

    def close_input(self) -> None:
        self.proc.closeWriteChannel()

    def terminate(self) -> None:
        self.proc.terminate()

    def kill(self) -> None:
        self.proc.kill()

    @property
    def running(self) -> bool:
        return isValid(self.proc) and self.proc.state() != QProcess.ProcessState.NotRunning

    @property
    def pid(self) -> int | None:
        return int(self.proc.processId()) if self.running else None

    def _read(self) -> None:
        if isValid(self.proc):
            self.output.emit(bytes(self.proc.readAllStandardOutput().data()))

    def _log_stderr(self) -> None:
        if isValid(self.proc):
            for line in self._stderr.feed(bytes(self.proc.readAllStandardError().data())):
                if line.strip():
                    log.info("worker: %s", line)

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:  # no `finished` follows this one
            self._end(ErrorCode.WORKER_START_FAILED, self.proc.errorString())

    def _end(self, code: str, why: str) -> None:
        if not self._ended:
            self._ended = True
            self.ended.emit(code, why)


TransportFactory = Callable[[QObject], Transport]


class QtWorkerClient(QObject):
    """Starts the worker through a fresh `Transport` (a QProcess unless told) and turns its lines into signals."""

    ready = Signal(dict)  # the hello result, once per start
    progress = Signal(str, object)  # request id, Progress
    token = Signal(str, str)  # request id, text
    finished = Signal(str, object)  # request id, Done | Error — exactly once per id
    died = Signal(str)  # a sentence for the banner; not emitted for a requested shutdown
    stopped = Signal()  # the process is gone, for any reason

    def __init__(self, home: Path | None, backend: str = DEFAULT_BACKEND, env: dict[str, str] | None = None, parent: QObject | None = None,
                 transport: TransportFactory = ProcessTransport) -> None:
        super().__init__(parent)
        self.home, self.backend, self.env = home, backend, dict(env or {})
        self.transport_factory = transport  # called with this client as parent at every start
        self.transport: Transport | None = None
        self.hello: dict = {}
        self._ids = itertools.count(1)
        self._router = Router()
        self._channels: dict[str, str] = {}
        self._lines = LineBuffer()
        self._closing = False
        self._restart_after_kill = False

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.transport is not None and self.transport.running

    @property
    def pid(self) -> int | None:
        return self.transport.pid if self.running else None  # type: ignore[union-attr]

    def start(self) -> None:
        """Start the worker (no-op if it runs); `ready` follows when it has answered hello."""
        if self.running:
            return
        self._closing, self._lines, self.hello = False, LineBuffer(), {}
        transport = self.transport_factory(self)
        transport.output.connect(lambda data, t=transport: self._read(t, data))
        transport.ended.connect(lambda code, why, t=transport: self._gone(t, code, why))
        self.transport = transport
        transport.start(self.command(), self.env)
        if secret := key_line(self.home):
            transport.write(secret)  # the worker reads the key before its first request
        self.request("hello", on_done=self._hello)

    def command(self) -> list[str]:
        """The worker's command line: at a lower priority than the window, so that typing wins the CPU over the model."""
        return [*worker_command(self.home, self.backend), "--nice", str(WORKER_NICE)]

    def shutdown(self) -> None:
        """Stop politely (shutdown, end of input), then terminate, then kill; `stopped` follows."""
        if not self.running:
            QTimer.singleShot(0, self, self.stopped.emit)
            return
        self._closing = True
        transport = self.transport
        self._write(Request("shutdown", "shutdown"))
        transport.close_input()  # type: ignore[union-attr]
        QTimer.singleShot(SHUTDOWN_GRACE_MS, self, lambda: self._escalate(transport, "the worker did not stop in time; terminating it"))

    def restart(self) -> None:
        """Start a fresh worker after a crash or a kill."""
        if self.running:
            self.kill()
        self.start()

    def kill(self) -> None:
        """End the worker at once (a stop that the worker did not honour)."""
        if self.running:
            self._closing = True
            self.transport.kill()  # type: ignore[union-attr]

    def _escalate(self, transport: Transport | None, why: str) -> None:
        """Terminate the worker, and kill it should it outlive the terminate."""
        if transport is self.transport and self.running:
            log.warning(why)
            transport.terminate()  # type: ignore[union-attr]
            QTimer.singleShot(KILL_AFTER_MS, transport, lambda: transport.kill() if transport.running else None)  # type: ignore[union-attr]

    # -- requests ----------------------------------------------------------------------------
    def request(self, op: str, channel: str | None = None, on_done: Callable[[Done | Error], None] | None = None, **params: object) -> str:
        """Send a request; return its id. `finished(id, event)` follows exactly once."""
        request_id = f"q{next(self._ids)}"
        if channel is not None:
            self._supersede(channel, request_id)
        self._router.open(request_id, partial(self._deliver, on_done))
        if self.transport is None:
            QTimer.singleShot(0, self, lambda: self._router.route(Error(request_id, ErrorCode.WORKER_DIED, NOT_RUNNING)))
        else:
            self._write(Request(request_id, op, dict(params)))
        return request_id

    def _supersede(self, channel: str, request_id: str) -> None:
        old = self._channels.get(channel)
        if old in self._router:
            self.cancel(old)  # type: ignore[arg-type]
            self._router.route(Error(old, ErrorCode.CANCELLED, "A newer request took its place."))  # type: ignore[arg-type]
        self._channels[channel] = request_id

    def cancel(self, request_id: str, escalate: bool = False) -> None:
        """Ask the worker to stop a request; with `escalate`, kill the worker if it has not ended within the grace period."""
        if request_id not in self._router or not self.running:
            return
        self._write(Request(f"cancel-{request_id}", "cancel", {"target": request_id}))
        if escalate:
            transport = self.transport
            QTimer.singleShot(CANCEL_GRACE_MS, self, lambda: self._cancel_overdue(transport, request_id))

    def _cancel_overdue(self, transport: Transport | None, request_id: str) -> None:
        if request_id in self._router and transport is self.transport and self.running:
            self._restart_after_kill = True
            self._escalate(transport, f"request {request_id} ignored cancel for {CANCEL_GRACE_MS} ms; restarting the worker")

    # -- transport events --------------------------------------------------------------------
    def _write(self, request: Request) -> None:
        if self.transport is not None:
            self.transport.write(to_line(request).encode())

    def _read(self, transport: Transport, data: bytes) -> None:
        if transport is self.transport:
            # A superseded request's late events, or the answer to a cancel, find no open id and are dropped.
            self._router.route_lines(self._lines.feed(data))

    def _deliver(self, on_done: Callable[[Done | Error], None] | None, event: Event) -> None:
        if isinstance(event, Token):
            self.token.emit(event.id, event.text)
        elif isinstance(event, Progress):
            self.progress.emit(event.id, event)
        else:
            if on_done is not None:
                on_done(event)
            self.finished.emit(event.id, event)

    def _hello(self, event: Done | Error) -> None:
        if isinstance(event, Done):
            self.hello = dict(event.result)
            self.ready.emit(self.hello)

    def _gone(self, transport: Transport, code: str, why: str) -> None:
        """The process ended (or never began): every open request finishes with an error, once."""
        if transport is not self.transport or not isValid(self):
            return  # a stale process, or this client is being destroyed at exit
        self._router.route_lines(self._lines.close())
        self.transport = None
        transport.deleteLater()
        message = gone_message(code, why)
        self._router.end_all(code, message)
        self.stopped.emit()
        if self._restart_after_kill:
            self._restart_after_kill = False
            self.start()
        elif not self._closing:
            self.died.emit(message)
