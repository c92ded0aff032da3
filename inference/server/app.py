"""The HTTP side of `scriptorium serve`: OpenAI's /v1 routes over the worker, bodies bounded, every error in OpenAI's shape."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import uvicorn
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from inference.client import WorkerClient
from inference.protocol import Done, Error, Event, Token
from inference.server.auth import BearerAuth, serve_token
from inference.server.bridge import Pending, WorkerBridge, until_disconnect
from inference.server.config import ServeConfig
from inference.server.openai_api import (
    ApiError,
    Reply,
    chat_params,
    completion_params,
    embed_params,
    embeddings,
    error_body,
    finish_reason,
    wants_usage_in_stream,
)

log = logging.getLogger(__name__)
PING_S = 15  # an SSE comment line this often keeps idle proxies and clients from timing out a slow answer
CLIENT_GONE = 499  # nginx's status for "the client closed the connection": nobody reads it, the log does
# llama.cpp's OpenMP threads spin while they wait by default. The endpoint's worker shares the CPUs with
# this server, its clients and the desktop's own worker; spinning threads take the cores the others
# need to hand on each token. Measured with 4 HTTP clients on 2 busy cores: per-round wall times fell
# from 12-26 s to 9-15 s with PASSIVE (they sleep instead), level with llama-cpp-python's server.
SERVE_WORKER_ENV = {"OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}


class Routes:
    """The endpoint's handlers; every generation is a background request tagged with its HTTP client."""

    def __init__(self, bridge: WorkerBridge, config: ServeConfig) -> None:
        self.bridge, self.config = bridge, config
        self.started = int(time.time())

    async def models(self, request: Request) -> Response:
        model = {"id": self.bridge.model["name"], "object": "model", "created": self.started, "owned_by": "scriptorium"}
        return JSONResponse({"object": "list", "data": [model]})

    async def completions(self, request: Request) -> Response:
        return await self._generate(request, chat=False)

    async def chat(self, request: Request) -> Response:
        return await self._generate(request, chat=True)

    async def embeddings(self, request: Request) -> Response:
        """The worker's embed op; its model is the embedder the body names, not the served generation model."""
        body = await read_json(request, self.config.max_body_bytes)
        done = await self._answer(request, self.bridge.submit("embed", embed_params(body), client=client_of(request, body)))
        return JSONResponse(embeddings(done.result, body.get("encoding_format", "float")))

    async def queue(self, request: Request) -> Response:
        """Not OpenAI's: what the worker runs and queues, and how its last requests ended."""
        return JSONResponse((await self._answer(request, self.bridge.queue_stats())).result)

    async def _generate(self, request: Request, chat: bool) -> Response:
        body = await self._body(request)
        if chat:
            params = chat_params(body, self.bridge.model.get("chat_template"), self.bridge.n_ctx, self.config.speculative)
        else:
            params = completion_params(body, self.config.speculative)
        stream = body.get("stream", False)
        if stream not in (True, False, None):
            raise ApiError(400, "stream must be true or false.", param="stream")
        pending = self.bridge.submit("generate", params, client=client_of(request, body))
        first = await until_disconnect(request, pending.first())
        if first is None:  # left while queued
            pending.abandon()
            return Response(status_code=CLIENT_GONE)
        if isinstance(first, Error):
            raise ApiError.from_worker(first.code, first.message)
        reply = Reply(chat, self.bridge.model["name"])
        if stream:
            return EventSourceResponse(_chunks(pending, reply, first, wants_usage_in_stream(body)), ping=PING_S)
        done = first if isinstance(first, Done) else await self._answer(request, pending)
        return JSONResponse(reply.whole(done.result))

    async def _answer(self, request: Request, pending: Pending) -> Done:
        """A request's result; its error as an ApiError; a client that leaves first cancels it."""
        end = await until_disconnect(request, pending.end())
        if end is None:
            pending.abandon()
            raise ApiError(CLIENT_GONE, "The client closed the connection.")
        if isinstance(end, Error):
            raise ApiError.from_worker(end.code, end.message)
        return end

    async def _body(self, request: Request) -> dict:
        """The JSON object of a request that names the served model (or none)."""
        body = await read_json(request, self.config.max_body_bytes)
        name = self.bridge.model["name"]
        if body.get("model") not in (None, "", name):
            raise ApiError(404, f"This endpoint serves {name!r}, not {body['model']!r}; start `scriptorium serve --model NAME` for another model.", "model_not_found", "model")
        return body


async def _chunks(pending: Pending, reply: Reply, event: Event, include_usage: bool) -> AsyncIterator[str]:
    """The SSE data lines of a streamed answer; if the client goes, sse-starlette cancels us and the worker stops too."""
    try:
        if reply.chat:
            yield _dumps(reply.chunk(opening=True))
        while not isinstance(event, (Done, Error)):
            if isinstance(event, Token) and (text := reply.text(event.text)):
                yield _dumps(reply.chunk(text))
            event = await pending.next()
        if isinstance(event, Error):  # the stream has begun, so the error travels in it, as OpenAI's does
            yield _dumps(ApiError.from_worker(event.code, event.message).body())
            return
        yield _dumps(reply.chunk(finish=finish_reason(event.result)))
        if include_usage:
            yield _dumps(reply.usage_chunk(event.result))
        yield "[DONE]"
    finally:
        pending.abandon()


async def read_json(request: Request, limit: int) -> dict:
    """The body as a JSON object; 413 past `limit` bytes (read no further), 400 for anything that is not a JSON object."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    try:
        data = json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
        raise ApiError(400, f"The request body is not JSON ({exc}).", "invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.", "invalid_json")
    return data


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"The request body is larger than {limit:,} bytes; send less text (or raise `serve --max-body-bytes`).", "request_too_large")


def client_of(request: Request, body: dict) -> str:
    """Whose turn this request takes in the worker's queue: OpenAI's `user` field, else the connection's address and port."""
    user = body.get("user")
    if isinstance(user, str) and user:
        return f"user:{user}"
    peer = request.client
    return f"peer:{peer.host}:{peer.port}" if peer else "peer:unknown"


def _dumps(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse(error_body(exc.status_code, f"{exc.detail}: {request.method} {request.url.path}."), status_code=exc.status_code, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("request %s %s failed", request.method, request.url.path)
    return JSONResponse(error_body(500, f"Internal error in the endpoint: {type(exc).__name__}: {exc}", "internal"), status_code=500)


def create_app(bridge: WorkerBridge, token: str, config: ServeConfig) -> BearerAuth:
    """The ASGI application: the bearer check, then the routes; the worker is closed when it shuts down."""
    routes = Routes(bridge, config)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(bridge.close)

    app = Starlette(
        routes=[
            Route("/v1/models", routes.models, methods=["GET"]),
            Route("/v1/completions", routes.completions, methods=["POST"]),
            Route("/v1/chat/completions", routes.chat, methods=["POST"]),
            Route("/v1/embeddings", routes.embeddings, methods=["POST"]),
            Route("/scriptorium/queue", routes.queue, methods=["GET"]),
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _internal_error},
        lifespan=lifespan,
    )
    return BearerAuth(app, token)


class Endpoint:
    """A listening socket on 127.0.0.1, the worker behind it and uvicorn between them; `run` blocks until `stop` or a signal."""

    def __init__(self, config: ServeConfig, home: Path) -> None:
        self.config = config
        self.token = serve_token(home)
        self.socket = listen(config)
        self.port = self.socket.getsockname()[1]
        self.bridge = WorkerBridge(WorkerClient(home, config.backend, env=SERVE_WORKER_ENV), load_params(config))
        self.server: uvicorn.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}/v1"

    def load(self) -> dict:
        """Start the worker and load the model; the socket already queues connections meanwhile."""
        return self.bridge.load()

    def run(self) -> None:
        # log_config=None: uvicorn's loggers go through the command's own logging setup (access lines only with -v).
        config = uvicorn.Config(create_app(self.bridge, self.token, self.config), log_config=None, timeout_graceful_shutdown=3)
        self.server = uvicorn.Server(config)
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self.bridge.close()

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True


def listen(config: ServeConfig) -> socket.socket:
    """Bind and listen on 127.0.0.1 now, so the port is known (0 picks one) and clients queue until the model is loaded."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait out TIME_WAIT; two listeners still cannot share it
    try:
        sock.bind((config.host, config.port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    return sock


def load_params(config: ServeConfig) -> dict:
    """The worker's load_model parameters for the served model."""
    named = {"model": config.model, "n_threads": config.n_threads}
    return {"n_ctx": config.n_ctx} | {k: v for k, v in named.items() if v is not None}
