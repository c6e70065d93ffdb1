"""Runnable examples (notebook-style scripts; the tests execute them)."""
