"""The evaluation set (tests/data/tasks/<task>.jsonl) as items, each turned into the `generate` request that runs it.

The set is held out from the prompts: no input or expected answer appears in any few-shot scaffold of
inference/tasks.py (tests/test_taskbench_data.py asserts it over every style, kind and language).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from inference.tasks import BRAINSTORM_KINDS, REWRITE_STYLES, TASKS, Prompt, TaskInput, build_prompt

DATA_DIR = Path(__file__).resolve().parents[2] / "tests" / "data" / "tasks"
DEV_DIR = DATA_DIR / "dev"  # a split for tuning (the proofreader's margins), never the figures reported
CLEAN_FILE = "proofread_clean.jsonl"
TRANSLATE_LANGUAGES = ("French", "German", "Spanish", "Italian", "Portuguese", "Chinese", "Japanese", "English")
# Room for each answer, in tokens: a corrected sentence is about as long as its input (Chinese costs more tokens a
# character than English a word); the rest are a sentence or a short list.
MAX_TOKENS = {"proofread": 64, "summarize": 64, "translate": 64, "rewrite": 64, "outline": 80, "brainstorm": 80,
              "continue": 48, "instruct": 48}


@dataclass(frozen=True)
class Item:
    """One input of the evaluation set: what the task gets, and what its checks need (`expect`, the rest of its line)."""

    id: str
    task: str
    text: str
    lang: str = "en"  # the input's language: "en" or "zh"
    instruction: str = ""
    language: str = ""  # translate: the target
    kind: str = ""  # proofread: the kind of its one error
    expect: dict = field(default_factory=dict)

    def request(self) -> dict:
        """The `generate` parameters: greedy (temperature 0), so a run is repeatable."""
        params = {"task": self.task, "text": self.text, "max_tokens": MAX_TOKENS[self.task], "temperature": 0.0}
        if self.instruction:
            params["instruction"] = self.instruction
        if self.language:
            params["language"] = self.language
        return params


def load(task: str, data_dir: Path = DATA_DIR) -> list[Item]:
    """The items of one task, in file order; ValueError naming the line of a malformed one."""
    path = Path(data_dir) / f"{task}.jsonl"
    items = []
    for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if line.strip():
            items.append(_item(task, json.loads(line), f"{path.name}:{n}"))
    return items


def _item(task: str, row: dict, where: str) -> Item:
    common = {k: row.pop(k) for k in ("id", "text", "lang", "instruction", "language", "kind") if k in row}
    if "id" not in common or "text" not in common:
        raise ValueError(f"{where}: an item needs an id and a text")
    return Item(task=task, expect=row.pop("expect", row), **common)


def load_clean(data_dir: Path = DATA_DIR) -> list[Item]:
    """Error-free sentences for proofreading (proofread_clean.jsonl, when the folder has one): any change is a false alarm."""
    path = Path(data_dir) / CLEAN_FILE
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [Item(row["id"], "proofread", row["text"], row.get("lang", "en"), kind="clean", expect={"corrected": row["text"]}) for row in rows]


def load_set(tasks: tuple[str, ...] = TASKS, limit: int | None = None, data_dir: Path = DATA_DIR) -> dict[str, list[Item]]:
    """Each task's items, the first `limit` of each (spread over kinds and languages: see `spread`)."""
    return {task: spread(load(task, data_dir), limit) for task in tasks}


def spread(items: list[Item], limit: int | None) -> list[Item]:
    """The first `limit` items taken in turn from each group (kind, else language), so a short run still sees each."""
    if limit is None or limit >= len(items):
        return items
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.kind or item.lang, []).append(item)
    rounds = [group[i] for i in range(max(map(len, groups.values()))) for group in groups.values() if i < len(group)]
    return rounds[:limit]


def scaffolds() -> list[Prompt]:
    """Every few-shot prompt the tasks can build (each style, kind and language), around a placeholder text."""
    inputs = [TaskInput(task, "PLACEHOLDER") for task in TASKS if task not in ("rewrite", "brainstorm", "translate", "instruct")]
    inputs += [TaskInput("rewrite", "PLACEHOLDER", style) for style in (*REWRITE_STYLES, "free text")]
    inputs += [TaskInput("brainstorm", "PLACEHOLDER", kind) for kind in BRAINSTORM_KINDS]
    inputs += [TaskInput("translate", "PLACEHOLDER", language=lang) for lang in TRANSLATE_LANGUAGES]
    inputs.append(TaskInput("instruct", "PLACEHOLDER", "PLACEHOLDER"))
    return [build_prompt(t, chat=False) for t in inputs]


def scaffold_labels() -> frozenset[str]:
    """The labels of every scaffold ("Original", "Summary", "Topic", ...): never part of an answer."""
    return frozenset(label for prompt in scaffolds() for label in prompt.labels)
