"""One compression run: validate, rebuild a reference if needed, quantize, measure, register."""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from inference.compress import fidelity, reference, sensitivity
from inference.compress.quantize import QuantizeOptions, check_disk, estimate_size, quantize
from inference.compress.types import quant_type
from inference.gguf_meta import parameter_count

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, float | None], None]
SAMPLE_TEXT = Path(__file__).resolve().parents[2] / "assets" / "samples" / "public-domain-english.txt"
SEED_CLAIM = {"text": "98.7% of the quality at 76% less memory", "quality_pct": 98.7, "memory_reduction_pct": 76.0}
PREFILL_TOKENS = 256
DECODE_TOKENS = 32


@dataclass(frozen=True)
class CompressRequest:
    """Everything one `scriptorium compress` run needs; the CLI derives its options from these fields."""

    model: Path
    quant: QuantizeOptions
    out: Path | None = None
    text_file: Path | None = None
    eval_tokens: int = 1024
    mixed: int = 0  # promote the N tensor groups the measurement finds most sensitive
    promote_type: str = "Q8_0"
    keep_reference: bool = False


@dataclass
class Workspace:
    """The reference and the held-out tokens, shared by every candidate of a run or a sweep."""

    model: Path
    reference: Path
    rebuilt: bool
    text_source: str
    tokens: list[int]
    evaluator: fidelity.Evaluator
    reference_perf: fidelity.Performance
    scratch: Path
    notes: list[str] = field(default_factory=list)

    def close(self, keep_reference: bool = False) -> None:
        """Free the reference model and, unless asked to keep it, the rebuilt reference file."""
        self.evaluator.close()
        if self.rebuilt and not keep_reference:
            self.reference.unlink(missing_ok=True)
        shutil.rmtree(self.scratch / "candidates", ignore_errors=True)


def validate_model(model: Path) -> None:
    """Refuse a missing, non-GGUF, truncated or unsupported file with the registry's own error (no hashing)."""
    from inference.models import inspect_gguf

    inspect_gguf(Path(model), sha256="not computed")


def read_held_out(text_file: Path | None) -> tuple[str, str]:
    """The user's own text when given, else the bundled public-domain sample; returns (text, description)."""
    if text_file is not None:
        return Path(text_file).read_text(encoding="utf-8", errors="replace"), f"your text ({Path(text_file).name})"
    lines = SAMPLE_TEXT.read_text(encoding="utf-8").splitlines()
    body = "\n".join(line for line in lines if not line.startswith("# "))  # the header names the sources
    return body.strip(), f"bundled public-domain sample ({SAMPLE_TEXT.name})"


def open_workspace(model: Path, scratch: Path, text_file: Path | None, eval_tokens: int, progress: ProgressFn | None) -> Workspace:
    """Find or rebuild the full-precision reference, tokenize the held-out text and measure the reference once."""
    scratch.mkdir(parents=True, exist_ok=True)
    ref, rebuilt = _reference_for(model, scratch, progress)
    text, source = read_held_out(text_file)
    tokens = fidelity.tokenize(ref, text, eval_tokens)
    if progress:
        progress("measure reference", None)
    perf = fidelity.measure_performance(ref, tokens[:PREFILL_TOKENS], DECODE_TOKENS)
    notes = [f"The input is quantized, so a full-precision F32 reference was rebuilt from it with the gguf package; "
             f"scores compare against that reference."] if rebuilt else []
    return Workspace(model, ref, rebuilt, source, tokens, fidelity.Evaluator(ref, tokens), perf, scratch, notes)


def _reference_for(model: Path, scratch: Path, progress: ProgressFn | None) -> tuple[Path, bool]:
    """The model itself when it is full precision, else an F32 copy rebuilt into the scratch folder."""
    if reference.is_full_precision(model):
        return model, False
    ref = scratch / f"{model.stem}.reference-F32.gguf"
    if ref.exists() and ref.stat().st_mtime >= model.stat().st_mtime:
        return ref, True
    check_disk(scratch, reference.reference_size(model))
    partial = ref.with_name(ref.name + ".partial")
    try:
        reference.rebuild_reference(model, partial, "F32", progress)
        partial.replace(ref)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return ref, True


def default_output(model: Path, qtype: str, folder: Path) -> Path:
    """`<folder>/<model stem>-<TYPE>.gguf`."""
    return folder / f"{model.stem}-{qtype}.gguf"


def measure_candidate(ws: Workspace, candidate: Path, label: str, progress: ProgressFn | None) -> dict:
    """Fidelity and performance of one candidate against the workspace's reference, as a report row."""
    fid = ws.evaluator.compare(candidate, progress)
    perf = fidelity.measure_performance(candidate, ws.tokens[:PREFILL_TOKENS], DECODE_TOKENS)
    return row(label, candidate, fid, perf, ws.reference_perf)


def row(label: str, path: Path, fid: fidelity.Fidelity, perf: fidelity.Performance, ref: fidelity.Performance) -> dict:
    """One line of the report: quality, size and speed beside the reference's."""
    perf_json = {k: v for k, v in asdict(perf).items() if k != "generated"}
    return {
        "type": label,
        "path": str(path),
        **asdict(fid),
        "ppl_ratio": fid.ppl_ratio,
        **perf_json,
        "size_reduction_pct": 100.0 * (1 - perf.file_bytes / ref.file_bytes),
        "memory_reduction_pct": 100.0 * (1 - perf.model_bytes / ref.model_bytes),
        "rss_reduction_pct": 100.0 * (1 - perf.rss_bytes / ref.rss_bytes) if ref.rss_bytes else None,
        "prefill_speedup": perf.prefill_tps / ref.prefill_tps,
        "decode_speedup": perf.decode_tps / ref.decode_tps if ref.decode_tps else None,
        "generates": len(perf.generated) > 0,
    }


def compress_model(req: CompressRequest, scratch: Path, progress: ProgressFn | None = None) -> dict:
    """Quantize req.model to req.quant.qtype at req.out (atomically) and return the fidelity report as a dict."""
    quant_type(req.quant.qtype)  # unknown types fail before any work
    validate_model(req.model)
    out = Path(req.out)
    n_params = parameter_count(req.model)
    ws = open_workspace(req.model, scratch, req.text_file, req.eval_tokens, progress)
    try:
        quant = req.quant
        ranking: list[dict] = []
        if req.mixed > 0:
            ranking = sensitivity.rank_groups(ws, quant, req.promote_type, progress)
            quant = sensitivity.promote(quant, ranking[: req.mixed], req.promote_type)
        check_disk(out.parent, estimate_size(n_params, quant.qtype))
        quantize(ws.reference, out, quant, estimate_size(n_params, quant.qtype), progress)
        try:
            result = measure_candidate(ws, out, quant.qtype, progress)
        except BaseException:
            out.unlink(missing_ok=True)  # an interrupted run leaves no unmeasured model behind
            raise
        return _report(req, ws, quant, result, ranking)
    finally:
        ws.close(req.keep_reference)


def _report(req: CompressRequest, ws: Workspace, quant: QuantizeOptions, result: dict, ranking: list[dict]) -> dict:
    """The whole report: inputs, knobs, the reference row, the candidate row and the seed's claim beside them."""
    return {
        "model": str(req.model),
        "output": str(req.out),
        "type": quant.qtype,
        "knobs": {"embedding_type": quant.embedding_type, "output_type": quant.output_type,
                  "tensor_types": [list(p) for p in quant.tensor_types], "mixed": req.mixed},
        "sensitivity": ranking,
        "reference": {"path": str(ws.reference), "rebuilt": ws.rebuilt, "kept": req.keep_reference or not ws.rebuilt},
        "held_out": {"source": ws.text_source, "tokens": len(ws.tokens)},
        "rows": [reference_row(ws, result["ppl_reference"]), result],
        "seed_claim": SEED_CLAIM,
        "notes": ws.notes,
    }


def reference_row(ws: Workspace, ppl: float) -> dict:
    """The reference measured against itself: 100% agreement by definition, its own size and speed."""
    fid = fidelity.Fidelity(result_tokens(ws), 1.0, 0.0, 0.0, ppl, ppl)
    return row("reference F32" if ws.rebuilt else "reference", ws.reference, fid, ws.reference_perf, ws.reference_perf)


def result_tokens(ws: Workspace) -> int:
    """Positions scored: every token of every window but the first."""
    return sum(len(w) - 1 for w in ws.evaluator.windows)
