"""Writing tasks turned into prompts: few-shot completions for base models, the chat template for instruct models."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

from inference.scripts import UNSPACED

TASKS = ("continue", "rewrite", "proofread", "summarize", "translate", "outline", "brainstorm", "instruct")
# Not a writing task: `corpus ask` (app/corpus/answer.py) sends it; text = number_sources(...), instruction = the question.
ANSWER = "answer"
REWRITE_STYLES = ("plainer", "more formal", "shorter", "longer")
BRAINSTORM_KINDS = ("titles", "ideas")
# What makes an answer an echo of the writer's text (inference/degenerate.py): "copy", being mostly a copy of it;
# "same", being it unchanged. Proofreading a correct text rightly gives it back; titles and outlines may quote it.
ECHO_CHECKS = {"continue": "copy", "summarize": "copy", "translate": "copy", "instruct": "copy", "rewrite": "same"}
# Between a base model's story notes and its prompt: a scene break, so the notes read as background, not as the story.
NOTES_BREAK = "\n\n***\n\n"
NOTES_INTRO = "Notes on the story (background for you; do not repeat them):"


@dataclass(frozen=True)
class TaskInput:
    """What the writer asked for: the task, the text it works on, and its options."""

    task: str
    text: str
    instruction: str = ""  # rewrite style, brainstorm kind, or free instruction
    language: str = "French"  # translate target
    cursor: int | None = None  # continue: where the cursor is (None: end of text)
    notes: str = ""  # story notes, rendered (inference/story.py): context given before the task


@dataclass(frozen=True)
class Prompt:
    """A prompt ready for the model, with where to stop and how to clean the output."""

    text: str | None = None  # a completion prompt (base models)
    messages: list[dict] = field(default_factory=list)  # a chat (instruct models)
    stop: tuple[str, ...] = ()
    strip_output: bool = True  # continuations keep their leading space; answers do not
    output_prefix: str = ""  # text the prompt already began for the model (a list's "1.")
    labels: tuple[str, ...] = ()  # the few-shot scaffold's labels ("Original", "Corrected"): never part of an answer


# One worked example per task: a 270M base model copies the shape of what it sees far better
# than it follows a description. Each example ends with the blank line that also stops it.
_REWRITE_EXAMPLES = {
    "plainer": ("The committee has determined that the initiative will be discontinued owing to insufficient resources.", "The committee is ending the project because there is not enough money."),
    "more formal": ("We can't make it on Friday, sorry. Can we do next week?", "Unfortunately, we are unable to attend on Friday. Would a date next week be convenient?"),
    "shorter": ("In the event that you find yourself unable to attend the meeting, please be so kind as to let us know in advance.", "If you cannot attend, please tell us in advance."),
    "longer": ("The house was old.", "The house was old, its shutters faded by a hundred summers and its floorboards worn smooth by generations of feet."),
}
_GENERIC_REWRITE = ("The results was good but the method were slow.", "The results were good, but the method was slow.")
_PROOFREAD_EXAMPLE = ("Their going to the libary tomorow, weather or not it rains.", "They're going to the library tomorrow, whether or not it rains.")
_SUMMARY_EXAMPLE = (
    "The town council met on Tuesday to discuss the new bridge. Engineers said the old bridge was unsafe and would close in spring. "
    "Residents asked for a ferry in the meantime, and the council agreed to pay for one until the new bridge opens.",
    "The old bridge is unsafe and will close in spring; the council will fund a ferry until the new one opens.",
)
_TRANSLATIONS = {
    "French": "Le jardin était calme, et la pluie tombait doucement sur les roses.",
    "German": "Der Garten war still, und der Regen fiel sanft auf die Rosen.",
    "Spanish": "El jardín estaba tranquilo y la lluvia caía suavemente sobre las rosas.",
    "Italian": "Il giardino era tranquillo e la pioggia cadeva dolcemente sulle rose.",
    "Portuguese": "O jardim estava calmo e a chuva caía suavemente sobre as rosas.",
    "Chinese": "花园很安静，雨轻轻地落在玫瑰上。",
    "Japanese": "庭は静かで、雨がそっとバラに降っていた。",
    "English": "The garden was quiet, and the rain fell softly on the roses.",
}
_TRANSLATION_SOURCE = "The garden was quiet, and the rain fell softly on the roses."
_OUTLINE_EXAMPLE = ("A short guide to keeping bees", "1. Why keep bees\n2. Choosing a hive and a site\n3. Buying the first colony\n4. Inspections through the year\n5. Harvesting honey")
_BRAINSTORM_EXAMPLES = {
    "titles": ("A story about a lighthouse keeper who finds a message in a bottle", "1. The Keeper's Letter\n2. Salt and Ink\n3. What the Tide Brought\n4. A Light for the Lost\n5. The Last Watch"),
    "ideas": ("A blog post about learning to cook", "1. The five dishes everyone should master\n2. What my first burnt risotto taught me\n3. Cooking on a student budget\n4. Knife skills in ten minutes\n5. Recipes from my grandmother's notebook"),
}

# What an instruct model is asked, in plain words, per task.
_CHAT_ASKS: dict[str, Callable[[TaskInput], str]] = {
    "rewrite": lambda t: f"Rewrite the following text so that it is {t.instruction or 'clearer'}. Reply with the rewritten text only.",
    "proofread": lambda t: "Correct the spelling, grammar and punctuation of the following text. Change nothing else. Reply with the corrected text only.",
    "summarize": lambda t: "Summarize the following text in a few sentences. Reply with the summary only.",
    "translate": lambda t: f"Translate the following text into {t.language}. Reply with the translation only.",
    "outline": lambda t: "Write a numbered outline for a piece of writing on the following subject.",
    "brainstorm": lambda t: f"Brainstorm five {t.instruction or 'ideas'} for the following. Reply with a numbered list.",
    "instruct": lambda t: t.instruction or "Respond to the following text.",
    "continue": lambda t: "Continue the following text in the same voice and style. Reply with the continuation only.",
    ANSWER: lambda t: (f"Answer the question from the numbered sources below: {t.instruction.strip()}\n"
                       "Cite each source you use by its number in brackets, like [2], and quote its exact words in quotation "
                       "marks. If the sources do not answer the question, say so."),
}


def validate(task_input: TaskInput) -> None:
    """Raise ValueError with a sentence a writer can act on if the request makes no sense."""
    if task_input.task == ANSWER:
        if not task_input.instruction.strip() or not task_input.text.strip():
            raise ValueError("An answer needs a question (the instruction) and the sources to answer it from (the text).")
        return
    if task_input.task not in TASKS:
        raise ValueError(f"Unknown task {task_input.task!r}; choose one of: {', '.join(TASKS)}.")
    if task_input.task == "instruct" and not task_input.instruction.strip():
        raise ValueError("The instruct task needs an instruction (--instruction \"...\").")
    if task_input.task != "continue" and not task_input.text.strip() and task_input.task not in ("brainstorm", "outline", "instruct"):
        raise ValueError(f"There is no text to {task_input.task}; select some text or pass --text-file.")


def build_prompt(task_input: TaskInput, chat: bool) -> Prompt:
    """The prompt for a task: a chat for instruct models, a few-shot completion otherwise."""
    validate(task_input)
    if chat:
        return _chat_prompt(task_input)
    prompt = _BASE_BUILDERS[task_input.task](task_input)
    if not task_input.notes:
        return prompt
    return replace(prompt, text=task_input.notes + NOTES_BREAK + prompt.text)  # plain context before the few-shot scaffold


def _chat_prompt(t: TaskInput) -> Prompt:
    ask = _CHAT_ASKS[t.task](t)
    body = _before_cursor(t) if t.task == "continue" else t.text
    content = f"{ask}\n\n{body}" if body.strip() else ask
    if t.notes:
        content = f"{NOTES_INTRO}\n\n{t.notes}\n\n---\n\n{content}"
    return Prompt(messages=[{"role": "user", "content": content}], strip_output=True)


def _before_cursor(t: TaskInput) -> str:
    return t.text if t.cursor is None else t.text[: t.cursor]


def _scaffold_stops(labels: tuple[str, ...], text: str) -> tuple[str, ...]:
    """Where an answer ends: the blank line between examples, or any label of the scaffold, on a new line or run on
    in the same one — except a label the writer's own text has, which may well be in the answer too."""
    return ("\n\n", *(f"{sep}{label}:" for label in labels if f"{label}:" not in text for sep in ("\n", " ")))


def _pair_prompt(header: str, left: str, right: str, example: tuple[str, str], text: str) -> Prompt:
    """A one-shot prompt of labelled pairs; generation stops at the next blank line or label."""
    shot = f"{header}\n\n{left}: {example[0]}\n{right}: {example[1]}\n\n{left}: {text.strip()}\n{right}:"
    return Prompt(text=shot, stop=_scaffold_stops((left, right), text), labels=(left, right))


def _continue(t: TaskInput) -> Prompt:
    return Prompt(text=_before_cursor(t), strip_output=False)


def _rewrite(t: TaskInput) -> Prompt:
    style = t.instruction.strip() or "plainer"
    example = _REWRITE_EXAMPLES.get(style, _GENERIC_REWRITE)
    return _pair_prompt(f"Each passage is rewritten to be {style}.", "Original", "Rewritten", example, t.text)


def _proofread(t: TaskInput) -> Prompt:
    return _pair_prompt("Each passage is corrected for spelling, grammar and punctuation.", "Original", "Corrected", _PROOFREAD_EXAMPLE, t.text)


def _summarize(t: TaskInput) -> Prompt:
    return _pair_prompt("Each text is followed by a one-sentence summary.", "Text", "Summary", _SUMMARY_EXAMPLE, t.text)


def _translate(t: TaskInput) -> Prompt:
    lang = t.language.strip() or "French"
    example = (_TRANSLATION_SOURCE, _TRANSLATIONS.get(lang, _TRANSLATIONS["French"]))
    return _pair_prompt(f"English text and its translation into {lang}.", "English", lang, example, t.text)


def _outline(t: TaskInput) -> Prompt:
    topic = t.text.strip() or t.instruction.strip()
    shot = f"Topic: {_OUTLINE_EXAMPLE[0]}\nOutline:\n{_OUTLINE_EXAMPLE[1]}\n\nTopic: {topic}\nOutline:\n1."
    labels = ("Topic", "Outline")
    return Prompt(text=shot, stop=_scaffold_stops(labels, topic), strip_output=False, output_prefix="1.", labels=labels)


def _brainstorm(t: TaskInput) -> Prompt:
    kind = t.instruction.strip() if t.instruction.strip() in BRAINSTORM_KINDS else "ideas"
    example = _BRAINSTORM_EXAMPLES[kind]
    subject = t.text.strip() or t.instruction.strip()
    shot = f"Subject: {example[0]}\n{kind.capitalize()}:\n{example[1]}\n\nSubject: {subject}\n{kind.capitalize()}:\n1."
    labels = ("Subject", kind.capitalize())
    return Prompt(text=shot, stop=_scaffold_stops(labels, subject), strip_output=False, output_prefix="1.", labels=labels)


def _instruct(t: TaskInput) -> Prompt:
    shot = (
        "Instruction: Make the sentence more vivid.\nText: The dog ran across the field.\n"
        "Response: The dog tore across the field, ears flying.\n\n"
        f"Instruction: {t.instruction.strip()}\nText: {t.text.strip()}\nResponse:"
    )
    labels = ("Instruction", "Text", "Response")
    return Prompt(text=shot, stop=_scaffold_stops(labels, t.instruction + "\n" + t.text), labels=labels)


# The answer task's worked examples, English and Chinese (a question in Chinese gets the Chinese one). The Chinese
# example asks in simplified characters of a source in traditional ones, as the corpus's fold allows. Measured on
# the embedded 270M model over the retrieval bench's questions (62 answered, 4 sources): it names the number the
# example named far more than the source that answers (an example citing [2] drew [3] and [4], 26% correct), so
# the sources come best first, as retrieval ranks them, and the example cites [1]: 73% of its citations then named
# a correct passage. The question before the sources, and the answer begun with "[", make it name a source first
# and then copy from it (quotes verified: 28% with 4 sources, 60% with 3 but 52% correct citations).
_ANSWER_EXAMPLES = {
    "en": ("Each question is answered from the numbered sources, the most relevant first: the number of the source "
           "that answers it, then its exact words in quotation marks.",
           [("Who built the mill?", ["The mill by the river was built in 1820 by the Carter family, who ran it for a century.",
                                     "In winter the river froze, and the children skated from the bridge to the church."],
             '[1] "built in 1820 by the Carter family"')]),
    "zh": ("每個問題都從編號的來源（最相關的在前）中回答：先寫出回答問題的來源編號，再用引號引出它的原話。",
           [("井水是什么样的？", ["村口有一口古井，井水冬暖夏涼。", "山中的寺院建於唐代，鐘聲傳到十里之外。"], "[1] 「井水冬暖夏涼」")]),
}
_SPACES = re.compile(r"\s+")
_CJK = re.compile(f"[{UNSPACED}]")


def number_sources(passages: Sequence[str]) -> str:
    """Passages as the answer task's sources, one a line: "[1] …", "[2] …" (each whitespace run as one space)."""
    return "\n".join(f"[{i}] {_SPACES.sub(' ', p).strip()}" for i, p in enumerate(passages, 1))


def _answer(t: TaskInput) -> Prompt:
    question = _SPACES.sub(" ", t.instruction).strip()
    header, examples = _ANSWER_EXAMPLES["zh" if _CJK.search(question) else "en"]
    shots = [f"Question: {q}\nSources:\n{number_sources(sources)}\nAnswer: {a}" for q, sources, a in examples]
    shot = "\n\n".join([header, *shots, f"Question: {question}\nSources:\n{t.text.strip()}\nAnswer: ["])
    labels = ("Sources", "Question", "Answer")
    # One line answers: past it the model writes more sources of its own ("[4] ...").
    return Prompt(text=shot, stop=("\n", *_scaffold_stops(labels, t.text + question)), output_prefix="[", labels=labels)


_BASE_BUILDERS: dict[str, Callable[[TaskInput], Prompt]] = {
    "continue": _continue,
    "rewrite": _rewrite,
    "proofread": _proofread,
    "summarize": _summarize,
    "translate": _translate,
    "outline": _outline,
    "brainstorm": _brainstorm,
    "instruct": _instruct,
    ANSWER: _answer,
}
