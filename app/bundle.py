"""The bundled app's entry point: one executable that is the desktop app, the command line and the inference worker."""

from __future__ import annotations

import sys

from inference.launch import WORKER_FLAG


def main(argv: list[str] | None = None) -> int:
    """Run the worker when the first argument is --worker (as inference.launch starts it), else `scriptorium`."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [WORKER_FLAG]:
        from inference.worker import main as worker_main

        return worker_main(argv[1:])
    from app.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
