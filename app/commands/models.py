"""`scriptorium models`: list, add, inspect, choose and remove GGUF models; prepare the embedded one."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from app.desk import discovery
from app.commands.remote_models import add_remote_parser
from app.desk.model_facts import describe, summary
from app.errors import UserError
from inference.engine_choice import ENGINES, PRECISIONS
from inference.models import Registry


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("models", help="manage models", description=__doc__)
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    def leaf(name: str, handler, help: str) -> argparse.ArgumentParser:
        q = sub.add_parser(name, parents=[parent], help=help)
        q.add_argument("--json", action="store_true", help="machine-readable output")
        q.set_defaults(handler=handler)
        return q

    leaf("list", run_list, "registered models, the default marked")
    leaf("add", run_add, "register a GGUF file").add_argument("path")
    leaf("use", run_use, "make a model the default").add_argument("name")
    leaf("info", run_info, "a model's metadata").add_argument("name")
    leaf("remove", run_remove, "forget a model (the file stays)").add_argument("name")
    leaf("prepare", run_prepare, "assemble and verify the embedded model")
    q = leaf("set-engine", run_set_engine, "which engine runs a model: auto (torch on a CUDA GPU when it can), torch or llama_cpp")
    q.add_argument("name")
    q.add_argument("engine", choices=ENGINES)
    q.add_argument("--precision", choices=PRECISIONS, help="the torch engine's weights (default: bf16 on a GPU, f32 on a CPU)")
    add_remote_parser(sub, parent)
    _add_discover_parser(leaf("discover", run_discover, "find the GGUF models other apps keep (LM Studio, Ollama …); register them by path"))
    try:
        from app.commands.compress import add_advise_parser
    except ImportError:
        return
    add_advise_parser(sub, parent)


def _add_discover_parser(q: argparse.ArgumentParser) -> None:
    q.epilog = f"Looked in: {discovery.where_searched()}. Nothing is copied and nothing is downloaded."
    chosen = q.add_mutually_exclusive_group()
    chosen.add_argument("--add", nargs="+", metavar="NAME", default=[], help="register these found models (names as listed)")
    chosen.add_argument("--add-all", action="store_true", help="register every found model that can be used")


def _print(args: argparse.Namespace, payload: object, text: str) -> int:
    print(json.dumps(payload, ensure_ascii=False, indent=None) if args.json else text)
    return 0


def run_list(args: argparse.Namespace) -> int:
    registry = Registry(args.home)
    default = registry.default().name
    models = registry.list()
    lines = [f"{'*' if m.name == default else ' '} {m.name:<32} {summary(m)}" for m in models]
    payload = [{**m.to_json(), "default": m.name == default} for m in models]
    return _print(args, payload, "\n".join(lines))


def run_add(args: argparse.Namespace) -> int:
    info = Registry(args.home).add(Path(args.path))
    return _print(args, {"id": info.name, **info.to_json()}, f"Added {info.name} ({info.quantization}, {info.size_bytes / 2**20:,.1f} MiB).")


def run_use(args: argparse.Namespace) -> int:
    info = Registry(args.home).use(args.name)
    return _print(args, info.to_json(), f"{info.name} is now the default model.")


def run_info(args: argparse.Namespace) -> int:
    info = Registry(args.home).get(args.name)
    rows = describe(info)
    return _print(args, info.to_json(), "\n".join(f"{k:>15}: {v}" for k, v in rows.items()))


def run_remove(args: argparse.Namespace) -> int:
    Registry(args.home).remove(args.name)
    return _print(args, {"removed": args.name}, f"Removed {args.name}; the file itself is untouched.")


def run_set_engine(args: argparse.Namespace) -> int:
    info = Registry(args.home).set_engine(args.name, args.engine, args.precision)
    precision = f" at {info.precision}" if info.precision else ""
    return _print(args, info.to_json(), f"{info.name} runs on {info.engine}{precision} from its next load.")


def run_prepare(args: argparse.Namespace) -> int:
    def progress(stage: str, fraction: float | None) -> None:
        if fraction is not None and sys.stderr.isatty():
            print(f"\r{stage}: {fraction:4.0%}", end="", file=sys.stderr, flush=True)

    info = Registry(args.home).embedded(progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    return _print(args, info.to_json(), f"Embedded model ready: {info.path} (SHA-256 verified).")


def run_discover(args: argparse.Namespace) -> int:
    found = discovery.find(args.home)
    chosen = _chosen(found, args)
    added = {f.name: info.name for f, info in zip(chosen, discovery.add(args.home, chosen))}
    found = [replace(f, registered=added.get(f.name, f.registered)) for f in found]
    lines = _found_table(found) or [f"No GGUF models found. Looked in: {discovery.where_searched()}."]
    lines += [f"Added {name} ({f.path}); `scriptorium models use {name}` makes it the default." for f in found if (name := added.get(f.name))]
    return _print(args, [f.to_json() for f in found], "\n".join(lines))


def _chosen(found: list, args: argparse.Namespace) -> list:
    """The found models --add names (each must be listed and usable), or every usable one for --add-all."""
    if args.add_all:
        return [f for f in found if f.usable and not f.registered]
    by_name = {f.name: f for f in found}
    for name in args.add:
        if name not in by_name:
            raise UserError(f"No found model is named {name!r}; `scriptorium models discover` lists the names.")
        if not by_name[name].usable:
            raise UserError(by_name[name].problem)
    return [by_name[name] for name in args.add]


def _found_table(found: list) -> list[str]:
    rows = [discovery.row(f) for f in found]
    widths = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in discovery.COLUMNS}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in discovery.COLUMNS).rstrip()] if rows else []
    for f, r in zip(found, rows):
        lines.append("  ".join(r[c].ljust(widths[c]) for c in discovery.COLUMNS).rstrip())
        if not f.usable:
            lines.append(f"    {f.problem}")
    return lines
