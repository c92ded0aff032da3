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
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal
from shiboken6 import isValid

from inference.client import worker_command
from inference.protocol import Done, Error, ErrorCode, Progress, Request, Token, WorkerError, from_line, to_line

log = logging.getLogger(__name__)

# The worker stops within milliseconds, between tokens or between graph nodes of a prefill; should native
# code hang anyway, after this grace period a stop becomes a terminate (the worker restarts, the text is
# never at risk).
CANCEL_GRACE_MS = 4000
# After a terminate (SIGTERM) the worker gets this long before SIGKILL.
KILL_AFTER_MS = 2000
SHUTDOWN_GRACE_MS = 3000


class QtWorkerClient(QObject):
    """Starts `python -m inference.worker` in a QProcess and turns its lines into signals."""

    ready = Signal(dict)  # the hello result, once per start
    progress = Signal(str, object)  # request id, Progress
    token = Signal(str, str)  # request id, text
    finished = Signal(str, object)  # request id, Done | Error — exactly once per id
    died = Signal(str)  # a sentence for the banner; not emitted for a requested shutdown
    stopped = Signal()  # the process is gone, for any reason

    def __init__(self, home: Path | None, backend: str = "llama_cpp", env: dict[str, str] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.home, self.backend, self.env = home, backend, dict(env or {})
        self.proc: QProcess | None = None
        self.hello: dict = {}
        self._ids = itertools.count(1)
        self._open: set[str] = set()
        self._channels: dict[str, str] = {}
        self._buffer = b""
        self._closing = False
        self._callbacks: dict[str, Callable[[Done | Error], None]] = {}
        self._restart_after_kill = False

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.state() != QProcess.ProcessState.NotRunning

    @property
    def pid(self) -> int | None:
        return int(self.proc.processId()) if self.running else None  # type: ignore[union-attr]

    def start(self) -> None:
        """Start the worker (no-op if it runs); `ready` follows when it has answered hello."""
        if self.running:
            return
        self._closing, self._buffer, self.hello = False, b"", {}
        proc = QProcess(self)
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        env = QProcessEnvironment.systemEnvironment()
        for key, value in self.env.items():
            env.insert(key, value)
        proc.setProcessEnvironment(env)
        proc.readyReadStandardOutput.connect(lambda p=proc: self._read(p))
        proc.readyReadStandardError.connect(lambda p=proc: self._log_stderr(p))
        proc.started.connect(lambda p=proc: self._started(p))
        proc.errorOccurred.connect(lambda err, p=proc: self._error(p, err))
        proc.finished.connect(lambda code, status, p=proc: self._gone(p, f"exit code {code}"))
        self.proc = proc
        cmd = self.command()
        proc.start(cmd[0], cmd[1:])
        self.request("hello", on_done=self._hello)

    def command(self) -> list[str]:
        """The worker's command line."""
        return worker_command(self.home, self.backend)

    def shutdown(self) -> None:
        """Stop politely (shutdown, end of input), then terminate, then kill; `stopped` follows."""
        if not self.running:
            QTimer.singleShot(0, self.stopped.emit)
            return
        self._closing = True
        proc = self.proc
        self._write(to_line(Request("shutdown", "shutdown")).encode())
        proc.closeWriteChannel()  # type: ignore[union-attr]
        QTimer.singleShot(SHUTDOWN_GRACE_MS, lambda: self._escalate(proc))

    def restart(self) -> None:
        """Start a fresh worker after a crash or a kill."""
        if self.running:
            self.kill()
        self.start()

    def kill(self) -> None:
        """End the worker at once (a stop that the worker did not honour)."""
        if self.proc is not None and self.running:
            self._closing = True
            self.proc.kill()

    def _escalate(self, proc: QProcess) -> None:
        if proc is self.proc and self.running:
            log.warning("the worker did not stop in time; terminating it")
            proc.terminate()
            QTimer.singleShot(KILL_AFTER_MS, lambda: proc.kill() if proc.state() != QProcess.ProcessState.NotRunning else None)

    # -- requests ----------------------------------------------------------------------------
    def request(self, op: str, channel: str | None = None, on_done: Callable[[Done | Error], None] | None = None, **params: object) -> str:
        """Send a request; return its id. `finished(id, event)` follows exactly once."""
        request_id = f"q{next(self._ids)}"
        if channel is not None:
            old = self._channels.get(channel)
            if old in self._open:
                self.cancel(old)
                self._finish(old, Error(old, ErrorCode.CANCELLED, "A newer request took its place."))
            self._channels[channel] = request_id
        self._open.add(request_id)
        if on_done is not None:
            self._callbacks[request_id] = on_done
        if self.proc is None:
            QTimer.singleShot(0, lambda: self._finish(request_id, Error(request_id, ErrorCode.WORKER_DIED, "The inference worker is not running; restart it and try again.")))
            return request_id
        self._write(to_line(Request(request_id, op, dict(params))).encode())
        return request_id

    def cancel(self, request_id: str, escalate: bool = False) -> None:
        """Ask the worker to stop a request; with `escalate`, kill the worker if it has not ended within the grace period."""
        if request_id not in self._open or not self.running:
            return
        self._write(to_line(Request(f"cancel-{request_id}", "cancel", {"target": request_id})).encode())
        if escalate:
            proc = self.proc
            QTimer.singleShot(CANCEL_GRACE_MS, lambda: self._cancel_overdue(proc, request_id))

    def _cancel_overdue(self, proc: QProcess | None, request_id: str) -> None:
        if request_id in self._open and proc is self.proc and self.running:
            log.warning("request %s ignored cancel for %d ms; restarting the worker", request_id, CANCEL_GRACE_MS)
            self._restart_after_kill = True
            proc.terminate()  # type: ignore[union-attr]
            QTimer.singleShot(KILL_AFTER_MS, lambda: proc.kill() if proc.state() != QProcess.ProcessState.NotRunning else None)  # type: ignore[union-attr]

    # -- process events ----------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        if self.proc is not None:
            self.proc.write(data)

    def _started(self, proc: QProcess) -> None:
        log.debug("worker started, pid %s", proc.processId())

    def _read(self, proc: QProcess) -> None:
        if proc is not self.proc or not isValid(proc):
            return
        self._buffer += bytes(proc.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            self._dispatch(raw.decode("utf-8", errors="replace"))

    def _dispatch(self, line: str) -> None:
        if not line.strip():
            return
        try:
            event = from_line(line)
        except WorkerError:
            log.warning("ignoring a line that is not protocol: %r", line[:200])
            return
        if event.id not in self._open:
            return  # a superseded request's late events, or the answer to a cancel
        if isinstance(event, Token):
            self.token.emit(event.id, event.text)
        elif isinstance(event, Progress):
            self.progress.emit(event.id, event)
        elif isinstance(event, (Done, Error)):
            self._finish(event.id, event)

    def _finish(self, request_id: str, event: Done | Error) -> None:
        if request_id not in self._open:
            return
        self._open.discard(request_id)
        callback = self._callbacks.pop(request_id, None)
        if callback is not None:
            callback(event)
        self.finished.emit(request_id, event)

    def _hello(self, event: Done | Error) -> None:
        if isinstance(event, Done):
            self.hello = dict(event.result)
            self.ready.emit(self.hello)

    def _log_stderr(self, proc: QProcess) -> None:
        if not isValid(proc):
            return
        for line in bytes(proc.readAllStandardError().data()).decode("utf-8", errors="replace").splitlines():
            if line.strip():
                log.info("worker: %s", line)

    def _error(self, proc: QProcess, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._gone(proc, "it could not start", code=ErrorCode.WORKER_START_FAILED)

    def _gone(self, proc: QProcess, why: str, code: str = ErrorCode.WORKER_DIED) -> None:
        """The process ended (or never began): every open request finishes with an error, once."""
        if proc is not self.proc or not isValid(self):
            return  # a stale process, or this client is being destroyed at exit
        self.proc = None
        if isValid(proc):
            proc.deleteLater()
        requested = self._closing
        message = (f"The inference worker stopped unexpectedly ({why}); your text is safe — restart the worker and try again."
                   if code == ErrorCode.WORKER_DIED else
                   f"The inference worker could not start ({proc.errorString()}); reinstall with `make install`.")
        for request_id in sorted(self._open):
            self._finish(request_id, Error(request_id, code, message))
        self.stopped.emit()
        if self._restart_after_kill:
            self._restart_after_kill = False
            self.start()
        elif not requested:
            self.died.emit(message)
