"""Document, corpus and model text are data: nothing in them is ever run, by Python, a template, a shell or a spreadsheet."""

from __future__ import annotations

import ast
import csv
import json
from pathlib import Path

import pytest

from app.cli import main
from inference.chat_template import render_chat
from inference.client import WorkerClient
from inference.protocol import BadRequest, Done, Token

ROOT = Path(__file__).resolve().parent.parent
# The only modules that start processes, each with a fixed argument list and no shell: the worker
# (inference/client.py), nvidia-smi (inference/gpu.py), the servers `bench serve` compares (inference/bench/serve.py).
PROCESS_MODULES = {"inference/client.py", "inference/gpu.py", "inference/bench/serve.py"}
# Ways text becomes code or objects: evaluated, unpickled, loaded as YAML, handed to a shell.
RUNS_TEXT = {"eval", "exec", "compile", "__import__"}
UNSAFE_MODULES = {"pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "yaml"}
SHELL_CALLS = {"system", "popen", "execv", "execve", "execvp", "execl", "spawnv", "spawnl"}
# Text that would do harm if anything ran it: Python, a template, a shell, a spreadsheet formula.
HOSTILE = "__import__('os').system('touch PWNED') {{ 7*7 }} $(touch PWNED) `touch PWNED` =HYPERLINK(\"http://x\")"


def _sources() -> list[tuple[str, ast.Module]]:
    files = sorted(p for top in ("app", "inference") for p in (ROOT / top).rglob("*.py"))
    return [(str(p.relative_to(ROOT)), ast.parse(p.read_text(encoding="utf-8"), str(p))) for p in files]


def _violations(name: str, tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in RUNS_TEXT:
            found.append(f"{name}:{node.lineno} calls {node.func.id}()")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SHELL_CALLS \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "os":
            found.append(f"{name}:{node.lineno} calls os.{node.func.attr}()")
        if isinstance(node, ast.keyword) and node.arg == "shell" and not (isinstance(node.value, ast.Constant) and node.value.value is False):
            found.append(f"{name}:{node.lineno} passes shell=")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load" \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch" \
                and not any(k.arg == "weights_only" and getattr(k.value, "value", None) is True for k in node.keywords):
            found.append(f"{name}:{node.lineno} calls torch.load without weights_only=True (it unpickles)")
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        for module in modules:
            top = module.split(".")[0]
            if top in UNSAFE_MODULES:
                found.append(f"{name}:{node.lineno} imports {module}")
            if top == "subprocess" and name not in PROCESS_MODULES:
                found.append(f"{name}:{node.lineno} imports subprocess outside {sorted(PROCESS_MODULES)}")
    return found


def test_no_code_path_evaluates_unpickles_or_shells_out() -> None:
    """A scan of every module: no eval/exec, no pickle or YAML loading, no shell, processes started in three places only."""
    violations = [v for name, tree in _sources() for v in _violations(name, tree)]
    assert violations == []


def test_the_scan_sees_what_it_forbids() -> None:
    planted = ast.parse("import pickle\nimport subprocess\nos.system('x')\neval(t)\nsubprocess.run(c, shell=True)\ntorch.load(p)\n")
    assert len(_violations("app/planted.py", planted)) == 6


@pytest.mark.parametrize("template", [
    "{{ messages.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('touch PWNED').read() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{% for m in messages %}{{ m.update({'role': 'system'}) }}{% endfor %}",  # the messages cannot be changed either
])
def test_a_models_chat_template_cannot_reach_python(template: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadRequest, match="chat template"):
        render_chat(template, [{"role": "user", "content": "Hi"}])
    assert not (tmp_path / "PWNED").exists()


def test_message_text_in_a_template_is_rendered_as_text_not_evaluated() -> None:
    rendered = render_chat("{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}", [{"role": "user", "content": HOSTILE}])
    assert rendered == f"<user>{HOSTILE}"  # {{ 7*7 }} stays as written, not 49


def test_what_a_model_writes_comes_back_as_text_and_runs_nowhere(home: Path, tmp_path: Path, tiny_model: Path) -> None:
    with WorkerClient(home=home, backend="fake", env={"SCRIPTORIUM_FAKE_REPLY": HOSTILE}) as client:
        client.call("load_model", model=str(tiny_model), timeout=30)
        events = list(client.events(client.send("generate", task="continue", text="Once upon a time", max_tokens=len(HOSTILE.encode())), timeout=30))
    assert "".join(e.text for e in events if isinstance(e, Token)) == events[-1].result["output"] == HOSTILE
    assert isinstance(events[-1], Done) and not list(ROOT.glob("PWNED")) and not list(tmp_path.rglob("PWNED"))


def test_a_kwic_csv_escapes_formula_cells_and_the_json_keeps_them(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    texts = tmp_path / "texts"
    texts.mkdir()
    for n, formula in enumerate(["=HYPERLINK(1)", "+SUM(A1)", "-2+3", "@cmd"]):  # one a file: each a left context
        (texts / f"={n}.txt").write_text(f"{formula} moon {formula}\n", encoding="utf-8")
    home, out = tmp_path / "home", tmp_path / "kwic.csv"
    assert main(["corpus", "import", str(texts), "--corpus", "c", "--home", str(home)]) == 0
    capsys.readouterr()
    assert main(["corpus", "kwic", "moon", "--width", "40", "--csv", str(out), "--json", "--home", str(home)]) == 0
    lines = json.loads(capsys.readouterr().out)["lines"]
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(lines) == 4 and {line["left"][:1] for line in lines} == {"=", "+", "-", "@"}  # each line's context starts at a formula
    for line, row in zip(lines, rows):
        for key in ("title", "left", "match", "right"):
            formula = str(line[key]).startswith(("=", "+", "-", "@", "\t", "\r"))
            assert row[key] == ("'" if formula else "") + str(line[key])  # the rule, cell by cell; JSON keeps the raw text
    assert rows[0]["title"].startswith("'=") and rows[0]["text_id"].isdigit() and rows[0]["start"].isdigit()
