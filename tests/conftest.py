"""Suite options (spec C-2): ``--cfc-impl`` picks the implementation under test, ``--cfc-xfail`` lists its
known deviations."""

from __future__ import annotations

import pytest

from cfc_ref.conformance.protocol import AdapterError, load_adapter


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cfc-ref conformance")
    group.addoption("--cfc-impl", default=None,
                    help="adapter module of the implementation under test (default: $CFC_IMPL, else the reference)")
    group.addoption("--cfc-xfail", default=None, help="file of vector ids expected to fail (one per line)")


@pytest.fixture(scope="session")
def impl(request: pytest.FixtureRequest):
    try:
        return load_adapter(request.config.getoption("--cfc-impl"))
    except AdapterError as err:
        raise pytest.UsageError(str(err)) from err
