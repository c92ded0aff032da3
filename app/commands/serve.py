"""`scriptorium serve`: an OpenAI-compatible endpoint on 127.0.0.1 over a local worker, behind this installation's token."""

from __future__ import annotations

import argparse
import errno
import sys
from dataclasses import fields

from app.errors import UserError
from inference.server.config import ServeConfig


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("serve", parents=[parent], help="an OpenAI-compatible endpoint on 127.0.0.1", description=__doc__)
    for f in fields(ServeConfig):  # the options are the config's fields
        p.add_argument(f"--{f.name.replace('_', '-')}", type=f.metadata["type"], default=f.default, help=f.metadata["help"])
    p.add_argument("--show-token", action="store_true", help="print the bearer token clients must send, and exit")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from inference.server.app import Endpoint
    from inference.server.auth import serve_token

    if args.show_token:
        print(serve_token(args.home))
        return 0
    try:
        config = ServeConfig(**{f.name: getattr(args, f.name) for f in fields(ServeConfig)})
        endpoint = Endpoint(config, args.home)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UserError(f"Port {args.port} on 127.0.0.1 is in use; choose another with --port (0 picks a free one).") from None
        raise UserError(f"Cannot listen on 127.0.0.1:{args.port} ({exc.strerror}).") from None
    print("Loading the model…", file=sys.stderr, flush=True)
    loaded = endpoint.load()
    print(f"Serving {loaded['model']['name']} at {endpoint.url} — send the token of `scriptorium serve --show-token` as the API key.", flush=True)
    endpoint.run()
    return 0
