"""The desk's store without a screen: what the window opens, saves, lists and logs, and the settings it keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import store
from app.desk.workspace import Workspace
from app.errors import UserError


@pytest.fixture
def workspace(home: Path):
    ws = Workspace(home)
    yield ws
    ws.close()


def test_autosave_stores_only_unsaved_edits_and_an_explicit_save_always(workspace: Workspace) -> None:
    doc_id = workspace.create("Draft")
    assert workspace.open(doc_id).title == "Draft"
    assert not workspace.save("nothing typed yet", "autosave")
    workspace.policy.edited(0)
    assert workspace.save("First words.", "autosave")
    assert not workspace.policy.dirty
    assert workspace.save("First words.", "save")
    assert [r.reason for r in workspace.revisions()] == ["save"]  # the same text: the autosave is relabelled, not repeated
    assert store.get_document(workspace.db, doc_id).body == "First words."


def test_documents_filter_by_title_or_text_and_the_trash_apart(workspace: Workspace) -> None:
    a = workspace.create("Morning")
    workspace.open(a)
    workspace.save("Gulls over the harbour.", "save")
    b = workspace.create("Harbour lights")
    assert {d.id for d in workspace.documents("HARBOUR")} == {a, b}
    assert [d.id for d in workspace.documents("gulls")] == [a]
    workspace.trash(a)
    assert workspace.doc_id is None  # the open document went to the trash
    assert [d.id for d in workspace.documents()] == [b]
    assert [d.id for d in workspace.documents("gulls", trash=True)] == [a]
    assert workspace.initial(a) == b  # a trashed document is not reopened at start
    workspace.restore(a)
    assert workspace.initial(a) == a


def test_a_missing_document_is_a_sentence_not_a_crash(workspace: Workspace) -> None:
    with pytest.raises(UserError, match="No document"):
        workspace.open(999)


def test_cache_budget_setting_is_unset_until_chosen(workspace: Workspace, home: Path) -> None:
    assert workspace.cache_budget_mb() is None
    workspace.set_cache_budget_mb(512)
    again = Workspace(home)
    try:
        assert again.cache_budget_mb() == 512
    finally:
        again.close()


def test_generations_are_logged_with_their_document(workspace: Workspace) -> None:
    doc_id = workspace.create("Log")
    workspace.log_generation(task="continue", prompt="p", output="o", model="m", params={}, stats={}, status="ok", document_id=doc_id)
    [logged] = store.list_generations(workspace.db, document_id=doc_id)
    assert (logged.task, logged.output, logged.status) == ("continue", "o", "ok")


def test_the_dictionary_and_each_documents_dialect_are_kept_in_the_store(workspace: Workspace, home: Path) -> None:
    first, second = workspace.create("One"), workspace.create("Two")
    workspace.open(first)
    assert workspace.dialect() is None
    workspace.set_dialect("British")
    assert workspace.add_word(" florilegium ") == "florilegium"
    workspace.add_word("florilegium")
    workspace.open(second)
    assert workspace.dialect() is None
    workspace.close()
    again = Workspace(home)
    again.open(first)
    assert again.dialect() == "British" and again.dictionary() == ["florilegium"]
    store.trash_document(again.db, first)
    store.empty_trash(again.db)
    assert list(again.db.query("SELECT * FROM document_settings")) == []  # deleted with its document
    again.close()
