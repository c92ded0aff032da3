"""Story notes reaching the prompt: which entries a cursor wakes, where the notes stand, and what the budget cuts first."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.cli import main
from app.desk.story_match import MATCH_CHARS, request_notes
from app.desk.suggestion import make_ask
from app.store import create_document, list_generations, open_db
from app.store.story_notes import Story, StoryEntry, add_entry, set_notes
from inference.backends.base import LoadOptions
from inference.backends.fake import FakeBackend
from inference.engine import Engine, GenerateParams
from inference.models import ModelInfo
from inference.protocol import BadRequest
from inference.story import MIN_TEXT_CHARS
from inference.tasks import NOTES_BREAK, NOTES_INTRO

NOTES = "Third person, past tense. A lighthouse on a northern island, 1911."
PLAIN_CHAT = "{% for m in messages %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}<model>"


def entry(name: str, keys: str, text: str, i: int = 0) -> StoryEntry:
    return StoryEntry(i, 1, name, keys, text, i)


STORY = Story(NOTES, (
    entry("Mara", "Mara, the keeper's daughter", "Mara is seventeen and counts the ships.", 1),
    entry("The Order", "Order of the Lamp", "A brotherhood of keepers, secretive.", 2),
    entry("灯塔", "灯塔, 北岛", "岛北端的白色灯塔，建于1890年。", 3),
    entry("Ann", "Ann", "Ann keeps the log.", 4),
))


def generate(story: Story, document: str, cursor: int | None = None, chat: str | None = None, **params) -> dict:
    """A request as the desk makes it (make_ask and the notes its cursor wakes), run by the engine on the fake backend."""
    cursor = len(document) if cursor is None else cursor
    ask = make_ask(params.pop("task", "continue"), document, cursor, cursor, notes=request_notes(story, document, cursor))
    engine = Engine(FakeBackend())
    engine.load(ModelInfo("fake", Path("fake.gguf"), "0" * 64, "llama", None, "F32", 4096, 0, chat), LoadOptions())
    outcome = engine.generate(GenerateParams.from_wire(ask.params() | params), lambda t, n: None, threading.Event())
    return outcome.to_result()


def test_the_notes_always_reach_the_prompt_and_only_entries_keyed_near_the_cursor() -> None:
    far_back = "The Order of the Lamp met once a year. " + "The sea was grey. " * (MATCH_CHARS // 18 + 10)
    prompt = generate(STORY, far_back + "At dawn the keeper's daughter climbed the tower.")["prompt"]
    assert prompt.startswith(NOTES + "\n\nMara: Mara is seventeen")  # the notes, then the woken entry
    assert "brotherhood" not in prompt  # its key is more than MATCH_CHARS back
    assert NOTES_BREAK + "The Order of the Lamp met" in prompt  # the story follows the notes, after a scene break
    assert prompt.endswith("climbed the tower.")


def test_keys_match_whole_words_in_any_case_and_cjk_keys_as_substrings() -> None:
    prompt = generate(STORY, "他们走向北岛的灯塔。annual reports bored MARA.")["prompt"]
    assert "岛北端的白色灯塔" in prompt and "Mara is seventeen" in prompt
    assert "Ann keeps the log" not in prompt  # "annual" is not the word "Ann"
    assert generate(Story("", STORY.entries), "灯塔很高")["prompt"].startswith("灯塔: 岛北端")


def test_a_phrase_key_matches_across_a_line_break_and_full_width_commas_separate_keys() -> None:
    story = Story("", (entry("Mara", "玛拉，the keeper's  daughter", "Mara again."),))
    assert "Mara again." in generate(story, "and the keeper's\ndaughter waited")["prompt"]
    assert "Mara again." in generate(story, "玛拉等着")["prompt"]


def test_no_notes_and_no_woken_entry_send_nothing() -> None:
    assert request_notes(Story("", STORY.entries), "Nothing of note here.", 21) is None
    assert generate(Story(), "Plain text.")["prompt"] == "Plain text."


def test_a_base_models_few_shot_prompt_has_the_notes_before_its_scaffold() -> None:
    prompt = generate(STORY, "Mara were tired.", task="proofread")["prompt"]
    assert prompt.startswith(NOTES) and (NOTES_BREAK + "Each passage is corrected") in prompt


def test_an_instruct_models_chat_has_the_notes_in_the_user_turn() -> None:
    prompt = generate(STORY, "Mara were tired.", task="proofread", chat=PLAIN_CHAT)["prompt"]
    assert prompt.startswith(f"<user>{NOTES_INTRO}\n\n{NOTES}\n\nMara: Mara is seventeen")
    assert "Correct the spelling" in prompt and prompt.endswith("Mara were tired.</user><model>")


def test_the_budget_cuts_the_entry_mentioned_longest_ago_first_and_keeps_the_text() -> None:
    # The fake backend counts bytes: a context of 4096, minus 200 to answer and a margin of 16.
    long = "x" * 900
    story = Story(NOTES, tuple(entry(n, n, f"{n}: {long}", i) for i, n in enumerate(["Alder", "Birch", "Cedar", "Damson"])))
    document = "Alder came first. " + "The wind rose. " * 60 + "Then Birch, Cedar and at last Damson arrived."
    result = generate(story, document)
    assert result["prompt"].endswith(document)  # every character of the text stayed
    assert "Alder: Alder" not in result["prompt"] and "Damson: Damson" in result["prompt"]
    assert "left out Alder" in result["notes"][0]


def test_past_the_entries_the_text_is_cut_but_never_below_the_floor() -> None:
    story = Story("N" * 2500, (entry("Mara", "Mara", "m" * 500),))
    document = "Mara sailed. " + "The sea was grey and the wind was cold. " * 200
    result = generate(story, document)
    kept = result["prompt"].split(NOTES_BREAK)[1]
    assert result["prompt"].startswith("N" * 2500) and "mmm" not in result["prompt"]
    assert MIN_TEXT_CHARS <= len(kept) < len(document) and document.endswith(kept)
    with pytest.raises(BadRequest, match="shorten the notes"):
        generate(Story("N" * 3500), document)


def test_malformed_notes_are_refused_before_any_model_loads() -> None:
    with pytest.raises(BadRequest, match="notes"):
        GenerateParams.from_wire({"task": "continue", "text": "x", "notes": {"entries": [{"name": "no text"}]}})
    with pytest.raises(BadRequest, match="notes"):
        GenerateParams.from_wire({"task": "continue", "text": "x", "notes": "premise"})


def test_write_doc_sends_the_documents_notes_and_logs_the_exact_prompt(home: Path, tiny_model: Path, capsys) -> None:
    assert main(["models", "use", str(tiny_model), "--home", str(home)]) == 0
    db = open_db(home)
    doc = create_document(db, "Novel", "Far away a ship. " + "The sea was grey. " * 120 + "At dawn Mara climbed the tower.")
    set_notes(db, doc.id, NOTES)
    add_entry(db, doc.id, "Mara", "Mara", "Mara is seventeen.")
    add_entry(db, doc.id, "Far", "Far", "Never given.")
    assert main(["write", "continue", "--doc", str(doc.id), "--max-tokens", "4", "--json", "--home", str(home)]) == 0
    capsys.readouterr()
    [logged] = list_generations(open_db(home), document_id=doc.id)
    assert logged.prompt.startswith(NOTES + "\n\nMara: Mara is seventeen.") and "Never given" not in logged.prompt
    assert logged.params["notes"]["entries"][0]["name"] == "Mara"


def test_the_worker_takes_the_notes_on_the_wire_and_refuses_bad_ones(home: Path, tiny_model: Path) -> None:
    from inference.client import WorkerClient
    from inference.protocol import Done, Error

    document = "At dawn Mara climbed the tower."
    with WorkerClient(home=home, backend="fake", env={"SCRIPTORIUM_FAKE_REPLY": " ok"}) as client:
        client.call("load_model", model=str(tiny_model), timeout=30)
        rid = client.send("generate", task="continue", text=document, max_tokens=4, notes=request_notes(STORY, document, len(document)))
        done = [e for e in client.events(rid, timeout=30) if isinstance(e, Done)][0]
        assert done.result["prompt"] == f"{NOTES}\n\nMara: Mara is seventeen and counts the ships.{NOTES_BREAK}{document}"
        bad = list(client.events(client.send("generate", task="continue", text="x", notes={"text": 3}), timeout=30))
        assert isinstance(bad[-1], Error) and bad[-1].code == "bad_request"


def test_in_a_long_document_the_far_text_goes_before_an_entry_keyed_near_the_cursor(monkeypatch) -> None:
    """World Info's rule: a chapter long past says less than the entry whose key was just written."""
    import inference.story

    monkeypatch.setattr("inference.engine.NEAR_TEXT_CHARS", 2000)  # the fake backend's context is 4,096 bytes
    assert inference.story.NEAR_TEXT_CHARS > 2000
    story = Story(NOTES, (entry("Mara", "Mara", "Mara is seventeen and counts the ships."),))
    document = "The sea was grey and the wind was cold. " * 150 + "At dawn Mara climbed the stairs."
    result = generate(story, document)
    assert "Mara is seventeen" in result["prompt"]  # the entry stayed
    kept = result["prompt"].split(NOTES_BREAK)[1]
    assert document.endswith(kept) and len(kept) <= 2000 < len(document)  # only the far text went
    assert "left out" in result["notes"][0] and "story entry" not in " ".join(result["notes"])
