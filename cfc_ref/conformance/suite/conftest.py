"""The suite's options and fixtures (``cfc_ref.conformance.plugin``)."""

from cfc_ref.conformance.plugin import (  # noqa: F401
    impl,
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    selected_profiles,
)
