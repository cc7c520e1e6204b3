"""Suite options and fixtures (spec C-2), shared with the packaged suite: ``cfc_ref.conformance.plugin``."""

import os
from pathlib import Path

import pytest

from cfc_ref.conformance.plugin import (  # noqa: F401
    impl,
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    selected_profiles,
)


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """A cfg and random weights of the embedded model's structure (runs that need a Darknet model, not a good one)."""
    from cfc_ref.detector.cfg import write_cfg
    from cfc_ref.detector.model import DarknetModel
    from cfc_ref.detector.weights import randomize, save_weights
    from cfc_ref.zoo.embedded import embedded_config

    d = tmp_path_factory.mktemp("model")
    (d / "m.cfg").write_text(write_cfg(embedded_config()))
    save_weights(randomize(DarknetModel(embedded_config()), seed=3), d / "m.weights")
    return d

_ROOT = Path(__file__).resolve().parent.parent
_CACHES = {".tox", ".hypothesis", ".pytest_cache", "__pycache__", ".mypy_cache", ".ruff_cache", ".benchmarks", "build",
           "dist", ".git"}
_BEFORE = set(os.listdir(_ROOT))


def pytest_sessionfinish(session, exitstatus):
    """No test writes into the checkout (E-6.1: nothing outside the paths it was given): a new top-level entry fails
    the run, named."""
    stray = sorted(set(os.listdir(_ROOT)) - _BEFORE - _CACHES)
    if stray:
        print(f"\nERROR: the test run left {', '.join(stray)} in {_ROOT}")
        session.exitstatus = 1
