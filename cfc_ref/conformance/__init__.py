"""Conformance harness (spec/conformance.md): adapter protocol, reference adapter, golden-vector checks."""
