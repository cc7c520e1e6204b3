"""Which adapter the suite runs (spec C-2.1): a Python module, or an executable behind the process protocol (C-2.5).
The choice lives here, so that the protocol (``protocol.py``) and the process adapter (``process.py``) need not
know each other's details: this module uses both, neither uses it."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from cfc_ref.conformance.protocol import AdapterError, check_adapter

DEFAULT_IMPL = "cfc_ref.conformance.reference"
ENV_VAR = "CFC_IMPL"


def load_adapter(name: str | None = None, command: str | None = None, timeout: float | None = None,
                 deadline: float | None = None, cwd: str | None = None) -> ModuleType:
    """Import the adapter named by ``name``, else ``$CFC_IMPL``, else the reference — or start the executable
    ``command`` (a process adapter with its time limits, C-2.5: ``timeout`` None for each profile's default);
    check that it is complete."""
    if command:
        from cfc_ref.conformance.process import DEFAULT_DEADLINE, ProcessAdapter

        adapter = ProcessAdapter(command, timeout or None, deadline or DEFAULT_DEADLINE, cwd=cwd)
        return check_adapter(adapter, command)  # type: ignore[return-value]
    module_name = name or os.environ.get(ENV_VAR) or DEFAULT_IMPL
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise AdapterError(f"cannot import adapter module {module_name!r}: {err}") from err
    return check_adapter(module, module_name)  # type: ignore[return-value]
