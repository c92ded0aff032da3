"""The story notes panel wired to the workspace: it shows the open document's notes and stores what the writer changes."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject

from app.desk.workspace import Workspace
from app.errors import ScriptoriumError
from app.ui.document_controller import DocumentController
from app.ui.story_notes import StoryNotesPanel


class StoryController(QObject):
    """Notes typed are saved with the document (its autosave, into the same revision); entries are stored at once
    and the document is marked changed, so its next revision holds them too."""

    def __init__(self, panel: StoryNotesPanel, workspace: Workspace, documents: DocumentController) -> None:
        super().__init__(panel)
        self.panel, self.workspace, self.documents = panel, workspace, documents
        documents.loaded.connect(lambda _: self.show())
        documents.restored.connect(lambda _: self.show())
        panel.notesEdited.connect(self._notes_edited)
        panel.entryAdded.connect(lambda name, keys, text: self._change(self.workspace.add_story_entry, name, keys, text))
        panel.entryEdited.connect(lambda i, name, keys, text: self._change(self.workspace.update_story_entry, i, name, keys, text))
        panel.entryRemoved.connect(lambda i: self._change(self.workspace.remove_story_entry, i))

    def show(self) -> None:
        self.panel.show_story(self.workspace.story())

    def _notes_edited(self, text: str) -> None:
        self.workspace.edit_story_notes(text)
        self.documents.changed()

    def _change(self, action: Callable[..., object], *args: object) -> None:
        try:
            action(*args)
        except ScriptoriumError as exc:  # an entry without a name, or one removed meanwhile
            self.documents.message.emit(str(exc))
            return
        self.show()
        self.documents.changed()
