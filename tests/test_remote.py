"""Remote models against a real OpenAI-compatible server (llama-cpp-python's), and a peer that hangs, drops or garbles."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.cli import main
from app.desk.model_facts import describe, summary
from app.desk.status import device_label
from app.store import list_generations, open_db
from inference.backends.base import LoadOptions
from inference.backends.fake import FakeBackend
from inference.backends.openai_http import BACKOFF_S, RETRIES
from inference.client import WorkerClient
from inference.engine import Engine, GenerateParams
from inference.models import Registry, RemoteSpec
from inference.protocol import Done, Error, ErrorCode, Token, WorkerError
from tests.remote_servers import PEER_MODEL, free_port, llama_server, peer

pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python's server extra (fastapi, sse-starlette …) is not installed")
# Its servers listen on 127.0.0.1: the network guard (tests/netguard.py) allows these tests loopback, and nothing else.
pytestmark = pytest.mark.loopback

ALIAS = "tiny-llama"
KEY_VAR = "SCRIPTORIUM_TEST_REMOTE_KEY"
LONG_TEXT = "The lighthouse keeper climbed the stairs and looked out over the harbour. " * 60


@pytest.fixture(scope="module")
def tiny_server(tiny_model: Path) -> str:
    with llama_server(tiny_model, ALIAS, n_ctx=512) as url:
        yield url


@pytest.fixture(scope="module")
def keyed_server(tiny_model: Path) -> str:
    with llama_server(tiny_model, ALIAS, n_ctx=512, api_key="right-key") as url:
        yield url


def _add(home: Path, name: str, url: str, model: str = ALIAS, **spec: object) -> None:
    context = spec.pop("context_length", None)
    Registry(home).add_remote(name, RemoteSpec(url, model, **spec), context)  # type: ignore[arg-type]


def _engine(home: Path, name: str) -> Engine:
    """An in-process engine (fake local backend) with the named remote model loaded."""
    engine = Engine(FakeBackend())
    engine.load(Registry(home).get(name), LoadOptions())
    return engine


def _generate(engine: Engine, **params: object) -> tuple[str, dict]:
    pieces: list[str] = []
    outcome = engine.generate(GenerateParams(**params), lambda text, n: pieces.append(text), threading.Event())  # type: ignore[arg-type]
    return "".join(pieces), outcome.to_result()


def _code(call) -> tuple[str, str]:
    with pytest.raises(WorkerError) as caught:
        call()
    return caught.value.code, caught.value.message


def test_streaming_write_through_the_worker_with_a_remote_model(home: Path, tiny_server: str) -> None:
    _add(home, "far", tiny_server, chat=False)
    with WorkerClient(home=home) as client:
        loaded = client.call("load_model", timeout=60, model="far")
        assert loaded["remote"] is True and loaded["host"] == tiny_server.split("/")[2]
        assert client.call("hello", timeout=10)["backend"] == "openai_remote"
        rid = client.send("generate", model="far", text="The river rose", max_tokens=24, temperature=0)
        events = list(client.events(rid, timeout=60))
    tokens = [e.text for e in events if isinstance(e, Token)]
    done = events[-1]
    assert isinstance(done, Done) and tokens and "".join(tokens) == done.result["output"]
    stats = done.result["stats"]
    assert stats["prompt_tokens"] > 3 and stats["generated_tokens"] >= len(tokens) and stats["ttft_ms"] > 0
    assert stats["tokens_per_s"] and stats["remote"] == loaded["host"]
    assert "remote" in stats["cache"] and "remote" in stats["speculative_note"] and stats["tokens_reused"] == 0


def test_one_worker_switches_between_a_local_and_a_remote_model(home: Path, tiny_server: str, tiny_model: Path) -> None:
    _add(home, "far", tiny_server, chat=False)
    with WorkerClient(home=home) as client:
        for model in (str(tiny_model), "far", str(tiny_model)):
            result = client.call("generate", timeout=60, model=model, text="Once", max_tokens=6, temperature=0)
            assert result["stats"]["generated_tokens"] >= 1
            hello = client.call("hello", timeout=10)
            assert hello["backend"] == ("openai_remote" if model == "far" else "llama_cpp")
            assert hello["remote"] is (model == "far")


def test_a_chat_entry_sends_messages_and_fits_long_text_by_the_servers_count(home: Path, tiny_server: str) -> None:
    _add(home, "chatty", tiny_server, context_length=400)
    text, result = _generate(_engine(home, "chatty"), task="summarize", text=LONG_TEXT, max_tokens=8, temperature=0)
    assert result["notes"] and "left out" in result["notes"][0]  # fitted to the declared 400 tokens
    assert result["stats"]["prompt_tokens"] <= 400 - 8
    assert result["prompt"].startswith("Summarize the following text")  # the task's chat ask, not a few-shot prompt


def test_cancel_closes_the_stream_at_once(home: Path) -> None:
    with peer() as server:
        server.mode = "hang_mid"
        _add(home, "slow", server.base_url, model=PEER_MODEL, chat=False, read_timeout_s=60)
        with WorkerClient(home=home, backend="fake") as client:
            rid = client.send("generate", model="slow", text="Once", max_tokens=50)
            events = client.events(rid, timeout=60)
            first = next(e for e in events if isinstance(e, Token))
            t0 = time.perf_counter()
            client.cancel(rid)
            end = next(e for e in events if isinstance(e, (Done, Error)))
            assert isinstance(end, Error) and end.code == ErrorCode.CANCELLED
            assert server.disconnected.wait(10)  # the server saw the client go: the stream was closed, not abandoned
            assert time.perf_counter() - t0 < 10  # far below the 60 s read timeout
        assert first.text == "Once"


def test_an_unreachable_server_is_named_after_retries(home: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    _add(home, "gone", url)
    t0 = time.perf_counter()
    code, message = _code(lambda: _engine(home, "gone"))
    assert code == ErrorCode.REMOTE_UNREACHABLE and url in message and "start it" in message
    assert time.perf_counter() - t0 >= BACKOFF_S * (2**RETRIES - 1)  # every backoff was waited out before giving up


def test_a_wrong_api_key_names_the_variable(home: Path, keyed_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _add(home, "keyed", keyed_server, api_key_env=KEY_VAR, chat=False)
    monkeypatch.setenv(KEY_VAR, "wrong-key")
    code, message = _code(lambda: _engine(home, "keyed"))
    assert code == ErrorCode.REMOTE_UNAUTHORISED and KEY_VAR in message and "401" in message
    monkeypatch.delenv(KEY_VAR)
    code, message = _code(lambda: _engine(home, "keyed"))
    assert code == ErrorCode.REMOTE_UNAUTHORISED and f"{KEY_VAR}" in message and "not set" in message
    monkeypatch.setenv(KEY_VAR, "right-key")
    text, result = _generate(_engine(home, "keyed"), text="Once", max_tokens=4, temperature=0)
    assert result["stats"]["generated_tokens"] >= 1
    assert "right-key" not in (home / "models.json").read_text()  # the key is read at request time, never stored


def test_a_model_the_server_does_not_serve_lists_what_it_does(home: Path, tiny_server: str) -> None:
    _add(home, "typo", tiny_server, model="tiny-lama")
    code, message = _code(lambda: _engine(home, "typo"))
    assert code == ErrorCode.MODEL_NOT_SERVED and "'tiny-lama'" in message and ALIAS in message


def test_a_prompt_too_long_for_the_servers_context_says_so(home: Path, tiny_server: str) -> None:
    _add(home, "small", tiny_server, chat=False, context_length=4096)  # the entry claims more than the server's 512
    engine = _engine(home, "small")
    code, message = _code(lambda: _generate(engine, text=LONG_TEXT, max_tokens=16, temperature=0))
    assert code == ErrorCode.CONTEXT_OVERFLOW and "--context" in message


def test_a_server_that_hangs_times_out(home: Path) -> None:
    with peer() as server:
        _add(home, "stuck", server.base_url, model=PEER_MODEL, chat=False, read_timeout_s=0.5)
        code, message = _code(lambda: _generate(_engine(home, "stuck"), text="Once", max_tokens=8))
    assert code == ErrorCode.REMOTE_TIMEOUT and "0.5 s" in message and "--read-timeout" in message


def test_a_stream_dropped_mid_answer_keeps_what_came(home: Path) -> None:
    with peer() as server:
        server.mode = "drop"
        _add(home, "flaky", server.base_url, model=PEER_MODEL, chat=False)
        with WorkerClient(home=home, backend="fake") as client:
            events = list(client.events(client.send("generate", model="flaky", text="Tell me", max_tokens=20), timeout=60))
        assert server.completions == 1  # an answer once begun is never asked again
    assert "".join(e.text for e in events if isinstance(e, Token)) == "Once upon a time"
    assert isinstance(events[-1], Error) and events[-1].code == ErrorCode.STREAM_DROPPED
    assert "mid-answer" in events[-1].message and "kept" in events[-1].message


def test_write_keeps_and_logs_the_text_of_a_dropped_stream(home: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    with peer() as server:
        server.mode = "drop"
        _add(home, "flaky", server.base_url, model=PEER_MODEL, chat=False)
        monkeypatch.setattr("sys.stdin", io.StringIO("Tell me"))
        assert main(["write", "continue", "--model", "flaky", "--home", str(home)]) == 1
    out, err = capsys.readouterr()
    assert "Once upon a time" in out and "mid-answer" in err
    assert f"using remote model flaky at {server.base_url}" in err
    [logged] = list_generations(open_db(home))
    assert logged.output == "Once upon a time" and logged.status == "error"


def test_malformed_json_is_its_own_error(home: Path) -> None:
    with peer() as server:
        server.mode = "malformed"
        _add(home, "garbled", server.base_url, model=PEER_MODEL, chat=False)
        code, message = _code(lambda: _generate(_engine(home, "garbled"), text="Once", max_tokens=8))
    assert code == ErrorCode.REMOTE_BAD_RESPONSE and "not the JSON" in message


def test_an_http_error_gives_status_and_the_servers_words_and_is_not_retried(home: Path) -> None:
    with peer() as server:
        server.mode = "error500"
        _add(home, "broken", server.base_url, model=PEER_MODEL, chat=False)
        code, message = _code(lambda: _generate(_engine(home, "broken"), text="Once", max_tokens=8))
        assert server.completions == 1
    assert code == ErrorCode.REMOTE_HTTP_ERROR and "HTTP 500" in message and "the GPU caught fire" in message


def test_models_add_remote_list_info_and_use(home: Path, capsys) -> None:
    argv = ["models", "add-remote", "far", "--base-url", "http://127.0.0.1:9/", "--model", "m1", "--api-key-env", KEY_VAR, "--completion"]
    assert main(argv + ["--home", str(home)]) == 0
    assert main(["models", "use", "far", "--home", str(home)]) == 0
    capsys.readouterr()
    assert main(["models", "info", "far", "--home", str(home)]) == 0
    info = capsys.readouterr().out
    assert "http://127.0.0.1:9/v1" in info and f"${KEY_VAR}" in info and "few-shot" in info and "sent to 127.0.0.1:9" in info
    model = Registry(home).default()
    assert model.name == "far" and model.remote.base_url == "http://127.0.0.1:9/v1" and not model.chat
    assert model.sha256 == RemoteSpec("http://127.0.0.1:9/v1", "m1").identity()
    assert summary(model) == "remote   127.0.0.1:9  m1"


def test_the_desk_says_when_text_leaves_the_machine(home: Path) -> None:
    _add(home, "far", "http://10.0.0.7:8000", model="big")
    assert device_label({"remote": True, "host": "10.0.0.7:8000"}) == "Remote: 10.0.0.7:8000 — text leaves this machine"
    assert device_label({"device": "cpu"}) == "CPU"
    assert describe(Registry(home).get("far"))["privacy"] == "remote: your text is sent to 10.0.0.7:8000"


NO_NETWORK_SCRIPT = """
import sys, threading
connects = []
sys.addaudithook(lambda event, args: connects.append(args) if event == "socket.connect" else None)
from pathlib import Path
from inference.backends.llama_cpp import LlamaCppBackend
from inference.backends.base import LoadOptions
from inference.engine import Engine, GenerateParams
from inference.models import Registry
home = Path(sys.argv[2])
engine = Engine(LlamaCppBackend())
engine.load(Registry(home).get(sys.argv[1]), LoadOptions(n_ctx=512))
engine.generate(GenerateParams(text="Once", max_tokens=8, temperature=0), lambda t, n: None, threading.Event())
print(len(connects), "httpx" in sys.modules)
"""


def test_a_local_model_opens_no_network_connection(home: Path, tiny_model: Path) -> None:
    """An audit hook sees every socket connect in the process: a local generation makes none, and never imports httpx."""
    done = subprocess.run([sys.executable, "-c", NO_NETWORK_SCRIPT, str(tiny_model), str(home)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "False"]


@pytest.mark.embedded
def test_write_continue_with_the_embedded_model_served_remotely(home: Path, embedded_model: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    with llama_server(embedded_model, "gemma", n_ctx=2048) as url:
        _add(home, "gemma-remote", url, model="gemma", chat=False)
        monkeypatch.setattr("sys.stdin", io.StringIO("The lighthouse keeper climbed the stairs"))
        argv = ["write", "continue", "--model", "gemma-remote", "--max-tokens", "24", "--temperature", "0", "--json", "--home", str(home)]
        assert main(argv) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert f"using remote model gemma-remote at {url} — your text is sent to that server" in err
    assert result["model"] == "gemma-remote" and len(result["output"].split()) >= 3
    assert result["stats"]["prompt_tokens"] >= 7 and result["stats"]["generated_tokens"] >= 5 and result["stats"]["tokens_per_s"]
    [logged] = list_generations(open_db(home))
    assert logged.model == "gemma-remote" and logged.status == "ok" and logged.output == result["output"]


def test_corpus_ask_with_a_remote_model_cites_and_says_text_leaves(home: Path, tiny_server: str, tmp_path: Path, capsys) -> None:
    """A cited answer from a served model: the passages go to the server, the CLI says so, and the answer is logged."""
    town = tmp_path / "town.txt"
    town.write_text("The mill by the river was built in 1820 by the Carter family. It ground corn for a century.\n\n"
                    "In winter the river froze, and the children skated from the bridge to the church.", encoding="utf-8")
    assert main(["corpus", "import", str(town), "--corpus", "town", "--home", str(home), "--json"]) == 0
    _add(home, "tiny-remote", tiny_server, chat=False)
    capsys.readouterr()
    argv = ["corpus", "ask", "Who built the mill?", "--corpus", "town", "--model", "tiny-remote", "--json", "--home", str(home)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    answer = json.loads(out)
    assert f"using remote model tiny-remote at {tiny_server} — your text is sent to that server" in err
    assert not answer["refused"] and answer["answer"].startswith("[")
    assert answer["sources"][0]["number"] == 1 and "Carter" in answer["sources"][0]["text"]
    [logged] = list_generations(open_db(home))
    assert logged.task == "answer" and logged.model == "tiny-remote" and logged.output == answer["answer"]
