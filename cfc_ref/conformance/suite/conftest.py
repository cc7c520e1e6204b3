"""The suite's options and fixtures (``cfc_ref.conformance.plugin``)."""

from cfc_ref.conformance.plugin import impl, pytest_addoption, pytest_configure, selected_profiles  # noqa: F401
