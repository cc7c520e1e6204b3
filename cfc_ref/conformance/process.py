"""The process adapter: an implementation in any language, driven over JSON lines on stdin/stdout (spec C-2.5).

    adapter = ProcessAdapter("./my_impl --conformance")   # asks it for its profiles first
    q, side = adapter.quantize(v, 8, "minmax")             # one request line, one response line
    adapter.close()

Requests are ``{"id": n, "function": name, "args": [...]}``; responses ``{"id": n, "result": value}`` or
``{"id": n, "error": {"category": "QLayerError", "message": "..."}}``. Values are JSON, except byte strings
``{"$bytes": base64}`` and arrays ``{"$array": base64, "dtype": "<f4", "shape": [C, H, W]}`` (C order, the dtype's
own byte order); tuples travel as lists. The first request is ``profiles`` (no arguments): the list of profile
names the executable implements.
"""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
from typing import Any

import numpy as np

from cfc_ref.conformance.protocol import PROFILE_FUNCTIONS, AdapterError, expand_profiles


class ProcessRejection(ValueError):
    """The executable rejected the input; ``category`` is the error it named (spec C-1.3)."""

    def __init__(self, category: str, message: str) -> None:
        super().__init__(f"{category}: {message}")
        self.category = category


class ProcessFailure(RuntimeError):
    """The executable broke the protocol (died, wrote something that is not a response): never a rejection."""


def encode_value(value: Any) -> Any:
    """A protocol value as JSON (C-2.5)."""
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        return {"$array": base64.b64encode(array.tobytes()).decode(), "dtype": array.dtype.str,
                "shape": list(array.shape)}
    if isinstance(value, np.generic):
        return encode_value(value.item())
    if isinstance(value, dict):
        return {str(k): encode_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    return value


def decode_value(value: Any) -> Any:
    """JSON back to protocol values (C-2.5)."""
    if isinstance(value, dict):
        if "$bytes" in value:
            return base64.b64decode(value["$bytes"])
        if "$array" in value:
            data = base64.b64decode(value["$array"])
            return np.frombuffer(data, dtype=np.dtype(value["dtype"])).reshape(value["shape"]).copy()
        return {k: decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    return value


class ProcessAdapter:
    """A running executable seen as an adapter module: one attribute per function of its declared profiles."""

    def __init__(self, command: str, timeout: float = 120.0) -> None:
        self.__name__ = command
        self.timeout = timeout
        try:
            self._process = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             text=True, bufsize=1)
        except OSError as err:
            raise AdapterError(f"cannot start adapter command {command!r}: {err}") from None
        self._next = 0
        try:
            self.PROFILES = expand_profiles(self._call("profiles", ()), f"{command} profiles")
        except (ProcessFailure, ProcessRejection) as err:
            self.close()
            raise AdapterError(f"adapter command {command!r} did not answer 'profiles': {err}") from None
        except AdapterError:
            self.close()
            raise

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or not any(name in fns for fns in PROFILE_FUNCTIONS.values()):
            raise AttributeError(name)
        if not any(name in PROFILE_FUNCTIONS[p] for p in self.__dict__.get("PROFILES", ())):
            raise AttributeError(name)
        return lambda *args: self._call(name, args)

    def _call(self, function: str, args: tuple[Any, ...]) -> Any:
        process = self._process
        if process.poll() is not None or process.stdin is None or process.stdout is None:
            raise ProcessFailure(f"the adapter process has exited (status {process.returncode})")
        self._next += 1
        request = {"id": self._next, "function": function, "args": encode_value(list(args))}
        try:
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            line = process.stdout.readline()
        except (BrokenPipeError, OSError) as err:
            raise ProcessFailure(f"lost the adapter process: {err}") from None
        if not line:
            raise ProcessFailure(f"the adapter process closed its output (status {process.poll()})")
        try:
            response = json.loads(line)
        except json.JSONDecodeError:
            raise ProcessFailure(f"not a JSON response: {line[:200]!r}") from None
        if not isinstance(response, dict) or response.get("id") != self._next:
            raise ProcessFailure(f"response without the request's id {self._next}: {line[:200]!r}")
        if "error" in response:
            error = response["error"] if isinstance(response["error"], dict) else {}
            raise ProcessRejection(str(error.get("category", "UnnamedError")), str(error.get("message", "")))
        if "result" not in response:
            raise ProcessFailure(f"response without result or error: {line[:200]!r}")
        return decode_value(response["result"])

    def close(self) -> None:
        process = self._process
        if process.stdin:
            try:
                process.stdin.close()
            except OSError:
                pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
