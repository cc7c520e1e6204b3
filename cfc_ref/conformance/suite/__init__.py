"""The conformance suite (spec C-2): run by ``cfc-ref conformance``, ``pytest -m conformance`` in a checkout, or
pytest on this directory."""
