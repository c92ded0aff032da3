"""`scriptorium serve`: an OpenAI-compatible HTTP endpoint over a local worker, on loopback only, behind a bearer token."""
