"""Suite options and fixtures (spec C-2), shared with the packaged suite: ``cfc_ref.conformance.plugin``."""

from cfc_ref.conformance.plugin import impl, pytest_addoption, pytest_configure, selected_profiles  # noqa: F401
