"""GPU benchmark: batch-1 decode speed, time to first token, fraction of the bandwidth limit and energy per token of the
torch engine for the embedded model and Llama 8B- and 70B-shaped models in bf16, int8 and int4; self-speculation by
layer skipping on the embedded model; llama.cpp's CUDA build on the same file where it is installed.

Why it is measured this way:
- The bandwidth limit is measured first on the device (a device-to-device copy); each row's fraction is the
  time the bytes of one step would take at that bandwidth over the time the step took (inference.bench.gpu_run).
- The 8B- and 70B-shaped models have random weights made on the device in their precision: decode speed
  does not depend on the values, and a 70B-shaped model in bf16 (140 GB) fits no single GPU, so that row is
  skipped with the arithmetic that says so. The embedded model runs from its GGUF when the file is given.
- Rows run one after another in one process, each after the last one's memory is freed; a time budget
  skips what would not finish, saying so, so the whole run ends when it must.
- Without CUDA it refuses, unless --device cpu: then the same pipeline runs on the CPU (--tiny: tiny random
  shapes in seconds, what the tests run).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import sys
import time
from pathlib import Path

import torch

from inference.bench import gpu_models as gm
from inference.bench.gpu_meter import EnergyMeter, copy_bandwidth
from inference.bench.gpu_report import table, targets
from inference.bench.gpu_run import RunPlan, measure
from inference.bench.gpu_tokens import TokenSets, token_sets, write_tokens

log = logging.getLogger(__name__)

MODELS = ("embedded", "8b", "70b")
PRECISIONS = ("bf16", "int8", "int4")
# Seconds a row needs (build, capture, timings, energy window) by model: a row starts only with this much left.
ROW_S = {"embedded": 25, "8b": 30, "70b": 60}
SKIP_S = 90


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"), help="cpu runs the pipeline without a GPU")
    parser.add_argument("--tiny", action="store_true", help="tiny random shapes (checks the pipeline in seconds)")
    parser.add_argument("--gguf", type=Path, help="the embedded model's GGUF (default: the registry's, if assembled)")
    parser.add_argument("--tokens", type=Path, help="token ids written by --write-tokens (where no tokenizer is installed)")
    parser.add_argument("--write-tokens", type=Path, help="tokenize the held-out text with the GGUF's tokenizer into this file, and stop")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: embedded, 8b, 70b")
    parser.add_argument("--precisions", default=",".join(PRECISIONS), help="comma-separated: bf16, int8, int4 (f32 on the CPU too)")
    parser.add_argument("--no-skip", action="store_true", help="leave out the self-speculation section")
    parser.add_argument("--budget-s", type=float, default=420.0, help="stop starting rows when this little time is left")
    parser.add_argument("--threads", type=int, help="torch's CPU threads (--device cpu; default: torch's own choice)")
    parser.add_argument("--out", type=Path, help="folder for bench-gpu.md and bench-gpu.json")


def run(args: argparse.Namespace) -> int:
    gguf = args.gguf or _registry_model(args)
    if args.write_tokens:  # needs only the tokenizer: prepared on any machine, carried to the GPU one
        write_tokens(gguf, args.write_tokens)
        return 0
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench gpu needs a CUDA GPU, and torch sees none here (torch "
              f"{torch.__version__}). To check the pipeline on the CPU: scriptorium bench gpu --device cpu --tiny", file=sys.stderr)
        return 2
    result = bench(args, gguf)
    text = table(result)
    print(text)
    line = json.dumps(result, default=_json_default)
    print(line)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench-gpu.md").write_text(text + "\n", encoding="utf-8")
        (args.out / "bench-gpu.json").write_text(line + "\n", encoding="utf-8")
    return 0


def bench(args: argparse.Namespace, gguf: Path | None) -> dict:
    """Every section's figures as one JSON-able dict."""
    t_start = time.monotonic()
    device = torch.device(args.device)
    if device.type == "cpu" and (args.threads or args.tiny):
        # tiny shapes: waking a second thread costs more than the work (ms a call on a busy machine)
        torch.set_num_threads(args.threads or 1)
    plan = RunPlan(prompt_tokens=64, span=64, decode_tokens=16, repeats=3, energy_window_s=0.3) if args.tiny else RunPlan()
    copy_bytes = 64 * 2**20 if args.tiny else 2 * 2**30
    bandwidth = copy_bandwidth(device, copy_bytes)
    meter = EnergyMeter(device)
    use_file = gguf is not None and not args.tiny
    tokens = token_sets(args.tokens if use_file else None, gguf if use_file else None, plan.prompt_tokens, args.tiny)
    result = {"bench": "gpu", "date": time.strftime("%Y-%m-%d", time.gmtime()), "device": _device_name(device),
              "torch": torch.__version__, "tiny": args.tiny, "copy_bytes": copy_bytes, "bandwidth_bytes_per_s": bandwidth,
              "energy_method": meter.method, "prompt_tokens": plan.prompt_tokens, "rows": [],
              "speed_note": "random weights: decode speed does not depend on the values"}
    left = lambda: args.budget_s - (time.monotonic() - t_start)  # noqa: E731
    reference = gm.load_reference(gguf, plan.prompt_tokens + plan.span) if use_file and "embedded" in args.models else None
    for name in args.models.split(","):
        for precision in args.precisions.split(","):
            result["rows"].append(_row(name, precision, device, plan, bandwidth, meter, tokens, reference, args.tiny, left))
    result["targets"] = targets(result["rows"])
    result["skip"] = _skip_section(args, device, reference, tokens, left)
    result["llama_cpp"] = _llama_section(gguf if use_file else None, tokens, left)
    result["elapsed_s"] = time.monotonic() - t_start
    return result


def _row(name: str, precision: str, device: torch.device, plan: RunPlan, bandwidth: float, meter: EnergyMeter,
         tokens: TokenSets, reference, tiny: bool, left) -> dict:
    """One model in one precision, or the reason it was not run."""
    args = reference.args if reference is not None and name == "embedded" else gm.shape_args(name, tiny)
    head = {"model": name, "label": gm.LABELS[name], "precision": precision,
            "weights": "GGUF file" if reference is not None and name == "embedded" else "random"}
    need = gm.weight_bytes(args, precision)
    room = gm.device_memory(device)
    if need > 0.9 * room:
        return {**head, "skipped": f"{need / 1e9:.0f} GB of {precision} weights do not fit the {room / 2**30:.0f} GiB here"}
    if left() < (0 if tiny else ROW_S[name]):
        return {**head, "skipped": f"time budget: {left():.0f} s left"}
    t0 = time.monotonic()
    model = None
    try:
        model = gm.from_float(reference, precision, device) if head["weights"] == "GGUF file" else gm.random_model(args, precision, device)
        built_s = time.monotonic() - t0
        prompt = tokens.prefill if head["weights"] == "GGUF file" else gm.random_ids(args.vocab_size, plan.prompt_tokens)
        return {**head, **measure(model, precision, plan, bandwidth, meter, prompt), "build_s": built_s,
                "row_s": time.monotonic() - t0}
    except (RuntimeError, ValueError, NotImplementedError) as exc:  # torch.OutOfMemoryError is a RuntimeError
        log.exception("bench gpu: %s %s failed", name, precision)
        return {**head, "error": f"{type(exc).__name__}: {exc}"[:300]}
    finally:
        del model
        _free(device)


def _skip_section(args: argparse.Namespace, device: torch.device, reference, tokens: TokenSets, left) -> dict:
    """Self-speculation on the embedded model (its real weights: acceptance depends on them), or why not."""
    if args.no_skip:
        return {"skipped": "--no-skip"}
    if reference is None and not args.tiny:
        return {"skipped": "the embedded model's GGUF was not given: acceptance needs its real weights"}
    if left() < (0 if args.tiny else SKIP_S):
        return {"skipped": f"time budget: {left():.0f} s left"}
    from inference.bench.gpu_skip import measure_skip

    precision = "f32" if device.type == "cpu" and not args.tiny else "bf16"
    model = None
    try:
        model = gm.from_float(reference, precision, device) if reference is not None else gm.random_model(gm.TINY["embedded"], precision, device)
        n = 16 if args.tiny else 64
        return {"model": "embedded" if reference is not None else "tiny random", **measure_skip(
            model, precision, tokens.sample, tokens.prompts, n, lambda t: t in tokens.end_ids)}
    except (RuntimeError, ValueError) as exc:
        log.exception("bench gpu: self-speculation failed")
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}
    finally:
        del model
        _free(device)


def _llama_section(gguf: Path | None, tokens: TokenSets, left) -> dict:
    """llama.cpp with every layer on the GPU, on the embedded GGUF, where this interpreter's llama_cpp has CUDA."""
    from inference.bench.gpu_llama import measure_llama

    try:
        return measure_llama(gguf, tokens, left())
    except (RuntimeError, ValueError, OSError) as exc:  # the rows above are kept whatever llama.cpp does
        log.exception("bench gpu: llama.cpp failed")
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}


def _registry_model(args: argparse.Namespace) -> Path | None:
    """The embedded model when run as `scriptorium bench gpu` (which has a data directory); None under python -m."""
    if args.tiny or not hasattr(args, "home"):
        return None
    from inference.models import Registry
    from inference.paths import home_dir
    from inference.protocol import WorkerError

    try:
        path = Path(Registry(home_dir(args.home)).default().path)
    except (OSError, WorkerError) as exc:
        log.info("no embedded model from the registry: %s", exc)
        return None
    return path if path.is_file() else None


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        return f"{p.name}, {p.total_memory / 2**30:.0f} GiB, {p.multi_processor_count} SMs, CUDA {torch.version.cuda}"
    return f"CPU, {torch.get_num_threads()} threads"


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _json_default(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def main() -> int:
    """python -m inference.bench.gpu: the same benchmark without the scriptorium command (the GPU machine's script)."""
    parser = argparse.ArgumentParser(description=__doc__)
    add_arguments(parser)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
