"""The offline guarantee: the worker, a generation, an import and a search succeed with no network at all; and the
suite's network guard (tests/netguard.py) refuses any connection a test did not declare, here and in subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.netguard import LOG, MODE, NetworkRefused
from tests.network_policy import take_refused

# Inside the namespace: no interface but a loopback that is down, so not even 127.0.0.1 answers.
PROBE = """
import errno, socket, sys
names = [name for _, name in socket.if_nameindex()]
try:
    socket.create_connection(("127.0.0.1", 9), timeout=2)
    reached = "connected"
except OSError as exc:
    reached = errno.errorcode.get(exc.errno, str(exc))
print(names, reached)
"""


def _netns() -> list[str] | None:
    """The command prefix that runs a program in a new network namespace: `unshare -n` as root, else `unshare -rn`."""
    if not shutil.which("unshare"):
        return None
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        if subprocess.run([*prefix, "true"], capture_output=True, timeout=30).returncode == 0:
            return prefix
    return None


NETNS = _netns()
needs_netns = pytest.mark.skipif(NETNS is None, reason="no network namespace can be made here (unshare -n and unshare -rn both refused)")


def _offline(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run a command in a network namespace of its own; the namespace, not the audit hook, is its guard."""
    env = {k: v for k, v in os.environ.items() if k not in (MODE, LOG)}
    return subprocess.run([*NETNS, *argv], input=stdin, capture_output=True, text=True, timeout=180, env=env)


@needs_netns
def test_the_namespace_has_no_network(tmp_path: Path) -> None:
    probe = _offline(sys.executable, "-c", PROBE)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["['lo']", "ENETUNREACH"]


@needs_netns
def test_generate_import_and_search_succeed_with_no_network(tmp_path: Path, tiny_model: Path) -> None:
    home, texts = tmp_path / "home", tmp_path / "texts"
    texts.mkdir()
    (texts / "静夜思.txt").write_text("床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n", encoding="utf-8")
    (texts / "moon.md").write_text("# The Moon\n\nThe moon rose over the harbour.\n", encoding="utf-8")
    cli = [sys.executable, "-m", "app.cli"]
    wrote = _offline(*cli, "write", "continue", "--model", str(tiny_model), "--max-tokens", "8", "--temperature", "0",
                     "--json", "--home", str(home), stdin="Once upon a time")
    assert wrote.returncode == 0, wrote.stderr
    assert json.loads(wrote.stdout)["stats"]["generated_tokens"] >= 1  # the worker ran the tiny model
    imported = _offline(*cli, "corpus", "import", str(texts), "--corpus", "c", "--json", "--home", str(home))
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["imported"] == 2
    for query, title in (("明月", "静夜思"), ("harbour", "The Moon")):
        found = _offline(*cli, "corpus", "search", query, "--json", "--home", str(home))
        assert found.returncode == 0, found.stderr
        assert [hit["title"] for hit in json.loads(found.stdout)["hits"]] == [title]


def test_the_guard_refuses_a_connection_here_and_in_a_subprocess() -> None:
    with pytest.raises(NetworkRefused):
        socket.create_connection(("127.0.0.1", 9), timeout=1)  # even loopback, in a test not marked for it
    with pytest.raises(NetworkRefused):
        socket.getaddrinfo("example.org", 443)
    child = subprocess.run([sys.executable, "-c", "import socket; socket.socket().connect(('10.1.2.3', 80))"],
                           capture_output=True, text=True, timeout=60)
    assert child.returncode != 0 and "NetworkRefused" in child.stderr
    refused = take_refused()  # taken here, so this test passes; any other test would fail on them
    assert [line.split(": ", 1)[1] for line in refused] == [
        "socket.getaddrinfo to '127.0.0.1'", "socket.getaddrinfo to 'example.org' (not even loopback)",
        "socket.connect to '10.1.2.3' (not even loopback)"]
    assert refused[2].split(":")[0] != refused[0].split(":")[0]  # the last from the child, by its pid


@pytest.mark.loopback
def test_a_loopback_test_reaches_127_0_0_1_and_nothing_else() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
    with pytest.raises(NetworkRefused):
        socket.create_connection(("192.0.2.1", 80), timeout=1)
    assert [line.split(": ", 1)[1] for line in take_refused()] == ["socket.getaddrinfo to '192.0.2.1' (not even loopback)"]
