"""Names and defaults of what the app remembers: window state in QSettings, the rest in the store."""

from __future__ import annotations

ORGANIZATION = "Scriptorium"
APPLICATION = "Scriptorium"

# QSettings keys (per user and machine: window geometry belongs to a screen, not to the documents).
GEOMETRY = "window/geometry"
SPLITTER = "window/splitter"
THEME = "view/theme"  # "system" | "light" | "dark"
ZOOM = "view/zoom"  # point-size steps from the default
LAST_DOCUMENT = "documents/last"
CHECK_GRAMMAR = "view/check_grammar"  # spelling and grammar underlined as you type

# Store settings (travel with the data directory).
CACHE_BUDGET_MB = "cache.budget_mb"
# Document settings (one per document).
DIALECT = "grammar.dialect"  # "American" | "British" | "Canadian" | "Australian"
THEMES = ("system", "light", "dark")

LANGUAGES = ("French", "German", "Spanish", "Italian", "Portuguese", "Chinese", "Japanese", "English")
TASK_LABELS = {
    "continue": "Continue",
    "rewrite": "Rewrite",
    "proofread": "Proofread",
    "summarize": "Summarize",
    "translate": "Translate",
    "outline": "Outline",
    "brainstorm": "Brainstorm",
    "instruct": "Ask",
}
