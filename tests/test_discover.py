"""Finding the models other local apps keep: each app's layout built in a temporary home with the tiny model."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from app.cli import main
from inference.compress.advisor import GiB
from inference.discover import candidates, discover, register
from inference.models import Registry
from tests.gui_helpers import gui_home  # noqa: F401  (fixture)

ROOMY = {"ram": 64 * GiB, "gpu": None}


def _copy(model: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model, target)
    return target


def _ollama_store(root: Path, model: Path) -> Path:
    """An Ollama store: a manifest naming a hash-named model blob beside a template layer."""
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    blob = _copy(model, root / "blobs" / f"sha256-{digest}")
    (root / "blobs" / "sha256-0000").write_text("{{ .Prompt }}")
    manifest = root / "manifests" / "registry.ollama.ai" / "library" / "tinyllama" / "q4"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"schemaVersion": 2, "layers": [
        {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:0000", "size": 12},
        {"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest}", "size": blob.stat().st_size},
    ]}))
    return blob


def _hf_cache(hub: Path, model: Path) -> Path:
    """A Hugging Face hub cache: the snapshot's file is a relative link into blobs/, as huggingface_hub writes it."""
    repo = hub / "models--tiny-org--Tiny-GGUF"
    blob = _copy(model, repo / "blobs" / hashlib.sha256(model.read_bytes()).hexdigest())
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (snapshot / "tiny-q8.gguf").symlink_to(os.path.relpath(blob, snapshot))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    return snapshot / "tiny-q8.gguf"


@pytest.fixture
def apps(tmp_path: Path, tiny_model: Path, bad_models: dict) -> dict:
    """A home where every app keeps a copy of the tiny model (and GPT4All a damaged file); the environment that finds them."""
    home = tmp_path / "user"
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / ".local/share"), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache"), "OLLAMA_MODELS": str(home / ".ollama/models")}
    _copy(tiny_model, home / ".lmstudio/models/tiny-org/Tiny-GGUF/tiny-q4.gguf")
    _copy(tiny_model, home / ".local/share/nomic.ai/GPT4All/tiny-gpt4all.gguf")
    _copy(bad_models["truncated"], home / ".local/share/nomic.ai/GPT4All/broken.gguf")
    _copy(tiny_model, home / "jan/models/tiny-jan-1b/model.gguf")
    _copy(tiny_model, home / "Downloads/koboldcpp-1.80/tiny-kobold.gguf")
    _ollama_store(home / ".ollama/models", tiny_model)
    _hf_cache(home / ".cache/huggingface/hub", tiny_model)
    return env


def test_every_apps_layout_is_found_and_named_as_the_app_names_it(apps: dict) -> None:
    found = {name: (app, path) for app, name, path in candidates(apps)}
    assert found["tiny-q4"][0] == "LM Studio"
    assert found["tiny-gpt4all"][0] == "GPT4All" and found["broken"][0] == "GPT4All"
    assert found["tiny-jan-1b"][0] == "Jan"
    assert found["tiny-kobold"][0] == "KoboldCpp"
    assert found["tinyllama:q4"][0] == "Ollama" and found["tinyllama:q4"][1].name.startswith("sha256-")
    assert found["tiny-org/Tiny-GGUF/tiny-q8"][0] == "Hugging Face"
    assert len(found) == 7  # the Ollama template layer is not a model


def test_headers_are_read_and_the_fit_judged(apps: dict, home: Path, tiny_model: Path) -> None:
    found = {f.name: f for f in discover(Registry(home), 8192, ROOMY, apps)}
    tiny = found["tinyllama:q4"]
    assert (tiny.architecture, tiny.quantization, tiny.fits, tiny.problem) == ("llama", "F32", "ram", "")
    assert tiny.size_bytes == tiny_model.stat().st_size
    assert discover(Registry(home), 8192, {"ram": 1 << 20, "gpu": None}, apps)[0].fits == "no"


def test_an_unreadable_file_is_listed_with_its_reason(apps: dict, home: Path) -> None:
    broken = next(f for f in discover(Registry(home), 8192, ROOMY, apps) if f.name == "broken")
    assert not broken.usable and "truncated" in broken.problem


def test_environment_variables_point_an_app_elsewhere(apps: dict, tmp_path: Path, tiny_model: Path) -> None:
    _copy(tiny_model, tmp_path / "elsewhere/pub/repo/moved.gguf")
    _hf_cache(tmp_path / "hf-home/hub", tiny_model)
    env = {**apps, "SCRIPTORIUM_LMSTUDIO_MODELS": str(tmp_path / "elsewhere"), "HF_HOME": str(tmp_path / "hf-home")}
    found = {name: app for app, name, _ in candidates(env)}
    assert found["moved"] == "LM Studio" and "tiny-q4" not in found
    assert found["tiny-org/Tiny-GGUF/tiny-q8"] == "Hugging Face"


def test_a_found_model_is_registered_by_its_path_once(apps: dict, home: Path) -> None:
    registry = Registry(home)
    hf = next(f for f in discover(registry, 8192, ROOMY, apps) if f.app == "Hugging Face")
    info = register(registry, hf)
    assert info.name == "tiny-org/Tiny-GGUF/tiny-q8" and info.path == Path(os.path.realpath(hf.path))  # the blob, not a copy
    assert register(registry, hf) == info
    assert next(f for f in discover(registry, 8192, ROOMY, apps) if f.app == "Hugging Face").registered == info.name


def test_discover_command_lists_and_adds(apps: dict, home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in apps.items():
        monkeypatch.setenv(key, value)
    assert main(["models", "discover", "--home", str(home)]) == 0
    table = capsys.readouterr().out
    assert "tinyllama:q4" in table and "Ollama" in table and "truncated" in table
    assert main(["models", "discover", "--home", str(home), "--json", "--add", "tinyllama:q4", "tiny-jan-1b"]) == 0
    listed = {f["name"]: f for f in json.loads(capsys.readouterr().out)}
    assert listed["tinyllama:q4"]["registered"] == "tinyllama:q4" and listed["tiny-q4"]["registered"] is None
    assert {m.name for m in Registry(home).user_models()} == {"tinyllama:q4", "tiny-jan-1b"}
    assert main(["models", "discover", "--home", str(home), "--add", "broken"]) == 1
    assert "truncated" in capsys.readouterr().err


def test_split_models_count_once_and_a_name_two_apps_share_gets_the_apps_name(apps: dict, home: Path, tiny_model: Path) -> None:
    gpt4all = Path(apps["XDG_DATA_HOME"]) / "nomic.ai/GPT4All"
    for part in (1, 2):
        _copy(tiny_model, gpt4all / f"big-0000{part}-of-00002.gguf")
    _copy(tiny_model, gpt4all / "tiny-q4.gguf")  # LM Studio has a file of this name too
    found = {f.name: f for f in discover(Registry(home), 8192, ROOMY, apps)}
    assert found["big"].size_bytes == 2 * tiny_model.stat().st_size and "big-00002-of-00002" not in str(found)
    assert found["tiny-q4"].app == "LM Studio" and found["tiny-q4-gpt4all"].app == "GPT4All"


def test_find_models_in_the_model_manager_adds_the_ticked_ones(qtbot, gui_home: Path, apps: dict, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from PySide6.QtCore import Qt

    from app.ui.models_dialog import ModelManager

    for key, value in apps.items():
        monkeypatch.setenv(key, value)
    manager = ModelManager(gui_home)
    qtbot.addWidget(manager)
    finder = manager.find_models()
    qtbot.waitUntil(lambda: finder.table.rowCount() == 7, timeout=30000)
    names = [finder.table.item(r, 0).text() for r in range(7)]
    broken = finder.table.item(names.index("broken"), 0)
    assert not broken.flags() & Qt.ItemFlag.ItemIsEnabled and "truncated" in broken.toolTip()
    finder.table.item(names.index("tinyllama:q4"), 0).setCheckState(Qt.CheckState.Checked)
    finder.add_button.click()
    qtbot.waitUntil(lambda: "tinyllama:q4" in manager.models, timeout=30000)
    qtbot.waitUntil(lambda: finder.status.text().startswith("Added tinyllama:q4"), timeout=30000)
    assert finder.table.item(names.index("tinyllama:q4"), 6).text() == "tinyllama:q4"  # now shown as registered
