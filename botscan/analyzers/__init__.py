"""Analyzers: pure functions from one source file to findings."""
