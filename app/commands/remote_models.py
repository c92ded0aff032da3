"""`scriptorium models add-remote`: register a model an OpenAI-compatible server serves; nothing is sent to it until it is used."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.desk.model_facts import remote_notice
from inference.models import ModelInfo, Registry, RemoteSpec


def chosen_model(home: Path, name: str | None) -> ModelInfo:
    """The model a command will generate with (the default when none is named), said on stderr when it is remote."""
    registry = Registry(home)
    model = registry.get(name) if name else registry.default()
    if notice := remote_notice(model):
        print(f"scriptorium: {notice}", file=sys.stderr)
    return model


def add_remote_parser(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """The `models add-remote` action; its defaults are RemoteSpec's."""
    defaults = RemoteSpec(base_url="", model="")
    q = sub.add_parser("add-remote", parents=[parent], help="register a model an OpenAI-compatible server serves (your text is then sent there)", description=__doc__)
    q.add_argument("name", help="the name to use it by (models use NAME, write --model NAME)")
    q.add_argument("--base-url", required=True, metavar="URL", help="the server's base URL, e.g. http://127.0.0.1:8000/v1")
    q.add_argument("--model", required=True, metavar="ID", help="the model's id on the server, as its /v1/models lists it")
    q.add_argument("--api-key-env", metavar="VAR", help="environment variable holding the API key; read at each request, never stored")
    kind = q.add_mutually_exclusive_group()
    kind.add_argument("--chat", dest="chat", action="store_true", default=defaults.chat, help="an instruct model: chat messages to /v1/chat/completions (the default)")
    kind.add_argument("--completion", dest="chat", action="store_false", help="a base model: few-shot prompts to /v1/completions")
    q.add_argument("--context", type=int, metavar="N", help="the context window in tokens, when the server does not report it (or to use less)")
    q.add_argument("--connect-timeout", type=float, default=defaults.connect_timeout_s, metavar="S", help="seconds to wait for a connection (default %(default)s)")
    q.add_argument("--read-timeout", type=float, default=defaults.read_timeout_s, metavar="S", help="seconds to wait for the next byte of an answer (default %(default)s)")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(handler=run_add_remote)


def run_add_remote(args: argparse.Namespace) -> int:
    spec = RemoteSpec(args.base_url, args.model, args.api_key_env, args.chat, args.connect_timeout, args.read_timeout)
    info = Registry(args.home).add_remote(args.name, spec, args.context)
    if args.json:
        print(json.dumps({"id": info.name, **info.to_json()}, ensure_ascii=False))
    else:
        print(f"Added {info.name}: {spec.model} at {info.remote.base_url}. Nothing is sent until it is used; then your text goes to that server.")  # type: ignore[union-attr]
    return 0
