"""The endpoint's bearer token: made once per installation, kept in a file only its owner can read, required on every request."""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Any, Awaitable, Callable

from inference.server.openai_api import error_body

log = logging.getLogger(__name__)
TOKEN_FILE = "serve-token"

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


def serve_token(home: Path) -> str:
    """The installation's token, created on first use: 32 random bytes, in `<home>/serve-token`, mode 0600."""
    path = home / TOKEN_FILE
    if not path.exists():
        _create(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); made it private again", path, mode)
        path.chmod(0o600)
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise ValueError(f"{path} is empty; delete it and start `scriptorium serve` again to make a new token.")
    return token


def _create(path: Path) -> None:
    """Write a new token to a private temporary file, then link it into place: never an empty or readable token file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_urlsafe(32) + "\n")
        os.link(tmp, path)  # fails if another serve made one first; theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


class BearerAuth:
    """ASGI middleware: a request without `Authorization: Bearer <token>` gets 401 before any route runs."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or self._authorised(scope):
            await self.app(scope, receive, send)
            return
        body = json.dumps(error_body(401, "Missing or wrong API key: send the token of `scriptorium serve --show-token` as a bearer token.", "invalid_api_key")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"www-authenticate", b"Bearer")]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _authorised(self, scope: Scope) -> bool:
        given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        return hmac.compare_digest(given, self.expected)  # constant time: the comparison does not leak how much matched
