"""The desktop app's screen-free logic: counting, autosave timing, suggestions, tracked changes, transfers."""

from __future__ import annotations

import random

import pytest

from app import store
from app.desk import compress_feed, transfer
from app.desk.autosave import AutosavePolicy
from app.desk.counting import Counter, count, count_delay_ms, count_words
from app.desk.review import Review, parse_link
from app.desk.status import cache_summary, device_label, generation_summary, reuse_label
from app.desk.suggestion import Phase, Suggestion, make_ask


def test_cjk_characters_count_as_words():
    assert count_words("Hello, world!") == 2
    assert count_words("春眠不觉晓，处处闻啼鸟。") == 10
    assert count_words("Li Bai 写了《静夜思》 in 726.") == 9
    assert count_words("— … -- ") == 0
    c = count("a b\nc")
    assert (c.words, c.chars, c.chars_no_spaces) == (3, 5, 3)
    assert c.label() == "3 words · 5 characters"


def test_long_texts_are_counted_after_a_pause():
    assert count_delay_ms(1_000) == 0
    assert count_delay_ms(1_000_000) > 0


def test_autosave_waits_for_a_pause_but_not_forever():
    policy = AutosavePolicy(idle_ms=2000, max_wait_ms=10_000)
    assert not policy.dirty
    assert policy.edited(0) == 2000
    assert policy.edited(9_000) == 1000  # typing without a pause: the deadline comes first
    assert policy.edited(12_000) == 0
    policy.saved()
    assert not policy.dirty and policy.edited(20_000) == 2000


def test_ask_targets_the_selection_or_the_cursor():
    doc = "One. Two. Three."
    ask = make_ask("rewrite", doc, 9, 5)
    assert (ask.start, ask.end, ask.text, ask.source) == (5, 9, "Two.", "Two.")
    cont = make_ask("continue", doc, 4, 4, doc_id=7)
    assert (cont.start, cont.end, cont.cursor, cont.text) == (4, 4, None, "One.")
    assert len(make_ask("continue", "x" * 200_000, 150_000, 150_000).text) == 65_536
    assert cont.params()["doc_key"] == store.session_key(7)
    whole = make_ask("proofread", doc, 3, 3)
    assert (whole.start, whole.end, whole.source) == (0, len(doc), doc)
    summary = make_ask("summarize", doc, 3, 3)
    assert (summary.start, summary.end, summary.cursor) == (3, 3, None)


def test_suggestion_follows_only_the_newest_request():
    s = Suggestion()
    ask = make_ask("continue", "Hi", 2, 2)
    s.begin("q1", ask)
    assert s.feed("q1", " there")
    s.begin("q2", ask)  # Retry: q1 is superseded
    assert not s.feed("q1", " stale")
    assert not s.finish("q1", {"output": "stale"})
    assert s.feed("q2", " you")
    assert s.finish("q2", {"output": " you"})
    assert s.phase is Phase.READY and s.can_accept and s.text == " you"


def test_stopped_suggestion_keeps_its_text_and_failure_has_none():
    s = Suggestion()
    s.begin("q1", make_ask("continue", "Hi", 2, 2))
    s.feed("q1", " so far")
    assert s.stop() == "q1"
    assert not s.finish("q1", None, "cancelled")  # the late terminal event changes nothing
    assert s.phase is Phase.STOPPED and s.text == " so far" and s.can_accept
    s.begin("q2", make_ask("continue", "Hi", 2, 2))
    s.finish("q2", None, "worker_died", "The worker stopped.")
    assert s.phase is Phase.FAILED and not s.can_accept and s.error == "The worker stopped."
    assert s.discard() is None and s.phase is Phase.IDLE and not s.can_accept


def test_tracked_only_for_rewrite_and_proofread_of_a_selection():
    s = Suggestion()
    s.begin("q1", make_ask("rewrite", "a b c", 0, 3))
    assert s.tracked
    s.begin("q2", make_ask("continue", "a b c", 5, 5))
    assert not s.tracked


def test_review_accepts_and_rejects_hunk_by_hunk():
    review = Review("The cat sat on the mat.", "The dog sat on a mat today.")
    changes = review.changes
    assert len(changes) == 3 and review.pending == 3
    assert review.result() == "The dog sat on a mat today."
    review.decide(changes[0], False)
    assert review.result() == "The cat sat on a mat today."
    assert review.result(pending_accepted=False) == "The cat sat on the mat."
    review.decide_all(False)
    assert review.result() == "The cat sat on the mat."
    with pytest.raises(IndexError):
        review.decide(0, True)  # an unchanged run
    html = Review("a b", "a c").to_html()
    assert "hunk:" in html and "line-through" in html
    assert "hunk:" not in Review("a b", "a c").to_html(links=False)
    assert parse_link("hunk:3:accept") == (3, True) and parse_link("hunk:x:accept") is None


def test_status_words():
    stats = {"prompt_tokens": 8004, "tokens_reused": 7912, "generated_tokens": 40, "tokens_per_s": 42.31}
    assert reuse_label(stats) == "reused 7,912 of 8,004 tokens"
    assert generation_summary(stats, 8192) == "42.3 tokens/s · context 8,044 / 8,192 · reused 7,912 of 8,004 tokens"
    assert generation_summary({}, None) == ""
    assert generation_summary({"tokens_per_s": 9.0, "skip_set": "searching"}, None) == "9.0 tokens/s · layer skipping: searching when idle"
    assert generation_summary({"skip_set": "stored", "skip_layers": 2, "skip_search_s": 12.34}, None) == (
        "layer skipping on: 2 layers skipped to draft (this answer waited 12.3 s for the search)")
    assert generation_summary({"skip_set": "stored", "skip_layers": 0}, None) == "layer skipping off: it does not pay on this device"
    assert generation_summary({"skip_set": "none"}, None) == ""
    assert device_label({"device": "cpu"}) == "CPU"
    assert device_label({"device": "cuda", "n_gpu_layers": 33}) == "GPU (33 layers)"
    assert cache_summary({"entries": 12, "bytes": 48 * 2**20, "budget": 2048 * 2**20}) == "12 saved session(s), 48.0 MiB of 2,048 MiB"
    assert cache_summary({}).startswith("Empty")


def test_export_target_and_jobs(home, tmp_path):
    assert transfer.export_target(str(tmp_path / "a.docx"), "") == (tmp_path / "a.docx", "docx")
    assert transfer.export_target(str(tmp_path / "a"), transfer.EXPORT_FILTERS["epub"]) == (tmp_path / "a.epub", "epub")
    assert transfer.suggested_name("My: draft/2") == "My_ draft_2.md"
    assert "Word document (*.docx)" in transfer.export_filter()
    db = store.open_db(home)
    doc = store.create_document(db, "Draft", "# Title\n\nSome *words*.")
    for fmt in ("md", "txt", "docx", "odt", "epub"):
        written = transfer.export_job(home, doc.id, tmp_path / f"out.{fmt}", fmt)
        assert (tmp_path / f"out.{fmt}").stat().st_size > 0 and written.endswith(fmt)
    done = transfer.import_job(home, tmp_path / "out.docx")
    assert "Some" in store.get_document(db, done.doc_id).body and done.message() == "Imported out.docx."
    (tmp_path / "poem.txt").write_bytes("床前明月光，疑是地上霜。举头望明月，低头思故乡。".encode("gb18030"))
    assert "GB18030" in transfer.import_job(home, tmp_path / "poem.txt").message().upper()


def test_compress_feed_lines():
    assert compress_feed.parse('{"kind": "progress", "stage": "quantize", "fraction": 0.5}').fraction == 0.5
    assert compress_feed.parse("not json").kind == "other"
    assert compress_feed.parse('{"kind": "result", "output": "m.gguf"}').payload["output"] == "m.gguf"
    assert compress_feed.summary({"output": "m.gguf"}) == "Compressed: m.gguf."
    cmd = compress_feed.compress_command("m", "Q4_K_M", "/h")
    assert cmd[-6:] == ["m", "--type", "Q4_K_M", "--progress-json", "--home", "/h"]


def test_reuse_of_the_start_token_alone_is_not_shown() -> None:
    assert reuse_label({"prompt_tokens": 68, "tokens_reused": 1}) == ""


def test_the_paragraph_counter_equals_a_whole_count_through_edits() -> None:
    rng = random.Random(7)
    pieces = ["word", "two words", "春眠不觉晓，", "處處聞啼鳥。", "  ", "\n", "\n\n", "x_y", "3.14", "—", "\u2029", "don't"]
    counter = Counter()
    text = ""
    for _ in range(300):
        at = rng.randrange(len(text) + 1)
        if text and rng.random() < 0.3:
            text = text[:at] + text[at + rng.randrange(1, 12):]
        else:
            text = text[:at] + rng.choice(pieces) + text[at:]
        assert counter.count(text) == count(text)
