"""One generation, end to end: task to prompt, prompt fitted to the context, tokens to whole characters, stats."""

from __future__ import annotations

import codecs
import logging
import random
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

from inference import backends
from inference.backends.base import Backend, GenerationStats, LoadOptions, RequestContext, SamplingParams, TextBackend
from inference.degenerate import ECHO_NOTE, REPETITION_NOTE, AnswerGuard
from inference.models import ModelInfo
from inference.protocol import BadRequest, Cancelled, NoModel, WorkerError
from inference.story import MIN_TEXT_CHARS, NEAR_TEXT_CHARS, StoryNotes
from inference.tasks import ECHO_CHECKS, Prompt, TaskInput, build_prompt
from inference.tasks import validate as validate_task

log = logging.getLogger(__name__)
# Room kept free beyond the prompt and the answer: chat templates add a few tokens we cannot count in advance.
CONTEXT_MARGIN = 16
_SAMPLING = SamplingParams()
SPECULATIVE_MODES = ("off", "auto", "lookup", "skip")  # and draft:MODEL; skip: the torch engine's layer-skipping drafts


@dataclass(frozen=True)
class GenerateParams:
    """A `generate` request's parameters, as they arrive on the wire."""

    task: str = "continue"
    text: str = ""
    instruction: str = ""
    language: str = "French"
    cursor: int | None = None
    raw_prompt: str | None = None  # bypass tasks: the text goes to the model as-is (benchmarks, tests, serve)
    stop: list[str] | None = None  # with raw_prompt: strings that end the answer (left out of it), as OpenAI's `stop`
    max_tokens: int = 200
    # sampling defaults live in SamplingParams, next to the reasons for them
    temperature: float = _SAMPLING.temperature
    top_k: int = _SAMPLING.top_k
    top_p: float = _SAMPLING.top_p
    min_p: float = _SAMPLING.min_p
    repeat_penalty: float = _SAMPLING.repeat_penalty
    seed: int | None = None
    doc_key: str | None = None  # which document the request belongs to (session caches)
    speculative: str = "auto"
    notes: dict | None = None  # story notes: {"text", "entries": [{"name", "text", "distance"}]} (inference/story.py)

    @classmethod
    def from_wire(cls, params: dict) -> "GenerateParams":
        known = {k: v for k, v in params.items() if k in cls.__dataclass_fields__}
        unknown = sorted(set(params) - set(known) - {"model"})
        if unknown:
            raise BadRequest(f"Unknown generate parameter(s): {', '.join(unknown)}.")
        try:
            params = cls(**known)
        except TypeError as exc:
            raise BadRequest(f"Bad generate parameters: {exc}.") from None
        params.validate()
        return params

    def validate(self) -> None:
        """Refuse what no model could answer, before any model is loaded for it."""
        if not isinstance(self.max_tokens, int) or isinstance(self.max_tokens, bool) or self.max_tokens < 1:
            raise BadRequest(f"max_tokens must be a whole number of at least 1, not {self.max_tokens!r}.")
        for name in ("temperature", "top_p", "min_p", "repeat_penalty"):
            if not isinstance(getattr(self, name), (int, float)) or isinstance(getattr(self, name), bool):
                raise BadRequest(f"{name} must be a number, not {getattr(self, name)!r}.")
        for name in ("top_k", "seed"):
            if getattr(self, name) is not None and (not isinstance(getattr(self, name), int) or isinstance(getattr(self, name), bool)):
                raise BadRequest(f"{name} must be a whole number, not {getattr(self, name)!r}.")
        if self.stop is not None and not (isinstance(self.stop, list) and all(isinstance(s, str) and s for s in self.stop)):
            raise BadRequest(f"stop must be a list of non-empty strings, not {self.stop!r}.")
        if self.speculative not in SPECULATIVE_MODES and not (self.speculative.startswith("draft:") and len(self.speculative) > 6):
            raise BadRequest(f"Unknown speculative mode {self.speculative!r}; use off, auto, lookup, skip or draft:MODEL.")
        self.story()  # refuses malformed notes
        if self.raw_prompt is None:
            try:
                validate_task(self.task_input())
            except ValueError as exc:
                raise BadRequest(str(exc)) from None

    def task_input(self, story: StoryNotes | None = None) -> TaskInput:
        return TaskInput(self.task, self.text, self.instruction, self.language, self.cursor, story.render() if story else "")

    def story(self) -> StoryNotes | None:
        return StoryNotes.from_wire(self.notes) if self.notes is not None else None

    def sampling(self) -> SamplingParams:
        return SamplingParams(self.max_tokens, self.temperature, self.top_k, self.top_p, self.min_p, self.repeat_penalty, self.seed)


ChooseFn = Callable[[ModelInfo], tuple[str, str]]


def _identity(model: ModelInfo) -> tuple:
    """What makes a loaded model the same one: the file or server, and the engine settings of its entry."""
    return model.path, model.sha256, model.remote, model.engine, model.precision


@dataclass
class Fitted:
    """The text that fits the context, and what was left out to make it fit."""

    text: str
    cut_before: int = 0
    cut_after: int = 0

    def note(self) -> str:
        parts = []
        if self.cut_before:
            parts.append(f"{self.cut_before:,} characters before")
        if self.cut_after:
            parts.append(f"{self.cut_after:,} characters after")
        return f"The text was too long for the model's context: left out {' and '.join(parts)} the part nearest the cursor." if parts else ""


@dataclass
class Outcome:
    """The result a `done` event carries for a generation."""

    prompt: str
    output: str
    model: str
    stop_reason: str
    stats: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_result(self) -> dict:
        return asdict(self)


class Engine:
    """Owns the loaded model and its backend; runs generations one at a time.

    The backend follows the model: model files run on the worker's own backend (`local`), a
    remote entry on a remote backend made for it, so one worker switches back and forth.
    """

    def __init__(self, backend: Backend, cache_db: Path | None = None, choose: ChooseFn | None = None) -> None:
        self.local = backend
        self.backend = backend
        self.cache_db = cache_db  # <home>/cache.db for session caches; None keeps them in memory only
        self.choose = choose  # picks the local engine per model file (inference.engine_choice); None: always `local`
        self.model: ModelInfo | None = None
        self.load_info: dict = {}

    def load(self, model: ModelInfo, options: LoadOptions) -> dict:
        """Load a model (a no-op if it is already loaded with the same file and settings, or from the same server)."""
        if self.model is not None and _identity(self.model) == _identity(model):
            return self.load_info
        self.model = None
        backend, reason = (backends.remote(), None) if model.remote is not None else self._local_for(model)
        if backend is not self.backend:
            self.backend.unload()  # one model at a time, whichever backend held it
            self.backend = backend
        self.load_info = backend.load_model(model, options)
        if reason is not None:
            self.load_info = {**self.load_info, "engine": backend.name, "engine_reason": reason}
        self.backend.attach_cache(self.cache_db, model.sha256)
        self.model = model
        return self.load_info

    def _local_for(self, model: ModelInfo) -> tuple[Backend, str | None]:
        """The engine for a model file and why; a worker started with a fixed --backend always uses it."""
        if self.choose is None:
            return self.local, None
        name, reason = self.choose(model)
        if name != self.local.name:
            self.local.unload()
            self.local = backends.base.create(name)
        return self.local, reason

    def idle_step(self) -> bool:
        """One step of the loaded backend's background work (the worker calls it while no request waits); whether more remains."""
        return self.model is not None and self.backend.idle_step()

    def describe(self) -> dict:
        return {"model": self.model.name if self.model else None, "remote": False, **self.load_info}

    def render(self, params: GenerateParams, story: StoryNotes | None = None) -> Prompt:
        """The prompt for a request, with these story notes (the request's own may have lost entries to fit)."""
        if params.raw_prompt is not None:
            return Prompt(text=params.raw_prompt, strip_output=False, stop=tuple(params.stop or ()))
        try:
            prompt = build_prompt(params.task_input(story), bool(self.model and self.model.chat))
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return prompt

    def generate(self, params: GenerateParams, emit: Callable[[str, int], None], cancel: threading.Event) -> Outcome:
        """Run one generation, streaming whole characters through `emit(text, n_tokens)`.

        An answer that only echoes the writer's text is never shown: it is asked again once with another seed
        (not when greedy, which would echo again), then reported with an empty output.
        """
        outcome = self._generate_once(params, emit, cancel)
        if outcome.stop_reason == "echo" and not params.sampling().greedy:
            seed = (params.seed + 1) if params.seed is not None else random.randrange(2**31)
            outcome = self._generate_once(replace(params, seed=seed), emit, cancel)
            outcome.stats["retry_seed"] = seed
        outcome.notes += [note for reason, note in _NOTES.items() if outcome.stop_reason == reason]
        return outcome

    def _generate_once(self, params: GenerateParams, emit: Callable[[str, int], None], cancel: threading.Event) -> Outcome:
        if self.model is None:
            raise NoModel("No model is loaded; send load_model first.")
        t_start = time.perf_counter()
        prompt, prompt_text, n_prompt, ids, notes = self._fit(params)
        if cancel.is_set():
            raise Cancelled("Generation was stopped.")
        stats = GenerationStats(prompt_tokens=n_prompt)
        stream = _TextStream(prompt, emit, _guard(params, prompt))
        t_first = t_last = None
        stop_reason = "length"
        context = RequestContext(params.doc_key, params.speculative, params.task, cancel)
        for piece in _shown_on_failure(self._answer(prompt, ids, params.sampling(), stats, context), stream):
            if cancel.is_set():
                raise Cancelled("Generation was stopped.")
            now = time.perf_counter()
            t_first = t_first or now
            t_last = now
            if stream.feed(piece):
                stop_reason = stream.reason or "stop"
                break
        else:
            if stats.finish or stats.generated_tokens < params.max_tokens:
                stop_reason = stats.finish or "end"
        stream.finish()
        stop_reason = stream.reason or stop_reason
        return Outcome(prompt_text, stream.output(), self.model.name, stop_reason, _stats(stats, t_start, t_first, t_last), notes)

    def _answer(self, prompt: Prompt, ids: list[int], sampling: SamplingParams, stats: GenerationStats, context: RequestContext) -> Iterator[bytes | str]:
        """The answer as it comes: text pieces from a text backend (a server), each token's bytes from a token backend."""
        if isinstance(self.backend, TextBackend):
            yield from self.backend.generate_text(prompt, sampling, stats, context)
            return
        for token in self.backend.generate(ids, sampling, stats, context):
            yield self.backend.token_bytes(token)

    def _prompt_text(self, prompt: Prompt) -> str:
        if prompt.text is not None:
            return prompt.text
        if isinstance(self.backend, TextBackend):  # the server applies its own chat template: count and log the words
            return "\n\n".join(m["content"] for m in prompt.messages)
        from inference.chat_template import render_chat

        return render_chat(self.model.chat_template or "", prompt.messages)  # type: ignore[union-attr]

    def _measure(self, text: str) -> tuple[int, list[int]]:
        """The prompt's length in tokens, and its ids for a backend that decodes ids itself (none for a text backend)."""
        if isinstance(self.backend, TextBackend):
            return self.backend.count_tokens(text), []
        ids = self.backend.tokenize(text, add_bos=True)
        return len(ids), ids

    def _attempt(self, params: GenerateParams, story: StoryNotes | None) -> tuple[Prompt, str, int, list[int]]:
        """A prompt as rendered, its text, its length in tokens and its ids."""
        prompt = self.render(params, story)
        text = self._prompt_text(prompt)
        return (prompt, text, *self._measure(text))

    def _fit(self, params: GenerateParams) -> tuple[Prompt, str, int, list[int], list[str]]:
        """Make prompt + answer fit the context. What goes, in this order, when story entries share the prompt: the
        text beyond NEAR_TEXT_CHARS of the cursor; the entries, the one whose key was seen farthest before the cursor
        first; then text down to MIN_TEXT_CHARS. Without entries the text goes as far as needed (to MIN_TEXT_CHARS
        beside notes). The notes themselves are always given."""
        budget = self.backend.n_ctx - params.max_tokens - CONTEXT_MARGIN
        if budget <= 0:
            raise BadRequest(f"max_tokens {params.max_tokens} leaves no room for a prompt in a context of {self.backend.n_ctx} tokens.")
        story = params.story()
        prompt, text, n, ids = self._attempt(params, story)
        if n <= budget or params.raw_prompt is not None:
            return prompt, text, n, ids, []
        near, cut = params, []
        if story is not None and story.entries:
            # Text far back matters less than an entry whose key is near the cursor (World Info's rule):
            # first the text beyond NEAR_TEXT_CHARS goes, then entries, then text down to the floor.
            near, cut = self._near_text(params)
            prompt, text, n, ids = self._attempt(near, story)
            if n <= budget:
                return prompt, text, n, ids, cut
        left_out: list[str] = []
        while story is not None and story.entries and n > budget:
            story, entry = story.without_oldest()
            left_out.append(entry.name)
            prompt, text, n, ids = self._attempt(near, story)
        notes = [f"The context was too short for every story entry: left out {', '.join(left_out)}."] if left_out else []
        if n <= budget:
            return prompt, text, n, ids, [*cut, *notes]
        return self._shorten_text(params, story, budget, n, notes)

    def _near_text(self, params: GenerateParams) -> tuple[GenerateParams, list[str]]:
        """The request with only the NEAR_TEXT_CHARS nearest the cursor (when there is more), and a note of the cut."""
        if len(params.text) <= NEAR_TEXT_CHARS:
            return params, []
        cursor = len(params.text) if params.cursor is None else params.cursor
        fitted = fit_around_cursor(params.text, cursor, NEAR_TEXT_CHARS, before_only=params.task == "continue")
        moved = None if params.cursor is None else params.cursor - fitted.cut_before
        return replace(params, text=fitted.text, cursor=moved), [fitted.note()]

    def _shorten_text(self, params: GenerateParams, story: StoryNotes | None, budget: int, n: int, notes: list[str]) -> tuple[Prompt, str, int, list[int], list[str]]:
        """Shrink the text until the prompt fits, keeping what is nearest the cursor and, beside notes, the floor."""
        cursor = len(params.text) if params.cursor is None else params.cursor
        floor = min(MIN_TEXT_CHARS, len(params.text)) if story is not None else 1
        fitted = Fitted(params.text)
        for _ in range(12):
            keep = max(floor, int(len(fitted.text) * budget / n * 0.95))
            fitted = fit_around_cursor(params.text, cursor, keep, before_only=params.task == "continue")
            prompt, text, n, ids = self._attempt(_replace_text(params, fitted.text), story)
            if n <= budget:
                return prompt, text, n, ids, [*notes, fitted.note()]
            if keep == floor:
                break
        if story is not None:
            raise BadRequest(f"The story notes leave no room in the model's context for the {MIN_TEXT_CHARS:,} characters before the cursor; shorten the notes or lower max_tokens.")
        raise BadRequest("The request does not fit the model's context even after shortening the text; lower max_tokens.")


def _replace_text(params: GenerateParams, text: str) -> GenerateParams:
    return replace(params, text=text, cursor=None)


def fit_around_cursor(text: str, cursor: int, keep: int, before_only: bool) -> Fitted:
    """Keep `keep` characters nearest the cursor (only before it for a continuation), cut at whitespace."""
    if before_only:
        start = max(0, cursor - keep)
        start = _next_boundary(text, start, cursor)
        return Fitted(text[start:cursor], cut_before=start, cut_after=len(text) - cursor)
    start = max(0, cursor - keep // 2)
    end = min(len(text), start + keep)
    start = max(0, end - keep)
    start = _next_boundary(text, start, end)
    return Fitted(text[start:end], cut_before=start, cut_after=len(text) - end)


def _next_boundary(text: str, start: int, limit: int) -> int:
    """Move a cut forward to just after the next paragraph or sentence end, so no sentence is left half."""
    if start == 0:
        return 0
    window = text[start : min(limit, start + 400)]
    for mark in ("\n\n", ". ", "。", "\n", " "):
        pos = window.find(mark)
        if pos >= 0:
            return start + pos + len(mark)
    return start


class _TextStream:
    """Turns token bytes into whole characters, holding back text that may be the start of a stop string, and what
    the guard (inference/degenerate.py) holds: a scaffold label, a loop forming, an echo of the writer's text."""

    def __init__(self, prompt: Prompt, emit: Callable[[str, int], None], guard: AnswerGuard | None = None) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.stop = prompt.stop
        self.strip = prompt.strip_output
        self.emit = emit
        self.guard = guard
        self.reason = ""  # "repetition" or "echo" when the guard ended the answer
        self.text = prompt.output_prefix
        self.prefix_len = len(prompt.output_prefix)
        self.sent = 0
        self.pending_tokens = 0
        if prompt.output_prefix:
            emit(prompt.output_prefix, 0)
            self.sent = len(prompt.output_prefix)

    def feed(self, data: bytes | str) -> bool:
        """Add one token's bytes (or a server's piece of text); return True when a stop string or a loop ends the answer."""
        self.pending_tokens += 1
        self.text += data if isinstance(data, str) else self.decoder.decode(data)
        # A stop string only counts after the answer has begun: a base model often opens with a newline.
        body_start = len(self.text) - len(self.text.lstrip()) if self.strip else self.prefix_len
        for stop in self.stop:
            pos = self.text.find(stop, body_start)
            if pos >= 0:
                self.text = self.text[:pos]
                return True  # finish() shows the rest, once the guard has seen the whole answer
        return self._guarded(hold=max((len(s) - 1 for s in self.stop), default=0), final=False)

    def _guarded(self, hold: int, final: bool) -> bool:
        """Show the text but its last `hold` characters, as far as the guard allows; True when the guard ended the answer."""
        check = self.guard.check(self.text, final) if self.guard is not None else None
        if check is not None:
            self.text = check.text  # a leading label removed
        upto = max(self.sent, len(self.text) - hold)
        if check is not None and check.cut is not None:
            self.reason = check.reason
            # What was shown stays: a cut drops the loop's tail (and the space before it), never text already sent.
            self.text = self.text[: max(self.sent, len(self.text[: check.cut].rstrip()))]
            upto = len(self.text)
        elif check is not None:
            upto = min(upto, check.safe)
        self._flush(upto)
        return bool(check and check.cut is not None)

    def _flush(self, upto: int) -> None:
        if upto <= self.sent:
            return
        chunk = self.text[self.sent : upto]
        if self.strip and self.sent == 0:
            chunk = chunk.lstrip()
            if not chunk:
                return
        self.emit(chunk, self.pending_tokens)
        self.pending_tokens = 0
        self.sent = upto

    def finish(self) -> None:
        self.text += self.decoder.decode(b"", final=True)
        if not self.reason:
            self._guarded(hold=0, final=True)
        if self.strip:
            self.text = self.text.rstrip()
        self._flush(len(self.text))

    def output(self) -> str:
        return self.text.strip() if self.strip else self.text


def _shown_on_failure(pieces: Iterator[bytes | str], stream: _TextStream) -> Iterator[bytes | str]:
    """The backend's pieces; when it fails mid-answer (a server hanging up), what the stream held back is shown first,
    so the text that came is kept (a cancel keeps only what was shown)."""
    try:
        yield from pieces
    except WorkerError as exc:
        if not isinstance(exc, Cancelled):
            stream.finish()
        raise


def _guard(params: GenerateParams, prompt: Prompt) -> AnswerGuard | None:
    """The guard of a task's answer; a raw prompt's answer (benchmarks, serve) is the model's own, unguarded."""
    if params.raw_prompt is not None:
        return None
    story = params.story()
    source = params.text + ("\n" + story.render() if story else "")
    return AnswerGuard(prompt.labels, source, ECHO_CHECKS.get(params.task, ""), len(prompt.output_prefix))


_NOTES = {"repetition": REPETITION_NOTE, "echo": ECHO_NOTE}


def _stats(stats: GenerationStats, t_start: float, t_first: float | None, t_last: float | None) -> dict:
    """The `done` stats: decode speed counts the tokens after the first, over the time after the first."""
    ttft = (t_first - t_start) if t_first else None
    decode_s = (t_last - t_first) if t_first and t_last else 0.0
    evaluated = stats.prompt_tokens - stats.tokens_reused
    return {
        "prompt_tokens": stats.prompt_tokens,
        "tokens_reused": stats.tokens_reused,
        "generated_tokens": stats.generated_tokens,
        "ttft_ms": round(ttft * 1000, 1) if ttft is not None else None,
        "tokens_per_s": round((stats.generated_tokens - 1) / decode_s, 2) if decode_s > 0 else None,
        "prefill_tokens_per_s": round(evaluated / ttft, 1) if ttft else None,
        "speculative": stats.speculative,
        "acceptance": round(stats.accepted_tokens / stats.drafted_tokens, 3) if stats.drafted_tokens else None,
        **stats.extra,
    }
