"""Adapters for peer implementations (spec C-2.1), run by tools/conformance_matrix.py to make
docs/conformance-matrix.md. Each module wraps one library as it is published, declares the profiles it can
answer, and has a ``VERSION`` string."""
