"""The desk's store on the GUI thread: the open document, its saves and revisions, the generation log, settings.

The window's controllers call these named functions and never hold a connection of their own; every
read here is one indexed query on a local file, quick enough for the GUI thread. Work that reads whole
documents in bulk (import, export, held-out text) runs in pool jobs with their own connections.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from app import store
from app.desk import prefs
from app.desk.autosave import AutosavePolicy
from app.desk.story_match import request_notes
from app.desk.task_marks import TaskMark, weak_tasks
from app.store import story_notes
from app.store.story_notes import Story, StoryEntry


class Workspace:
    """One data directory as the window sees it: which document is open and whether its edits are saved."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.db = store.open_db(self.home)
        self.doc_id: int | None = None
        self.doc_format = "markdown"
        self.policy = AutosavePolicy()
        self.unsaved_notes: str | None = None  # the open document's story notes as typed, until its next save
        self.closed = False

    # -- documents ---------------------------------------------------------------------------
    def documents(self, filter: str = "", trash: bool = False) -> list[store.DocumentInfo]:
        """The sidebar's list: live documents or the trash, whose title or text contains `filter`."""
        return store.list_documents(self.db, filter=filter.strip(), trashed_only=trash)

    def open(self, doc_id: int) -> store.Document:
        """Make `doc_id` the open document (nothing unsaved of it yet); raises UserError when it is gone."""
        doc = store.get_document(self.db, doc_id)
        self.doc_id, self.doc_format = doc.id, doc.format
        self.unsaved_notes = None
        self.policy.saved()
        return doc

    def initial(self, last: int | None) -> int | None:
        """Which document to open at start: the last one if it still exists, else the most recent."""
        ids = [d.id for d in store.list_documents(self.db)]
        return last if last in ids else (ids[0] if ids else None)

    def create(self, title: str = "Untitled") -> int:
        return store.create_document(self.db, title).id

    def title(self, doc_id: int) -> str:
        return store.get_document(self.db, doc_id).title

    def save(self, text: str, reason: str = "save") -> bool:
        """Store the open document's text and story notes as a revision; an autosave with nothing unsaved stores nothing."""
        if self.closed or self.doc_id is None or (reason == "autosave" and not self.policy.dirty):
            return False
        with self.db.atomic():
            if self.unsaved_notes is not None:
                story_notes.set_notes(self.db, self.doc_id, self.unsaved_notes)
            store.save_body(self.db, self.doc_id, text, reason)
        self.unsaved_notes = None
        self.policy.saved()
        return True

    def rename(self, doc_id: int, title: str) -> str:
        return store.rename_document(self.db, doc_id, title).title

    def trash(self, doc_id: int) -> None:
        store.trash_document(self.db, doc_id)
        if doc_id == self.doc_id:
            self.doc_id = None

    def restore(self, doc_id: int) -> None:
        store.restore_document(self.db, doc_id)

    def empty_trash(self) -> int:
        return store.empty_trash(self.db)

    # -- revisions ---------------------------------------------------------------------------
    def revisions(self) -> list[store.RevisionInfo]:
        return store.list_revisions(self.db, self.doc_id) if self.doc_id is not None else []

    def revision(self, revision_id: int) -> store.Revision:
        return store.get_revision(self.db, revision_id)

    def restore_revision(self, revision_id: int) -> None:
        """Make a revision the open document's text and story notes (itself a new revision)."""
        if self.doc_id is not None:
            store.restore_revision(self.db, self.doc_id, revision_id)
            self.unsaved_notes = None
            self.policy.saved()

    # -- story notes (the open document's; its next save snapshots them into a revision) ------
    def story(self) -> Story:
        """The open document's story notes, with notes typed but not yet saved."""
        if self.doc_id is None:
            return Story()
        story = story_notes.get_story(self.db, self.doc_id)
        return story if self.unsaved_notes is None else replace(story, notes=self.unsaved_notes)

    def edit_story_notes(self, text: str) -> None:
        """Notes typed in the panel: stored with the document's next save, as its text is (the caller marks it edited)."""
        self.unsaved_notes = text

    def add_story_entry(self, name: str, keys: str, text: str) -> StoryEntry | None:
        return story_notes.add_entry(self.db, self.doc_id, name, keys, text) if self.doc_id is not None else None

    def update_story_entry(self, entry_id: int, name: str, keys: str, text: str) -> StoryEntry:
        return story_notes.update_entry(self.db, entry_id, name, keys, text)

    def remove_story_entry(self, entry_id: int) -> None:
        story_notes.remove_entry(self.db, entry_id)

    def story_request(self, document: str, cursor: int) -> dict | None:
        """The generate request's `notes` for the open document with the cursor at `cursor`."""
        return request_notes(self.story(), document, cursor)

    # -- the generation log and settings -----------------------------------------------------
    def log_generation(self, **fields: object) -> None:
        """Record one generation after it ended (see store.log_generation for the fields)."""
        store.log_generation(self.db, **fields)  # type: ignore[arg-type]

    def cache_budget_mb(self) -> int | None:
        """The session-cache budget the writer chose in Settings, or None for the worker's default."""
        value = store.get_setting(self.db, prefs.CACHE_BUDGET_MB, None)
        return int(value) if value is not None else None

    def set_cache_budget_mb(self, mb: int) -> None:
        store.set_setting(self.db, prefs.CACHE_BUDGET_MB, int(mb))

    def task_marks(self, model: dict) -> dict[str, TaskMark]:
        """The tasks `bench tasks` found weak for a loaded model (its load result's `model`); none when unmeasured."""
        sha256 = model.get("sha256")
        return weak_tasks(store.task_scores(self.db, sha256), model) if sha256 else {}

    # -- spelling and grammar ----------------------------------------------------------------
    def dictionary(self) -> list[str]:
        """The words the writer added to the dictionary."""
        return store.dictionary_words(self.db)

    def add_word(self, word: str) -> str:
        return store.add_word(self.db, word)

    def dialect(self) -> str | None:
        """The open document's checking dialect, or None when it keeps none (the locale's default then)."""
        return store.get_document_setting(self.db, self.doc_id, prefs.DIALECT) if self.doc_id is not None else None

    def set_dialect(self, dialect: str) -> None:
        if self.doc_id is not None:
            store.set_document_setting(self.db, self.doc_id, prefs.DIALECT, dialect)

    def close(self) -> None:
        """Let the connection go (idempotent)."""
        if not self.closed:
            self.db.close()
            self.closed = True

    def reopen(self) -> None:
        """Open the library again after a close (its files were re-keyed meanwhile); the open document stays open."""
        if self.closed:
            self.db = store.open_db(self.home)
            self.closed = False
