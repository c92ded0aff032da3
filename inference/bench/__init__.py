"""Benchmarks behind `scriptorium bench`: each prints a table of side-by-side ratios, then one JSON line."""
