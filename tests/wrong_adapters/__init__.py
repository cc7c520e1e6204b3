"""Deliberately wrong adapters: each differs from the reference in one way the spec forbids (spec C-2.3)."""
