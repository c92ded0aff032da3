"""Engine choice: torch on a CUDA machine for the architectures it runs, llama.cpp otherwise, a per-model override,
and the reason in `hello` and the status bar."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from app.desk.status import device_label
from inference.client import WorkerClient
from inference.engine_choice import choose
from inference.models import Registry, inspect_gguf
from inference.protocol import ModelError


@pytest.fixture
def gemma(tiny_model: Path):
    return replace(inspect_gguf(tiny_model, sha256="-"), architecture="gemma3")


@pytest.mark.parametrize("engine,arch,cuda,expected", [
    ("auto", "gemma3", True, ("torch", "torch: CUDA GPU, gemma3 supported")),
    ("auto", "llama", True, ("torch", "torch: CUDA GPU, llama supported")),
    ("auto", "gemma3", False, ("llama_cpp", "llama.cpp: no CUDA GPU")),
    ("auto", "phi3", True, ("llama_cpp", "llama.cpp: CUDA GPU, but the torch engine does not run phi3")),
    ("llama_cpp", "gemma3", True, ("llama_cpp", "llama.cpp: set for this model")),
    ("torch", "gemma3", False, ("torch", "torch: set for this model")),
    ("torch", "phi3", True, ("llama_cpp", "llama.cpp: the torch engine does not run phi3")),
])
def test_choice_follows_the_device_the_architecture_and_the_override(gemma, engine, arch, cuda, expected) -> None:
    assert choose(replace(gemma, engine=engine, architecture=arch), cuda=cuda) == expected


def test_set_engine_is_kept_per_model_and_the_embedded_one_too(home: Path, tiny_model: Path, embedded_model: Path) -> None:
    registry = Registry(home)
    added = registry.add(tiny_model, name="tiny")
    assert (added.engine, added.precision) == ("auto", None)
    registry.set_engine("tiny", "torch", "int8")
    assert (registry.get("tiny").engine, registry.get("tiny").precision) == ("torch", "int8")
    assert registry.set_engine(registry.embedded().name, "llama_cpp").engine == "llama_cpp"
    assert registry.embedded().engine == "llama_cpp"
    with pytest.raises(ModelError):
        registry.set_engine("tiny", "tensorrt")


def test_models_set_engine_command(home: Path, tiny_model: Path) -> None:
    Registry(home).add(tiny_model, name="tiny")
    run = subprocess.run([sys.executable, "-m", "app.cli", "models", "set-engine", "tiny", "torch", "--precision", "int4",
                          "--json", "--home", str(home)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["engine"] == "torch" and Registry(home).get("tiny").precision == "int4"


def test_auto_worker_on_a_cpu_machine_keeps_llama_cpp_and_says_why(home: Path, tiny_model: Path) -> None:
    with WorkerClient(home=home) as client:
        loaded = client.call("load_model", model=str(tiny_model), timeout=60)
        hello = client.call("hello", timeout=30)
    assert loaded["engine"] == hello["engine"] == hello["backend"] == "llama_cpp"
    assert hello["engine_reason"] == "llama.cpp: no CUDA GPU"
    assert device_label(hello) == "CPU · llama.cpp: no CUDA GPU"


def test_auto_worker_runs_a_model_set_to_torch_on_torch(home: Path, tiny_model: Path) -> None:
    Registry(home).add(tiny_model, name="tiny")
    Registry(home).set_engine("tiny", "torch")
    with WorkerClient(home=home) as client:
        loaded = client.call("load_model", model="tiny", timeout=120)
        done = client.call("generate", raw_prompt="The river", max_tokens=4, temperature=0, timeout=120)
    assert loaded["engine"] == "torch" and loaded["engine_reason"] == "torch: set for this model"
    assert loaded["precision"] == "f32" and done["stats"]["generated_tokens"] >= 1
