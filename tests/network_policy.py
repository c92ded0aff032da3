"""The network guard (tests/netguard.py) over the whole test run: in this process and, by sitecustomize, in every
Python process a test starts; loopback allowed only in the phases (setup, call, teardown) of `loopback` tests."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Generator
from pathlib import Path

import pytest

from tests import netguard

_SITE = Path(tempfile.mkdtemp(prefix="scriptorium-netguard-"))
_REFUSED_LOG = _SITE / "refused.log"


def _install() -> None:
    """The sitecustomize folder first on PYTHONPATH, the log named, the hook installed here."""
    shutil.copy(netguard.__file__, _SITE / "scriptorium_netguard.py")
    (_SITE / "sitecustomize.py").write_text(netguard.SITECUSTOMIZE, encoding="utf-8")
    _REFUSED_LOG.touch()
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(_SITE), os.environ.get("PYTHONPATH", "")) if p)
    os.environ[netguard.LOG] = str(_REFUSED_LOG)
    os.environ[netguard.MODE] = "none"
    netguard.install()
    atexit.register(shutil.rmtree, _SITE, ignore_errors=True)


def take_refused() -> list[str]:
    """What the guard refused since the phase began, here and in subprocesses; forgotten, so the phase passes."""
    refused = _REFUSED_LOG.read_text(encoding="utf-8").splitlines()
    _REFUSED_LOG.write_text("", encoding="utf-8")
    return refused


def _guarded(item: pytest.Item) -> Generator[None, object, object]:
    loopback = item.get_closest_marker("loopback") is not None
    os.environ[netguard.MODE] = "loopback" if loopback else "none"  # for the processes this phase starts
    netguard.GUARD.loopback_allowed = loopback
    try:
        return (yield)
    finally:
        if refused := take_refused():
            mark = "" if loopback else " (mark it @pytest.mark.loopback if it must talk to 127.0.0.1)"
            pytest.fail(f"{item.nodeid} used the network{mark}: " + "; ".join(dict.fromkeys(refused)), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _guarded(item))


_install()
