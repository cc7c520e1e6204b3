"""Suite options (spec C-2): ``--cfc-impl`` or ``--cfc-impl-cmd`` picks the implementation under test,
``--cfc-profile`` narrows the profiles run, ``--cfc-xfail`` lists its known deviations."""

from __future__ import annotations

import pytest

from cfc_ref.conformance.protocol import AdapterError, expand_profiles, load_adapter


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cfc-ref conformance")
    group.addoption("--cfc-impl", default=None,
                    help="adapter module of the implementation under test (default: $CFC_IMPL, else the reference)")
    group.addoption("--cfc-impl-cmd", default=None,
                    help="an executable answering the JSON-lines process protocol (spec C-2.5), instead of a module")
    group.addoption("--cfc-profile", action="append", default=None,
                    help="run only these profiles (repeatable; default: every profile the adapter declares)")
    group.addoption("--cfc-xfail", default=None, help="file of vector ids expected to fail (one per line)")


def _load(config: pytest.Config):
    try:
        adapter = load_adapter(config.getoption("--cfc-impl"), config.getoption("--cfc-impl-cmd"))
        expand_profiles(config.getoption("--cfc-profile") or (), "--cfc-profile")
    except AdapterError as err:
        raise pytest.UsageError(str(err)) from err
    return adapter


def pytest_configure(config: pytest.Config) -> None:
    """A bad choice of implementation or profile stops the run at once with one usage error (C-2.1), instead of
    failing every test."""
    if any(config.getoption(o) for o in ("--cfc-impl", "--cfc-impl-cmd", "--cfc-profile")):
        config.stash[ADAPTER] = _load(config)


ADAPTER = pytest.StashKey[object]()


@pytest.fixture(scope="session")
def impl(request: pytest.FixtureRequest):
    config = request.config
    adapter = config.stash[ADAPTER] if ADAPTER in config.stash else _load(config)
    yield adapter
    close = getattr(adapter, "close", None)
    if callable(close):
        close()


@pytest.fixture(scope="session")
def selected_profiles(request: pytest.FixtureRequest) -> tuple[str, ...] | None:
    names = request.config.getoption("--cfc-profile")
    try:
        return expand_profiles(names, "--cfc-profile") if names else None
    except AdapterError as err:
        raise pytest.UsageError(str(err)) from err
