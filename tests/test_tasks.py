"""Writing tasks: base-model prompts are few-shot, instruct models get their chat template, nonsense is refused."""

from __future__ import annotations

import pytest

from inference.chat_template import render_chat
from inference.tasks import TASKS, TaskInput, build_prompt

TEXT = "Their going too the park tomorow."


@pytest.mark.parametrize("task", [t for t in TASKS if t != "continue"])
def test_base_prompts_end_where_the_answer_starts_and_stop_at_the_next_example(task: str) -> None:
    prompt = build_prompt(TaskInput(task, TEXT, instruction="shorter" if task != "instruct" else "Say it twice"), chat=False)
    assert prompt.text and TEXT.strip() in prompt.text
    assert prompt.stop, "a few-shot prompt must stop before the model writes another example"
    assert prompt.text.count("\n\n") >= 1  # one worked example precedes the request


def test_continue_is_the_text_before_the_cursor() -> None:
    prompt = build_prompt(TaskInput("continue", "Once upon a time. THE END", cursor=17), chat=False)
    assert prompt.text == "Once upon a time."
    assert not prompt.strip_output and not prompt.stop


def test_translate_uses_the_target_language_example() -> None:
    prompt = build_prompt(TaskInput("translate", "Good morning.", language="Chinese"), chat=False)
    assert "花园" in prompt.text and prompt.text.endswith("Chinese:")


def test_rewrite_style_chooses_its_example() -> None:
    formal = build_prompt(TaskInput("rewrite", TEXT, instruction="more formal"), chat=False).text
    plain = build_prompt(TaskInput("rewrite", TEXT, instruction="plainer"), chat=False).text
    assert formal != plain and "more formal" in formal


def test_chat_prompt_for_instruct_models() -> None:
    prompt = build_prompt(TaskInput("translate", "Good morning.", language="German"), chat=True)
    assert prompt.text is None
    assert "German" in prompt.messages[0]["content"] and "Good morning." in prompt.messages[0]["content"]


def test_chat_template_renders_without_a_second_bos() -> None:
    template = "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
    out = render_chat(template, [{"role": "user", "content": "hi"}])
    assert out == "<|user|>hi\n<|assistant|>"


@pytest.mark.parametrize(
    "task_input, fragment",
    [
        (TaskInput("poem", "x"), "Unknown task"),
        (TaskInput("instruct", "x", instruction=" "), "needs an instruction"),
        (TaskInput("proofread", "   "), "no text"),
    ],
)
def test_nonsense_is_refused_with_a_sentence(task_input: TaskInput, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        build_prompt(task_input, chat=False)
