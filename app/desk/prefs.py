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

# Store settings (travel with the data directory).
CACHE_BUDGET_MB = "cache.budget_mb"
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
