"""Work that must not run on the GUI thread (import, export, reading model files) in Qt's thread pool.

Each job is a plain function; it opens its own database connection if it needs one (sqlite3 connections
belong to the thread that opened them). Its typed errors come back as a signal, as onionshare does.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from app.errors import ScriptoriumError
from inference.protocol import WorkerError

log = logging.getLogger(__name__)
_live: set["Relay"] = set()  # keeps each job's relay alive until its result is delivered


class JobSignals(QObject):
    done = Signal(object)
    failed = Signal(str)


class Relay(QObject):
    """Lives on the GUI thread, so a pool thread's signal reaches it queued and the callbacks run there."""

    def __init__(self, on_done: Callable[[Any], None], on_failed: Callable[[str], None]) -> None:
        super().__init__()
        self.on_done, self.on_failed = on_done, on_failed

    @Slot(object)
    def deliver(self, value: Any) -> None:
        _live.discard(self)
        _reap()
        self.on_done(value)

    @Slot(str)
    def fail(self, message: str) -> None:
        _live.discard(self)
        _reap()
        self.on_failed(message)


class Job(QRunnable):
    """Runs `fn(*args)` on a pool thread; the result or a readable error arrives on the GUI thread."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        super().__init__()
        # The pool must not delete the runnable, nor Python collect it (and its signals' QObject) on the pool
        # thread while a queued signal of it is in flight: seen as an intermittent SIGSEGV with many jobs.
        # Jobs are released on the GUI thread, one delivery after they ended (_reap).
        self.setAutoDelete(False)
        self.fn, self.args = fn, args
        self.signals = JobSignals()
        self.ended = False

    def run(self) -> None:
        try:
            result = self.fn(*self.args)
        except (ScriptoriumError, WorkerError) as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:  # a bug must still reach the user as a message, not vanish in a pool thread
            log.exception("background job %s failed", getattr(self.fn, "__name__", self.fn))
            self.signals.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.signals.done.emit(result)
        finally:
            self.ended = True


_jobs: list[Job] = []  # started jobs, kept until they have ended and their result was delivered


_ended: list[Job] = []  # ended at the last delivery: its run() may still have been returning then


def _reap() -> None:
    """Release (on the GUI thread) the jobs seen ended one delivery ago, so no run() can still be on a stack."""
    _ended[:] = [job for job in _jobs if job.ended]
    _jobs[:] = [job for job in _jobs if not job.ended]


def run_job(fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None], on_failed: Callable[[str], None]) -> Relay:
    """Start `fn(*args)` in the global thread pool; call back on the GUI thread."""
    job = Job(fn, *args)
    _jobs.append(job)
    relay = Relay(on_done, on_failed)
    _live.add(relay)
    job.signals.done.connect(relay.deliver)
    job.signals.failed.connect(relay.fail)
    QThreadPool.globalInstance().start(job)
    return relay
