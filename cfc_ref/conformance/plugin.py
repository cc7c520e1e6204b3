"""The suite's pytest options and fixtures (spec C-2): ``--cfc-impl`` or ``--cfc-impl-cmd`` picks the implementation
under test, ``--cfc-profile`` narrows the profiles run (the tests of the others are deselected, not skipped),
``--cfc-xfail`` lists its known deviations (an id that names no vector is warned about), ``--cfc-timeout`` and
``--cfc-deadline`` bound a process adapter (C-2.5). The suite's ``conftest.py`` (in the package and in the
checkout's ``tests/``) takes them from here."""

from __future__ import annotations

import os
import warnings

import pytest

from cfc_ref.conformance.adapters import load_adapter
from cfc_ref.conformance.protocol import AdapterError, expand_profiles
from cfc_ref.fileio import read_text_bounded

ADAPTER = pytest.StashKey[object]()
WARNINGS = pytest.StashKey[list[str]]()
PROFILE_MARK = "cfc_profile"


def pytest_addoption(parser: pytest.Parser) -> None:
    from cfc_ref.conformance.process import DEFAULT_DEADLINE

    group = parser.getgroup("cfc-ref conformance")
    group.addoption("--cfc-impl", default=None,
                    help="adapter module of the implementation under test (default: $CFC_IMPL, else the reference)")
    group.addoption("--cfc-impl-cmd", default=None,
                    help="an executable answering the JSON-lines process protocol (spec C-2.5), instead of a module")
    group.addoption("--cfc-profile", action="append", default=None,
                    help="run only these profiles (repeatable; default: every profile the adapter declares)")
    group.addoption("--cfc-xfail", default=None, help="file of vector ids expected to fail (one per line)")
    group.addoption("--cfc-timeout", type=float, default=None,
                    help="seconds a process adapter has for one answer (default: by profile, spec C-2.5)")
    group.addoption("--cfc-deadline", type=float, default=DEFAULT_DEADLINE,
                    help=f"seconds a process adapter has for the whole run (default {DEFAULT_DEADLINE:g})")


def _load(config: pytest.Config):  # type: ignore[no-untyped-def]
    try:
        adapter = load_adapter(config.getoption("--cfc-impl"), config.getoption("--cfc-impl-cmd"),
                               config.getoption("--cfc-timeout"), config.getoption("--cfc-deadline"), os.getcwd())
        expand_profiles(config.getoption("--cfc-profile") or (), "--cfc-profile")
    except AdapterError as err:
        raise pytest.UsageError(str(err)) from err
    return adapter


def pytest_configure(config: pytest.Config) -> None:
    """A bad choice of implementation or profile stops the run at once with one usage error (C-2.1), instead of
    failing every test."""
    config.addinivalue_line("markers", f"{PROFILE_MARK}(name): the conformance profile a test belongs to (C-2.1)")
    config.stash[WARNINGS] = []
    if any(config.getoption(o) for o in ("--cfc-impl", "--cfc-impl-cmd", "--cfc-profile")):
        config.stash[ADAPTER] = _load(config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--cfc-profile``: the tests of other profiles are deselected (a run of ``wire`` shows ``wire``); an
    ``--cfc-xfail`` id that names no vector is warned about (it would hide nothing)."""
    names = config.getoption("--cfc-profile")
    if names:
        wanted = set(expand_profiles(names, "--cfc-profile")) | {"suite"}
        keep = [item for item in items if _profile(item) in wanted]
        dropped = [item for item in items if _profile(item) not in wanted]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep
    listed = expected_failures(config)
    if listed:
        from cfc_ref.conformance.paths import golden_root
        from cfc_ref.conformance.protocol import PROFILE_FUNCTIONS
        from cfc_ref.conformance.vectors import profile_vectors

        known = {v.id for p in PROFILE_FUNCTIONS for v in profile_vectors(golden_root(), p)}
        unknown = sorted(listed - known)
        if unknown:
            message = f"--xfail lists {len(unknown)} id(s) that match no vector: {', '.join(unknown)}"
            config.stash[WARNINGS].append(message)
            warnings.warn(pytest.PytestWarning(message), stacklevel=1)


def _profile(item: pytest.Item) -> str:
    mark = item.get_closest_marker(PROFILE_MARK)
    return str(mark.args[0]) if mark else "suite"


@pytest.fixture(scope="session")
def impl(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
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


_XFAIL = pytest.StashKey[set]()


def expected_failures(config: pytest.Config) -> set[str]:
    """Vector ids listed in ``--cfc-xfail`` (spec C-2.2): one per line, ``#`` starts a comment (read once)."""
    if _XFAIL not in config.stash:
        path = config.getoption("--cfc-xfail")
        lines = read_text_bounded(path).splitlines() if path else []  # E-3.5: a regular file, bounded
        config.stash[_XFAIL] = {line.split("#", 1)[0].strip() for line in lines} - {""}
    return config.stash[_XFAIL]
