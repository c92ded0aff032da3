"""`scriptorium compress MODEL --type T`: quantize a model, measure it against its reference, register it;
and `scriptorium models advise MODEL`: which types fit this machine."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from app.errors import UserError
from inference.compress import advisor, report
from inference.compress.pipeline import CompressRequest, compress_model, default_output
from inference.compress.quantize import QuantizeOptions
from inference.compress.sweep import run_sweep
from inference.compress.types import SWEEP_TYPES, quant_type, valid_types
from inference.paths import models_dir


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Add `compress` to the command line."""
    p = subparsers.add_parser("compress", parents=[parent], help="quantize a model and report its fidelity", description=__doc__)
    p.add_argument("model", metavar="MODEL", help="a GGUF file or a registered model name")
    p.add_argument("--type", dest="qtype", default="Q4_K_M", help=f"target type: {', '.join(valid_types())} (default Q4_K_M)")
    p.add_argument("--out", metavar="FILE", help="output GGUF (default: <data dir>/models/<model>-<TYPE>.gguf); with --sweep, a folder that keeps every output")
    p.add_argument("--report", metavar="FILE", help="report JSON (default: beside the output); the chart is written beside it as .png")
    p.add_argument("--sweep", action="store_true", help=f"measure every type ({', '.join(SWEEP_TYPES)}) and chart quality against size")
    p.add_argument("--text-file", metavar="F", help="held-out text to measure on (default: the bundled public-domain sample)")
    p.add_argument("--tokens", type=int, default=1024, help="held-out tokens to score (default 1024)")
    p.add_argument("--embedding-type", metavar="T", help="keep the token-embedding tensor at this type (e.g. Q8_0, F16)")
    p.add_argument("--output-type", metavar="T", help="keep the output tensor at this type (e.g. Q8_0, F16)")
    p.add_argument("--tensor-type", action="append", default=[], metavar="REGEX=T", help="per-tensor type override, repeatable (e.g. 'attn_v=Q8_0')")
    p.add_argument("--mixed", type=int, default=0, metavar="N", help="measure each tensor group's sensitivity and keep the N most sensitive at --promote-type")
    p.add_argument("--promote-type", default="Q8_0", metavar="T", help="type for the sensitive tensors of --mixed (default Q8_0)")
    p.add_argument("--keep-reference", action="store_true", help="keep the rebuilt full-precision reference in the cache folder")
    p.add_argument("--tasks", action="store_true", help="also run `bench tasks` on the output and the reference: task accuracy kept beside top-1 agreement (minutes)")
    p.add_argument("--task-limit", type=int, metavar="N", help="with --tasks: at most N items a task")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--progress-json", action="store_true", help="one JSON object per line on stdout: progress, then the result (for the desktop app)")
    p.set_defaults(handler=run_compress)


def add_advise_parser(models_subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Add `models advise MODEL` (called by the `models` command)."""
    q = models_subparsers.add_parser("advise", parents=[parent], help="which quantization types fit this machine",
                                     description=advisor.__doc__)
    q.add_argument("model", metavar="MODEL", help=f"a GGUF file, a registered model name, or a preset shape: {', '.join(advisor.PRESETS)}")
    q.add_argument("--ctx", type=int, default=8192, help="context length wanted, in tokens (default 8192)")
    q.add_argument("--ram", type=float, metavar="GiB", help="RAM to plan for (default: this machine's)")
    q.add_argument("--gpu", type=float, metavar="GiB", help="GPU memory to plan for (default: nvidia-smi's, if any; 0 for none)")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(handler=run_advise)


def resolve_model(name: str, home: Path) -> Path:
    """A path when the file exists, else a registered model's path (the registry explains unknown names)."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    from inference.models import Registry

    info = Registry(home).get(name)
    if info.remote is not None:
        raise UserError(f"{info.name} is a remote model served at {info.remote.base_url}; compress works on a GGUF file.")
    return info.path


class Progress:
    """Shows `progress(stage, fraction)` calls: a refreshed line on stderr, or JSON lines on stdout."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.stage = ""
        self.last = 0.0
        self.stream = _own_stderr()

    def __call__(self, stage: str, fraction: float | None) -> None:
        now = time.monotonic()
        if stage == self.stage and now - self.last < 0.2 and fraction not in (None, 1.0):
            return  # the quantizer polls four times a second; a line per 0.2 s is enough
        self.last = now
        if self.as_json:
            print(json.dumps({"kind": "progress", "stage": stage, "fraction": fraction}), flush=True)
            return
        end = "\n" if stage != self.stage and self.stage else ""
        self.stage = stage
        pct = f"{100 * fraction:5.1f}%" if fraction is not None else "  ... "
        print(f"{end}\r{stage:<28} {pct}", end="", file=self.stream, flush=True)

    def done(self) -> None:
        if not self.as_json and self.stage:
            print(file=self.stream, flush=True)


def _own_stderr():
    """A private copy of stderr: the quantizer silences fd 2 while it runs, and progress must still show."""
    try:
        return os.fdopen(os.dup(sys.stderr.fileno()), "w")
    except (AttributeError, OSError, ValueError):  # a captured or replaced sys.stderr (tests) has no descriptor
        return sys.stderr


def _quant_options(args: argparse.Namespace) -> QuantizeOptions:
    """The quantizer's knobs from the command line, every type name checked up front."""
    quant_type(args.qtype)
    pairs = []
    for item in args.tensor_type:
        pattern, sep, type_name = item.rpartition("=")
        if not sep or not pattern:
            raise UserError(f"--tensor-type wants REGEX=TYPE, e.g. 'attn_v=Q8_0', not {item!r}.")
        pairs.append((pattern, type_name.upper()))
    return QuantizeOptions(args.qtype.upper(), args.embedding_type, args.output_type, tuple(pairs))


def run_compress(args: argparse.Namespace) -> int:
    """Compress one model (or sweep every type), write the report and chart, print the table or JSON."""
    progress = Progress(args.progress_json)
    try:
        result = _sweep(args, progress) if args.sweep else _compress(args, progress)
    except BaseException as exc:
        progress.done()
        if args.progress_json and not isinstance(exc, SystemExit):
            code = "interrupted" if isinstance(exc, KeyboardInterrupt) else getattr(exc, "code", "error")
            print(json.dumps({"kind": "error", "code": code, "message": str(exc) or type(exc).__name__}), flush=True)
        raise
    progress.done()
    if args.progress_json:
        print(json.dumps({"kind": "result", **result}, ensure_ascii=False), flush=True)
    elif args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(report.table(result))
        if "tasks" in result:
            from app.taskbench.report import comparison_table

            t = result["tasks"]
            print("\n" + comparison_table(t["candidate"], t["reference"], t["kept"], t["top1_agreement"]))
        print(f"\nreport: {result['report_path']}\nchart:  {result['chart_path']}")
        if result.get("registered"):
            print(f"registered as {result['registered']!r}: {result['output']}")
    return 0


def _compress(args: argparse.Namespace, progress: Progress) -> dict:
    model = resolve_model(args.model, args.home)
    quant = _quant_options(args)
    out = Path(args.out).expanduser() if args.out else default_output(model, quant.qtype, models_dir(args.home))
    if out.exists() and not args.force:
        raise UserError(f"{out} already exists; pass --force to replace it or --out to choose another file.")
    text = Path(args.text_file).expanduser() if args.text_file else None
    # --tasks runs the reference too, after the quantization: keep it until then.
    req = CompressRequest(model, quant, out, text, args.tokens, args.mixed, args.promote_type.upper(), args.keep_reference or args.tasks)
    result = compress_model(req, args.home / "cache" / "compress", progress)
    if args.tasks:
        _task_accuracy(args, result)
    from inference.models import Registry

    result["registered"] = Registry(args.home).add(out).name
    return _write(result, Path(args.report) if args.report else out.with_suffix(".report.json"))


def _task_accuracy(args: argparse.Namespace, result: dict) -> None:
    """The task benchmark on the output and its reference (task accuracy kept), then the rebuilt reference let go."""
    from app.taskbench.bench import task_accuracy_kept

    ref = result["reference"]
    try:
        result["tasks"] = task_accuracy_kept(args.home, Path(result["output"]), Path(ref["path"]), result["rows"][1]["top1_agreement"], args.task_limit)
    finally:
        if ref["rebuilt"] and not args.keep_reference:
            Path(ref["path"]).unlink(missing_ok=True)
            ref["kept"] = False


def _sweep(args: argparse.Namespace, progress: Progress) -> dict:
    model = resolve_model(args.model, args.home)
    keep = Path(args.out).expanduser() if args.out else None
    text = Path(args.text_file).expanduser() if args.text_file else None
    result = run_sweep(model, args.home / "cache" / "compress", SWEEP_TYPES, text, args.tokens, keep, progress)
    default = args.home / "reports" / f"sweep-{model.stem}.json"
    return _write(result, Path(args.report) if args.report else default)


def _write(result: dict, path: Path) -> dict:
    """Write the JSON report and the chart beside it; the result records both paths."""
    path = path.expanduser()
    result["report_path"] = str(path)
    result["chart_path"] = str(path.with_suffix(".png"))
    report.write_chart(result, path.with_suffix(".png"))
    report.write_json(result, path)
    return result


def run_advise(args: argparse.Namespace) -> int:
    """Print which types fit, counting weights and the KV cache, and the recommendation."""
    if args.model in advisor.PRESETS:
        shape = advisor.PRESETS[args.model]
    else:
        shape = advisor.shape_from_gguf(resolve_model(args.model, args.home))
    machine = advisor.machine_memory()
    ram = int(args.ram * advisor.GiB) if args.ram is not None else machine["ram"]
    gpu = int(args.gpu * advisor.GiB) if args.gpu is not None else machine["gpu"]
    advice = advisor.advise(shape, args.ctx, ram or None, gpu or None)
    print(json.dumps(advice) if args.json else advisor.table(advice))
    return 0
