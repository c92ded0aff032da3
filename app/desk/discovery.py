"""Models other apps keep, as `scriptorium models discover` and the model manager show and register them."""

from __future__ import annotations

from pathlib import Path

from inference.backends.base import LoadOptions
from inference.compress.advisor import machine_memory
from inference.discover import LOCATIONS, Found, discover, register
from inference.models import ModelInfo, Registry

FITS_LABELS = {"gpu": "yes, GPU", "ram": "yes, RAM", "no": "no"}
COLUMNS = ("name", "app", "size", "quantization", "architecture", "fits", "registered")


def find(home: Path) -> list[Found]:
    """Every model the other apps keep, sized against this machine at the context the worker loads models with."""
    return discover(Registry(home), LoadOptions().n_ctx, machine_memory())


def add(home: Path, chosen: list[Found]) -> list[ModelInfo]:
    """Register the chosen models by their paths (each is checksummed once: minutes for a large file)."""
    registry = Registry(home)
    return [register(registry, f) for f in chosen]


def row(found: Found) -> dict[str, str]:
    """One found model as a person reads it, in COLUMNS order; a model that cannot be used says why under `fits`."""
    return {
        "name": found.name,
        "app": found.app,
        "size": f"{found.size_bytes / 2**30:,.2f} GiB" if found.size_bytes >= 2**30 else f"{found.size_bytes / 2**20:,.1f} MiB",
        "quantization": found.quantization or "-",
        "architecture": found.architecture or "-",
        "fits": _fits(found),
        "registered": found.registered or "",
    }


def _fits(found: Found) -> str:
    """Where it fits and the memory it needs at the worker's context ("no (45.1 GiB)"), or that it cannot be used."""
    if not found.usable:
        return "cannot be used"
    return f"{FITS_LABELS[found.fits]} ({(found.need_bytes or 0) / 2**30:,.1f} GiB)"


def where_searched() -> str:
    """The apps looked in, and the variable that points each elsewhere."""
    return "; ".join(f"{loc.app} (${loc.env_var})" for loc in LOCATIONS)
