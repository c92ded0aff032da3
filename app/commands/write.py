"""`scriptorium write TASK`: run a writing task through the worker and stream the answer to the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from sqlite_utils import Database

from app.commands.remote_models import chosen_model
from app.desk.prefs import DIALECT
from app.desk.proofread import REWORDING, Proofread, harper_lints, merge
from app.desk.story_match import request_notes
from app.errors import UserError
from app.grammar import dialect_for_locale
from app.proofing import proofread as judged_proofread
from app.store import dictionary_words, get_document, get_document_setting, log_generation, open_db, session_key
from app.store.story_notes import get_story
from inference.client import WorkerClient
from inference.engine import GenerateParams
from inference.protocol import Done, Error, ErrorCode, Progress, Token, WorkerError
from inference.tasks import TASKS

SPECULATIVE_HELP = "off, auto (measure and decide), lookup (n-grams from the prompt), skip (the torch engine drafts with layers skipped) or draft:MODEL"


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("write", parents=[parent], help="run a writing task and stream the result", description=__doc__)
    p.add_argument("task", choices=TASKS, help="what to do with the text")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--text-file", metavar="F", help="read the text from F ('-' for standard input)")
    source.add_argument("--doc", type=int, metavar="ID", help="work on a stored document and log the generation with it")
    p.add_argument("--instruction", default="", help="rewrite style (plainer, more formal, shorter, longer, or free text), brainstorm kind, or a free instruction")
    p.add_argument("--language", default="French", help="target language for translate")
    p.add_argument("--model", metavar="M", help="a registered model name or a GGUF path (default: the default model)")
    defaults = GenerateParams()
    p.add_argument("--max-tokens", type=int, default=defaults.max_tokens, metavar="N")
    p.add_argument("--temperature", type=float, default=defaults.temperature, metavar="T", help="0 means plain greedy decoding with no repetition penalty")
    p.add_argument("--seed", type=int, metavar="S", help="seed for reproducible sampling")
    p.add_argument("--speculative", default=defaults.speculative, metavar="MODE", help=SPECULATIVE_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON object at the end instead of streaming")
    p.set_defaults(handler=run)


def read_text(args: argparse.Namespace) -> tuple[str, int | None]:
    """The text to work on and the document it came from, if any."""
    if args.doc is not None:
        return get_document(open_db(args.home), args.doc).body, args.doc
    if args.text_file and args.text_file != "-":
        path = Path(args.text_file).expanduser()
        try:
            return path.read_text(encoding="utf-8"), None
        except FileNotFoundError:
            raise UserError(f"No file at {path}; check the path.") from None
        except UnicodeDecodeError:
            raise UserError(f"{path} is not UTF-8 text; convert it or import it with `scriptorium docs import`.") from None
    if sys.stdin.isatty():
        print("Type or paste the text, then press Ctrl+D.", file=sys.stderr)
    return sys.stdin.read(), None


def run(args: argparse.Namespace) -> int:
    text, doc_id = read_text(args)
    params = GenerateParams(
        task=args.task, text=text, instruction=args.instruction, language=args.language,
        max_tokens=args.max_tokens, temperature=args.temperature, seed=args.seed,
        doc_key=session_key(doc_id) if doc_id is not None else None, speculative=args.speculative,
        notes=_story_notes(args.home, doc_id, text),
    )
    wire = {f.name: getattr(params, f.name) for f in fields(params) if getattr(params, f.name) is not None}
    model = chosen_model(args.home, args.model)
    db = open_db(args.home)
    with WorkerClient(home=args.home) as client:
        _load(client, model.name if not args.model else args.model)
        result, status = _stream(client, wire, quiet=args.json or args.task == "proofread")  # proofread prints the merge
        if args.task == "proofread":
            proof = _proofread(client, db, text, doc_id, result.get("output", ""))
    log_generation(
        db, task=args.task, prompt=result.get("prompt", ""), output=result.get("output", ""), model=result.get("model", model.name),
        model_sha256=model.sha256, params=wire | {"text": None}, stats=result.get("stats", {}), status=status, document_id=doc_id,
    )
    if args.task == "proofread":
        result = _show_proofread(text, proof, result, show=not args.json)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for note in result.get("notes", []):
            print(f"scriptorium: {note}", file=sys.stderr)
    return {"ok": 0, "cancelled": 130}.get(status, 1)


def _proofread(client: WorkerClient, db: Database, text: str, doc_id: int | None, answer: str) -> Proofread:
    """Harper's fixes and the model's answer judged by the model's scores (app/proofing/); merged unweighed when the
    model cannot score (a remote server)."""
    dialect = (get_document_setting(db, doc_id, DIALECT) if doc_id is not None else None) or dialect_for_locale()
    lints = harper_lints(text, dialect, dictionary_words(db))
    try:
        return judged_proofread(text, lints, answer, client.score)
    except WorkerError as exc:
        if exc.code != ErrorCode.UNSUPPORTED:
            raise
        return merge(text, lints, answer)


def _show_proofread(text: str, proof: Proofread, result: dict, show: bool) -> dict:
    """The corrected text on stdout (corrections applied, rewordings not), each change on stderr when it is a
    terminal; the result gains both."""
    if show:
        print(proof.corrected, end="" if proof.corrected.endswith("\n") else "\n", flush=True)
    if show and sys.stderr.isatty():
        for h in proof.hunks:
            apart = " (a rewording: not applied)" if h.kind == REWORDING else ""
            print(f"scriptorium: {h.source}: {text[h.start:h.end]!r} → {h.replacement!r} — {h.reason}{apart}", file=sys.stderr)
    return result | {"corrected": proof.corrected, "hunks": [h.to_dict(text) for h in proof.hunks]}


def _story_notes(home: Path, doc_id: int | None, text: str) -> dict | None:
    """A stored document's story notes and the entries its last lines wake (the cursor at the end), as the desk sends them."""
    return request_notes(get_story(open_db(home), doc_id), text, len(text)) if doc_id is not None else None


def _load(client: WorkerClient, model: str) -> None:
    """Load the model in the worker, showing preparation progress on stderr."""
    rid = client.send("load_model", model=model)
    for event in client.events(rid):
        if isinstance(event, Progress) and event.fraction is not None and sys.stderr.isatty():
            print(f"\r{event.message}: {event.fraction:4.0%}", end="", file=sys.stderr, flush=True)
        elif isinstance(event, Error):
            raise WorkerError(event.message, code=event.code)
        elif isinstance(event, Done):
            if sys.stderr.isatty():
                print("\r\033[K", end="", file=sys.stderr, flush=True)
            return


def _stream(client: WorkerClient, wire: dict, quiet: bool) -> tuple[dict, str]:
    """Print tokens as they arrive; Ctrl+C stops the generation and keeps what came."""
    rid = client.send("generate", **wire)
    pieces: list[str] = []
    try:
        for event in client.events(rid):
            if isinstance(event, Token):
                pieces.append(event.text)
                if not quiet:
                    print(event.text, end="", flush=True)
            elif isinstance(event, Done):
                if not quiet:
                    print(flush=True)
                return event.result, "ok"
            elif isinstance(event, Error):
                if event.code == ErrorCode.STREAM_DROPPED and pieces:  # a remote server hung up mid-answer
                    return _kept(pieces, quiet, event.message, "error")
                if event.code == ErrorCode.CANCELLED:
                    break
                raise WorkerError(event.message, code=event.code)
    except KeyboardInterrupt:
        client.cancel(rid)
    return _kept(pieces, quiet, "stopped; the text so far is kept.", "cancelled")


def _kept(pieces: list[str], quiet: bool, message: str, status: str) -> tuple[dict, str]:
    """The text that came before the answer ended early, kept and logged; the reason on stderr."""
    if not quiet:
        print(flush=True)
    print(f"scriptorium: {message}", file=sys.stderr)
    return {"output": "".join(pieces), "stats": {}}, status
