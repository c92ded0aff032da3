"""The desktop app's logic that needs no screen: suggestions, tracked changes, autosave timing, counting, transfers."""
