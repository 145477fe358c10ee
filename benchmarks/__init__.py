"""Benchmarks and figure scripts: they print measurements; nothing here is a test."""
