"""The test suite's network guard: an audit hook that refuses, and reports, every network use a test did not declare.

Policy, per process:
  - Unix sockets (local IPC) are always allowed;
  - loopback (127.0.0.0/8, ::1, localhost) only while a test marked `loopback` runs (the remote backend's and
    `serve`'s tests, whose servers listen on 127.0.0.1);
  - any other address, never.
The audited calls are socket connect, bind, sendto/sendmsg and the name lookups (getaddrinfo, gethostbyname,
gethostbyaddr, getnameinfo). A refused call raises NetworkRefused, an OSError, so the code under test sees a
network failure; and it is written to the file SCRIPTORIUM_NETGUARD_LOG names, so the test fails even when
that code swallows the error.

The hook is per process: subprocesses (the worker, `scriptorium serve`, the command line) get it through a
sitecustomize module on PYTHONPATH that installs this same file when SCRIPTORIUM_NETGUARD is set, and write
what they refuse to the same file, which the test run reads after each phase.
This file imports nothing from the project, so a subprocess can load it before anything else.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys

MODE = "SCRIPTORIUM_NETGUARD"  # "none" (no network at all) or "loopback"
LOG = "SCRIPTORIUM_NETGUARD_LOG"
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_ADDRESSED = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"}
_LOOKUPS = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo"}


class NetworkRefused(PermissionError):
    """A test opened a network connection it did not declare."""


class Guard:
    """The process's policy: whether loopback is allowed now."""

    def __init__(self) -> None:
        self.loopback_allowed = False

    def audit(self, event: str, args: tuple) -> None:
        if event in _ADDRESSED:
            sock, address = args[0], args[1]
            if getattr(sock, "family", None) in (socket.AF_INET, socket.AF_INET6):
                self._check(event, address[0] if isinstance(address, tuple) else address)
        elif event in _LOOKUPS:
            host = args[0][0] if event == "socket.getnameinfo" else args[0]
            if host not in (None, "", b""):  # a passive lookup (for bind) names no host
                self._check(event, host)

    def _check(self, event: str, host: object) -> None:
        if self.loopback_allowed and _is_loopback(host):
            return
        what = f"{event} to {host!r}" + ("" if _is_loopback(host) else " (not even loopback)")
        log = os.environ.get(LOG)
        if log:
            with open(log, "a", encoding="utf-8") as f:
                f.write(f"pid {os.getpid()}: {what}\n")
        raise NetworkRefused(f"the test suite allows no network here: {what}")


def _is_loopback(host: object) -> bool:
    name = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
    if name.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


GUARD = Guard()


def install() -> Guard:
    """Install the hook in this process (once: audit hooks cannot be removed), its policy from SCRIPTORIUM_NETGUARD."""
    if not getattr(sys, "_scriptorium_netguard", False):
        sys.addaudithook(GUARD.audit)
        sys._scriptorium_netguard = True  # type: ignore[attr-defined]
    GUARD.loopback_allowed = os.environ.get(MODE) == "loopback"
    return GUARD


SITECUSTOMIZE = f"""# Written by tests/netguard.py: the network guard in every Python process the tests start.
import os
if os.environ.get({MODE!r}):
    import scriptorium_netguard
    scriptorium_netguard.install()
"""
