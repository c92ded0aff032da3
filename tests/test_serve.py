"""`scriptorium serve` through the official openai client: streaming and whole answers, the token, disconnects, bad bodies, loopback only."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import signal
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

openai = pytest.importorskip("openai")
# Its servers listen on 127.0.0.1: the network guard (tests/netguard.py) allows these tests loopback, and nothing else.
pytestmark = pytest.mark.loopback

from inference.chat_template import render_chat  # noqa: E402
from inference.models import Registry  # noqa: E402
from inference.server.auth import TOKEN_FILE  # noqa: E402
from inference.server.config import ServeConfig  # noqa: E402
from inference.server.openai_api import chat_params, embed_params, embeddings  # noqa: E402
from tests.tiny_model import CHAT_TEMPLATE  # noqa: E402

REPLY = "The quick brown fox " + "jumps " * 300


class Served:
    """A `scriptorium serve` process on a free port, and what a client needs to reach it."""

    def __init__(self, home: Path, *args: str, env: dict[str, str] | None = None) -> None:
        cmd = [sys.executable, "-m", "app.cli", "serve", "--home", str(home), "--port", "0", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
        line = self.proc.stdout.readline()  # the server prints its address once the model is loaded
        match = re.search(r"http://127\.0\.0\.1:(\d+)/v1", line)
        if not match:
            self.proc.kill()
            pytest.fail(f"serve did not start: {line!r} {self.proc.stderr.read()}")
        self.port = int(match.group(1))
        self.token = (home / TOKEN_FILE).read_text().strip()
        self.client = openai.OpenAI(base_url=f"http://127.0.0.1:{self.port}/v1", api_key=self.token, max_retries=0, timeout=30)
        self.model = self.client.models.list().data[0].id

    def http(self, method: str, path: str, body: bytes | None = None, token: str | None = None) -> tuple[int, dict]:
        """A raw request, for what the openai client will not send."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Authorization": f"Bearer {self.token if token is None else token}", "Content-Type": "application/json"}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        status, data = response.status, json.loads(response.read())
        conn.close()
        return status, data

    def queue(self) -> dict:
        return self.http("GET", "/scriptorium/queue")[1]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path):
    home = tmp_path_factory.mktemp("serve-home")
    Registry(home).use(str(tiny_model))
    server = Served(home, "--backend", "fake", env={"SCRIPTORIUM_FAKE_DELAY_MS": "2", "SCRIPTORIUM_FAKE_REPLY": REPLY})
    yield server
    server.stop()


def wait_for(condition, what: str, timeout: float = 20.0):
    """Poll `condition` until it returns something true; the server acts on its own threads."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


def test_models_lists_the_served_model(served: Served) -> None:
    models = served.client.models.list().data
    assert [m.id for m in models] == ["tiny-llama"] and models[0].owned_by == "scriptorium"


def test_completion_whole_and_streamed(served: Served) -> None:
    whole = served.client.completions.create(model=served.model, prompt="Once", max_tokens=10, temperature=0)
    assert whole.choices[0].text == REPLY[:10] and whole.choices[0].finish_reason == "length"
    assert (whole.usage.prompt_tokens, whole.usage.completion_tokens) == (4, 10)  # the fake tokenizer: one token a byte
    chunks = list(served.client.completions.create(model=served.model, prompt="Once", max_tokens=10, stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == REPLY[:10]
    assert chunks[-2].choices[0].finish_reason == "length" and chunks[-1].usage.completion_tokens == 10


def test_chat_whole_and_streamed(served: Served) -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]
    whole = served.client.chat.completions.create(model=served.model, messages=messages, max_tokens=9)
    assert whole.choices[0].message.role == "assistant" and whole.choices[0].message.content == REPLY[:9].strip()
    assert whole.usage.completion_tokens == 9 and whole.usage.prompt_tokens > 9
    chunks = list(served.client.chat.completions.create(model=served.model, messages=messages, max_tokens=9, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == REPLY[:9].strip()
    assert chunks[-1].choices[0].finish_reason == "length"


def test_stop_strings_end_the_answer(served: Served) -> None:
    answer = served.client.completions.create(model=served.model, prompt="Once", max_tokens=40, stop=[" fox"])
    assert answer.choices[0].text == "The quick brown" and answer.choices[0].finish_reason == "stop"


def test_a_wrong_or_missing_token_is_refused(served: Served) -> None:
    wrong = openai.OpenAI(base_url=f"http://127.0.0.1:{served.port}/v1", api_key="not-the-token", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    status, body = served.http("POST", "/v1/completions", b'{"prompt": "x"}', token="")
    assert status == 401 and body["error"]["type"] == "authentication_error"


def test_a_client_leaving_mid_stream_cancels_its_generation(served: Served) -> None:
    cancelled_before = served.queue()["outcomes"].get("cancelled", 0)
    stream = served.client.completions.create(model=served.model, prompt="Once", max_tokens=1500, stream=True)
    pieces = iter(stream)
    next(pieces), next(pieces)  # it is streaming: ~3 s of tokens still to come
    stream.close()
    stats = wait_for(lambda: (q := served.queue())["outcomes"].get("cancelled", 0) > cancelled_before and q["running"] is None and q, "the cancel")
    assert stats["recent"][-1]["op"] == "generate" and stats["recent"][-1]["outcome"] == "cancelled"
    assert served.client.completions.create(model=served.model, prompt="Again", max_tokens=3).choices[0].text == "The"  # still serving


def test_bad_bodies_get_openai_shaped_errors(served: Served) -> None:
    for body, code in ((b"this is not json", "invalid_json"), (b"[1, 2]", "invalid_json"), (b"\xff\xfe{", "invalid_json")):
        status, answer = served.http("POST", "/v1/completions", body)
        assert status == 400 and answer["error"]["code"] == code and answer["error"]["message"]
    status, answer = served.http("POST", "/v1/chat/completions", b'{"messages": "hello"}')
    assert status == 400 and answer["error"]["param"] == "messages"
    with pytest.raises(openai.BadRequestError, match="temperature"):
        served.client.completions.create(model=served.model, prompt="x", temperature="hot")  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError, match="n is not supported"):
        served.client.completions.create(model=served.model, prompt="x", n=2)
    with pytest.raises(openai.NotFoundError, match="serves 'tiny-llama'"):
        served.client.completions.create(model="gpt-4o", prompt="x")
    assert served.http("GET", "/v1/nowhere")[0] == 404


def test_a_huge_body_is_refused_with_413_and_nothing_blocks(served: Served) -> None:
    huge = "word " * (ServeConfig.max_body_bytes // 4)
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as refused:
        served.client.completions.create(model=served.model, prompt=huge, max_tokens=1)
    assert refused.value.status_code == 413 and refused.value.body["code"] == "request_too_large"
    assert time.monotonic() - started < 10
    assert served.client.completions.create(model=served.model, prompt="x", max_tokens=2).choices[0].text == "Th"


def test_embeddings_are_the_worker_embed_op_in_openais_shape(served: Served) -> None:
    try:
        answer = served.client.embeddings.create(model="all-minilm-l6-v2", input=["a passage", "another"])
    except openai.APIStatusError as unsupported:  # a worker without the embed op (before the corpus workbench)
        assert unsupported.status_code == 501 and unsupported.body["code"] == "unsupported"
        return
    assert [row.index for row in answer.data] == [0, 1] and len(answer.data[0].embedding) == 384 and answer.usage.prompt_tokens > 0


def test_embedding_results_become_openai_rows_in_either_encoding() -> None:
    result = {"model": {"name": "all-minilm-l6-v2", "dim": 2}, "count": 1, "encoding": "list", "vectors": [[0.5, -1.0]], "prompt_tokens": 3}
    assert embeddings(result, "float")["data"] == [{"object": "embedding", "index": 0, "embedding": [0.5, -1.0]}]
    packed = base64.b64decode(embeddings(result, "base64")["data"][0]["embedding"])
    assert struct.unpack("<2f", packed) == (0.5, -1.0) and embeddings(result, "float")["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    assert embed_params({"input": "x", "model": "bge-m3"}) == {"texts": ["x"], "encoding": "list", "model": "bge-m3"}


def test_requests_queue_as_background_work_of_their_client(served: Served) -> None:
    served.client.completions.create(model=served.model, prompt="x", max_tokens=1, user="alice")
    served.client.completions.create(model=served.model, prompt="x", max_tokens=1)
    alice, anonymous = served.queue()["recent"][-2:]
    assert (alice["priority"], alice["client"]) == ("background", "user:alice")
    assert anonymous["priority"] == "background" and re.fullmatch(r"peer:127\.0\.0\.1:\d+", anonymous["client"])


def test_the_token_is_made_once_and_kept_private(served: Served, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = Path(served.proc.args[served.proc.args.index("--home") + 1])
    assert stat.S_IMODE((home / TOKEN_FILE).stat().st_mode) == 0o600
    shown = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--home", str(home), "--show-token"], capture_output=True, text=True, timeout=60)
    assert shown.stdout.strip() == served.token and len(served.token) >= 40


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "localhost", "::"])
def test_it_refuses_to_listen_anywhere_but_loopback(host: str, tmp_path: Path) -> None:
    refused = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--home", str(tmp_path), "--host", host], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "127.0.0.1 only" in refused.stderr
    with pytest.raises(ValueError):
        ServeConfig(host=host)


def test_a_crashed_worker_is_replaced_with_the_model_loaded(served: Served) -> None:
    import psutil

    (worker,) = psutil.Process(served.proc.pid).children()
    worker.kill()
    worker.wait(10)
    answer = served.client.completions.create(model=served.model, prompt="Once", max_tokens=3)  # the next request starts a new one
    assert answer.choices[0].text == "The" and psutil.Process(served.proc.pid).children()[0].pid != worker.pid
    assert [(r["op"], r["priority"]) for r in served.queue()["recent"]] == [("load_model", "interactive"), ("generate", "background")]


def test_chat_renders_the_models_own_template() -> None:
    messages = [{"role": "user", "content": "Hello"}]
    params = chat_params({"messages": messages}, CHAT_TEMPLATE, n_ctx=2048, speculative="auto")
    assert params["raw_prompt"] == render_chat(CHAT_TEMPLATE, messages) and "stop" not in params
    base = chat_params({"messages": messages, "stop": "END"}, None, n_ctx=2048, speculative="auto")
    assert base["raw_prompt"].endswith("User: Hello\n\nAssistant:") and base["stop"] == ["\nUser:", "\nAssistant:", "END"]


def test_the_real_llama_path_answers_a_chat_with_the_tiny_chat_model(tmp_path: Path, tiny_chat_model: Path) -> None:
    server = Served(tmp_path, "--model", str(tiny_chat_model), "--n-ctx", "512")
    try:
        answer = server.client.chat.completions.create(model=server.model, messages=[{"role": "user", "content": "你好"}], max_tokens=8, temperature=0)
        assert answer.usage.completion_tokens <= 8 and answer.usage.prompt_tokens > 3
        streamed = server.client.completions.create(model=server.model, prompt="The river", max_tokens=8, temperature=0, stream=True)
        assert [c.choices[0].finish_reason for c in streamed][-1] in ("length", "stop")
    finally:
        server.stop()
