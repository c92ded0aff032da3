"""Task measurement: every writing task run on a held-out evaluation set and judged by checks a program can make."""
