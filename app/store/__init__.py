"""The application's SQLite store: documents, revisions, the generation log and settings, behind named functions."""

from __future__ import annotations

from app.store.db import DB_NAME, db_path, open_db, open_memory_db, schema_version
from app.store.dictionary import add_word, dictionary_words
from app.store.documents import (
    FORMATS,
    Document,
    DocumentInfo,
    create_document,
    empty_trash,
    get_document,
    list_documents,
    rename_document,
    restore_document,
    session_key,
    trash_document,
)
from app.store.generations import Generation, get_generation, list_generations, log_generation
from app.store.revisions import (
    AUTOSAVE,
    AUTOSAVE_WINDOW,
    Revision,
    RevisionInfo,
    get_revision,
    list_revisions,
    restore_revision,
    save_body,
)
from app.store.settings import delete_setting, get_document_setting, get_setting, set_document_setting, set_setting
from app.store.task_scores import TaskScore, save_task_scores, task_scores

__all__ = [
    "AUTOSAVE", "AUTOSAVE_WINDOW", "DB_NAME", "FORMATS",
    "Document", "DocumentInfo", "Generation", "Revision", "RevisionInfo", "TaskScore",
    "add_word", "create_document", "db_path", "delete_setting", "dictionary_words", "empty_trash", "get_document",
    "get_document_setting", "get_generation",
    "get_revision", "get_setting", "list_documents", "list_generations", "list_revisions", "log_generation",
    "open_db", "open_memory_db", "rename_document", "restore_document", "restore_revision", "save_body",
    "save_task_scores", "schema_version", "session_key", "set_document_setting", "set_setting", "task_scores", "trash_document",
]
