"""Finding the GGUF models other local apps already keep: LM Studio, GPT4All, Jan, KoboldCpp, Ollama, the Hugging Face cache.

Nothing is copied and nothing leaves the machine: each app's folder is read where it is, every file's
header is read (fast: gguf_meta), and a chosen one is registered by its path. Where each app keeps its
models, and the environment variable that overrides it, is `LOCATIONS` below; `env` is a parameter
everywhere so tests point every app at a folder of their own.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Iterator, Mapping

from inference.compress.advisor import file_fit, shape_from_gguf
from inference.models import EMBEDDED_NAME, ModelInfo, Registry, inspect_gguf
from inference.protocol import ErrorCode, ModelError

log = logging.getLogger(__name__)
# How deep below an app's folder a model may sit: LM Studio keeps publisher/repository/file, the deepest layout
# here; a KoboldCpp folder in ~/Downloads may hold anything, and a walk must not wander the whole disk.
MAX_DEPTH = 4
OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
# A model split in parts (llama.cpp's gguf-split): only the first part is listed; llama.cpp finds the others.
_SHARD = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
Env = Mapping[str, str]


@dataclass(frozen=True)
class Found:
    """A model file another app keeps: what its header says, whether it fits this machine, or why it cannot be used."""

    name: str  # the name it is registered under
    app: str
    path: Path
    size_bytes: int
    architecture: str = ""
    quantization: str = ""
    parameters: int | None = None
    context_length: int | None = None
    chat: bool = False
    need_bytes: int | None = None  # memory it takes at the worker's context: weights, KV cache, buffers
    fits: str = ""  # "gpu", "ram" or "no"
    problem: str = ""  # why it cannot be used; empty when it can
    registered: str | None = None  # the registry name it already has

    @property
    def usable(self) -> bool:
        return not self.problem

    def to_json(self) -> dict:
        return {**asdict(self), "path": str(self.path)}


# -- where each app keeps its models --------------------------------------------------------
def _home(env: Env) -> Path:
    return Path(env.get("HOME") or Path.home())


def _xdg(env: Env, var: str, default: str) -> Path:
    return Path(env[var]) if env.get(var) else _home(env) / default


def _setting(file: Path, key: str) -> Path | None:
    """A folder an app's own settings file names (LM Studio's models folder, Jan's data folder), if it names one."""
    try:
        value = json.loads(file.read_text("utf-8")).get(key)
    except (OSError, ValueError, AttributeError):
        return None
    return Path(value).expanduser() if isinstance(value, str) and value else None


def _lmstudio(env: Env) -> list[Path]:
    home = _home(env)
    chosen = _setting(home / ".lmstudio" / "settings.json", "downloadsFolder")
    return [*([chosen] if chosen else []), home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"]


def _gpt4all(env: Env) -> list[Path]:
    return [_xdg(env, "XDG_DATA_HOME", ".local/share") / "nomic.ai" / "GPT4All",
            _home(env) / "Library" / "Application Support" / "nomic.ai" / "GPT4All"]


def _jan(env: Env) -> list[Path]:
    """Jan's data folders (the one its settings name, ~/jan of the Electron releases, the XDG one of later ones), each
    with its models/ (one folder per model, beside a model.json) and llamacpp/models/ (later releases)."""
    chosen = _setting(_xdg(env, "XDG_CONFIG_HOME", ".config") / "Jan" / "settings.json", "data_folder")
    data = [*([chosen] if chosen else []), _home(env) / "jan", _xdg(env, "XDG_DATA_HOME", ".local/share") / "Jan" / "data"]
    return [d / sub for d in data for sub in ("models", "llamacpp/models")]


def _koboldcpp(env: Env) -> list[Path]:
    """KoboldCpp is one program with no models folder of its own: the folder a user keeps it in, in ~ or ~/Downloads."""
    home = _home(env)
    return [p for parent in (home, home / "Downloads") for p in _children(parent) if p.name.lower().startswith("koboldcpp")]


def _ollama(env: Env) -> list[Path]:
    # Ollama's Linux service keeps its store under its own user's home.
    return [_home(env) / ".ollama" / "models", Path("/usr/share/ollama/.ollama/models")]


def _huggingface(env: Env) -> list[Path]:
    """The hub cache as huggingface_hub finds it when HF_HUB_CACHE is unset: HUGGINGFACE_HUB_CACHE (its older name),
    HF_HOME/hub, XDG_CACHE_HOME/huggingface/hub."""
    if env.get("HUGGINGFACE_HUB_CACHE"):
        return [Path(env["HUGGINGFACE_HUB_CACHE"])]
    if env.get("HF_HOME"):
        return [Path(env["HF_HOME"]) / "hub"]
    return [_xdg(env, "XDG_CACHE_HOME", ".cache") / "huggingface" / "hub"]


@dataclass(frozen=True)
class Location:
    """One app: its name, the variable that replaces its folders (the app's own where it has one: OLLAMA_MODELS,
    HF_HUB_CACHE; several folders joined by os.pathsep), where it keeps models otherwise, and how to list them."""

    app: str
    env_var: str
    defaults: Callable[[Env], list[Path]]
    finder: Callable[[Path], Iterator[tuple[str, Path]]]

    def folders(self, env: Env) -> list[Path]:
        override = env.get(self.env_var)
        return [Path(p).expanduser() for p in override.split(os.pathsep) if p] if override else self.defaults(env)


# -- how each app lays its models out: (name, path) pairs -----------------------------------
def _children(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:
        return []


def _gguf_files(root: Path, depth: int = MAX_DEPTH) -> Iterator[Path]:
    """GGUF files below `root` (links followed, as the Hugging Face cache needs), first parts of split models only."""
    for folder, dirs, files in os.walk(root, followlinks=True):
        if len(Path(folder).relative_to(root).parts) >= depth:
            dirs.clear()
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            shard = _SHARD.search(name)
            if name.lower().endswith(".gguf") and (shard is None or int(shard.group(1)) == 1):
                yield Path(folder) / name


def _by_file_name(root: Path) -> Iterator[tuple[str, Path]]:
    """LM Studio, GPT4All, KoboldCpp: a model is named by its file."""
    for path in _gguf_files(root):
        yield _SHARD.sub("", path.name).removesuffix(".gguf"), path


def _by_folder(root: Path) -> Iterator[tuple[str, Path]]:
    """Jan: a folder per model, named by the model's id; the file inside is often just model.gguf."""
    for path in _gguf_files(root):
        yield (path.parent.name if path.parent != root else path.stem), path


def _ollama_models(root: Path) -> Iterator[tuple[str, Path]]:
    """Ollama: manifests/HOST/NAMESPACE/MODEL/TAG name a model's layers; the model layer is a GGUF blob named by its hash."""
    manifests = root / "manifests"
    for manifest in sorted(p for p in manifests.glob("*/*/*/*") if p.is_file()):
        host, namespace, model, tag = manifest.relative_to(manifests).parts
        prefix = "" if (host, namespace) == ("registry.ollama.ai", "library") else (
            f"{namespace}/" if host == "registry.ollama.ai" else f"{host}/{namespace}/")
        yield f"{prefix}{model}:{tag}", _ollama_blob(root, manifest)


def _ollama_blob(root: Path, manifest: Path) -> Path:
    """The blob of a manifest's model layer; the manifest itself when it is unreadable, so the listing says so."""
    try:
        layers = json.loads(manifest.read_text("utf-8")).get("layers", [])
        digest = next(layer["digest"] for layer in layers if layer.get("mediaType") == OLLAMA_MODEL_LAYER)
    except (OSError, ValueError, AttributeError, KeyError, StopIteration, TypeError):
        return manifest
    # Blobs are sha256-HEX; releases before 0.1.32 wrote sha256:HEX.
    candidates = [root / "blobs" / digest.replace(":", "-"), root / "blobs" / digest]
    return next((c for c in candidates if c.is_file()), candidates[0])


def _huggingface_models(root: Path) -> Iterator[tuple[str, Path]]:
    """The hub cache: models--ORG--NAME/snapshots/REVISION/… holds links into blobs/; a model is ORG/NAME/FILE."""
    for repo in _children(root):
        if not repo.name.startswith("models--"):
            continue
        repo_id = "/".join(repo.name.removeprefix("models--").split("--", 1))
        for snapshot in _children(repo / "snapshots"):
            for name, path in _by_file_name(snapshot):
                yield f"{repo_id}/{name}", path


LOCATIONS = (
    Location("LM Studio", "SCRIPTORIUM_LMSTUDIO_MODELS", _lmstudio, _by_file_name),
    Location("GPT4All", "SCRIPTORIUM_GPT4ALL_MODELS", _gpt4all, _by_file_name),
    Location("Jan", "SCRIPTORIUM_JAN_MODELS", _jan, _by_folder),
    Location("KoboldCpp", "SCRIPTORIUM_KOBOLDCPP_DIR", _koboldcpp, _by_file_name),
    Location("Ollama", "OLLAMA_MODELS", _ollama, _ollama_models),
    Location("Hugging Face", "HF_HUB_CACHE", _huggingface, _huggingface_models),
)


# -- reading what was found -----------------------------------------------------------------
def candidates(env: Env) -> Iterator[tuple[str, str, Path]]:
    """(app, name, path) of every GGUF file the apps keep; a file reached twice (links, two snapshots) comes once."""
    seen: set[str] = set()
    for location in LOCATIONS:
        for folder in location.folders(env):
            if not folder.is_dir():
                continue
            for name, path in location.finder(folder):
                key = os.path.realpath(path)
                if key not in seen:
                    seen.add(key)
                    yield location.app, name, path


def read_found(app: str, name: str, path: Path, ctx: int, memory: Mapping[str, int | None]) -> Found:
    """What a file's header says and whether it fits; a file that cannot be used is listed with the registry's reason."""
    size = _size(path)
    try:
        info = inspect_gguf(path, sha256="-")  # the registry's own checks and sentences; no checksum yet
        shape = shape_from_gguf(path)  # a second header read: 0.16 s for a 262k vocabulary
    except ModelError as exc:
        return Found(name, app, path, size, problem=str(exc))
    except (OSError, ValueError, TypeError, ZeroDivisionError) as exc:  # unreadable, or odd hyperparameters
        return Found(name, app, path, size, problem=f"{path.name} cannot be read as a model ({exc}).")
    fit = file_fit(shape, size, min(ctx, info.context_length or ctx), memory.get("ram"), memory.get("gpu"))
    fits = "gpu" if fit.get("fits_gpu") else "ram" if fit.get("fits_ram") else "no"
    return Found(name, app, path, size, info.architecture, info.quantization, info.parameters, info.context_length,
                 bool(info.chat_template), fit["need_bytes"], fits)


def _size(path: Path) -> int:
    """Bytes on disk, every part of a split model counted."""
    try:
        shard = _SHARD.search(path.name)
        if shard is None:
            return path.stat().st_size
        parts = path.parent.glob(_SHARD.sub("", path.name) + f"-*-of-{shard.group(2)}.gguf")
        return sum(p.stat().st_size for p in parts)
    except OSError:
        return 0


def discover(registry: Registry, ctx: int, memory: Mapping[str, int | None], env: Env = os.environ) -> list[Found]:
    """Every model the other apps keep, read and sized, with unique names and the registry names they already have."""
    registered = {_resolved(m.path): m.name for m in registry.user_models()}
    found = [read_found(app, name, path, ctx, memory) for app, name, path in candidates(env)]
    return [replace(f, registered=registered.get(_resolved(f.path))) for f in _unique_names(found)]


def _resolved(path: Path) -> str:
    return os.path.realpath(path)


def _unique_names(found: list[Found]) -> list[Found]:
    """The same file name in two apps (two downloads of one model) gets the second app's name after it."""
    taken: set[str] = set()
    out = []
    for f in found:
        name, n = f.name, 1
        while name in taken or name == EMBEDDED_NAME:
            n += 1
            name = f"{f.name}-{_slug(f.app)}" if n == 2 else f"{f.name}-{_slug(f.app)}-{n}"
        taken.add(name)
        out.append(replace(f, name=name))
    return out


def _slug(app: str) -> str:
    return app.lower().replace(" ", "")


def register(registry: Registry, found: Found) -> ModelInfo:
    """Register a found model by its path (nothing is copied); one already registered keeps its entry."""
    if not found.usable:
        raise ModelError(found.problem, code=ErrorCode.BAD_REQUEST)
    for model in registry.user_models():
        if _resolved(model.path) == _resolved(found.path):
            return model
    names = {m.name for m in registry.user_models()}
    name, n = found.name, 1
    while name in names:  # a registered model of another file has this name: keep both
        n += 1
        name = f"{found.name}-{n}"
    return registry.add(found.path, name)
