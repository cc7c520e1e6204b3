"""The process adapter: an implementation in any language, driven over JSON lines on stdin/stdout (spec C-2.5).

    adapter = ProcessAdapter("./my_impl --conformance")   # asks it for its profiles first
    q, side = adapter.quantize(v, 8, "minmax")             # one request line, one response line
    adapter.close()

Requests are ``{"id": n, "function": name, "args": [...]}``; responses ``{"id": n, "result": value}`` or
``{"id": n, "error": {"category": "QLayerError", "message": "..."}}``. Values are JSON, except byte strings
``{"$bytes": base64}`` and arrays ``{"$array": base64, "dtype": "<f4", "shape": [C, H, W]}`` (C order, the dtype's
own byte order); tuples travel as lists. The first request is ``profiles`` (no arguments): the list of profile
names the executable implements.

The harness always ends and always says why (C-2.5): each request has a time limit and the whole suite a deadline;
the adapter's output is read by a thread of its own while requests are written (so an adapter that writes while the
harness writes cannot deadlock it), at most ``max_answer`` bytes per line; any line that is not the answer to the
pending request, an answer too long or too late, or an exit is a protocol failure of that test, with the adapter's
last standard-error lines in the message; the adapter (and every process it started) is then killed and started
again for the next request. Nothing is left running at exit.
"""

from __future__ import annotations

import atexit
import base64
import json
import math
import os
import queue
import shlex
import signal
import subprocess
import threading
import time
from collections import deque
from typing import Any

import numpy as np

from cfc_ref.conformance.protocol import PROFILE_FUNCTIONS, AdapterError, expand_profiles

DEFAULT_TIMEOUT = 60.0  # seconds for one answer
DEFAULT_DEADLINE = 3600.0  # seconds for every request of a run together
MAX_ANSWER = 64 << 20  # bytes in one answer line
STDERR_LINES = 8  # of the adapter's standard error, shown with a failure
_EOF, _TOO_LONG = object(), object()


class ProcessRejection(ValueError):
    """The executable rejected the input; ``category`` is the error it named (spec C-1.3)."""

    def __init__(self, category: str, message: str) -> None:
        super().__init__(f"{category}: {message}")
        self.category = category


class ProcessFailure(RuntimeError):
    """The executable broke the protocol (no answer in time, died, wrote something that is not the answer): never a
    rejection."""


def encode_value(value: Any) -> Any:
    """A protocol value as JSON (C-2.5). Non-finite floats have no JSON form: only arrays carry them."""
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        return {"$array": base64.b64encode(array.tobytes()).decode(), "dtype": array.dtype.str,
                "shape": list(array.shape)}
    if isinstance(value, np.generic):
        return encode_value(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r} has no JSON form (C-2.5); send it in an array")
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


def _pump_lines(stream, answers: queue.Queue, limit: int) -> None:  # type: ignore[no-untyped-def]
    """The adapter's standard output, line by line, at most ``limit`` bytes a line."""
    try:
        while True:
            line = stream.readline(limit + 1)
            if not line:
                break
            if len(line) > limit:
                answers.put(_TOO_LONG)
                return
            answers.put(line)
    except (OSError, ValueError):
        pass
    answers.put(_EOF)


def _pump_stderr(stream, lines: deque) -> None:  # type: ignore[no-untyped-def]
    try:
        for raw in iter(lambda: stream.readline(4096), b""):
            text = raw.decode("utf-8", errors="replace").rstrip()
            if text:
                lines.append(text[:300])
    except (OSError, ValueError):
        pass


class ProcessAdapter:
    """A running executable seen as an adapter module: one attribute per function of its declared profiles."""

    def __init__(self, command: str, timeout: float = DEFAULT_TIMEOUT, deadline: float = DEFAULT_DEADLINE,
                 max_answer: int = MAX_ANSWER, cwd: str | None = None) -> None:
        self.__name__ = command
        self.command, self.timeout, self.max_answer, self.cwd = command, timeout, max_answer, cwd
        self.deadline_at = time.monotonic() + deadline
        self._process: subprocess.Popen | None = None
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._next = 0
        atexit.register(self.close)
        try:
            self.PROFILES = self._start()
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

    # ------------------------------------------------------------------ the process

    def _start(self) -> tuple[str, ...]:
        """Start the executable and ask for its profiles (C-2.5: always the first request)."""
        try:
            args = shlex.split(self.command)
            process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       cwd=self.cwd, start_new_session=True, bufsize=0)
        except (OSError, ValueError) as err:
            raise AdapterError(f"cannot start adapter command {self.command!r}: {err}") from None
        self._process = process
        self._answers: queue.Queue = queue.Queue()
        self._stderr = deque(maxlen=STDERR_LINES)
        threading.Thread(target=_pump_lines, args=(process.stdout, self._answers, self.max_answer),
                         daemon=True).start()
        threading.Thread(target=_pump_stderr, args=(process.stderr, self._stderr), daemon=True).start()
        return expand_profiles(self._request("profiles", ()), f"{self.command} profiles")

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the adapter and every process it started
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (process.stdin, process.stdout, process.stderr):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass

    def _fail(self, reason: str) -> ProcessFailure:
        time.sleep(0.05)  # let the last standard-error lines arrive
        self._kill()
        tail = " | ".join(self._stderr)
        return ProcessFailure(f"{reason}" + (f"; the adapter's standard error ends: {tail}" if tail else ""))

    # ------------------------------------------------------------------ one request

    def _call(self, function: str, args: tuple[Any, ...]) -> Any:
        if self._process is None:  # the last request broke the protocol: a fresh adapter for this one
            self._start()
        return self._request(function, args)

    def _request(self, function: str, args: tuple[Any, ...]) -> Any:
        process = self._process
        assert process is not None and process.stdin is not None
        self._next += 1
        expected = self._next
        payload = (json.dumps({"id": expected, "function": function, "args": encode_value(list(args))},
                              allow_nan=False) + "\n").encode()

        def write() -> None:
            try:
                process.stdin.write(payload)  # type: ignore[union-attr]
                process.stdin.flush()  # type: ignore[union-attr]
            except (OSError, ValueError):
                pass  # it exited or stopped reading: the answer side says which

        threading.Thread(target=write, daemon=True).start()
        wait = min(self.timeout, self.deadline_at - time.monotonic())
        if wait <= 0:
            raise self._fail("the run's overall deadline has passed (--deadline)")
        try:
            line = self._answers.get(timeout=wait)
        except queue.Empty:
            which = "the overall deadline (--deadline)" if wait < self.timeout else f"{self.timeout:g} s (--timeout)"
            raise self._fail(f"no answer to {function!r} (request {expected}) within {which}") from None
        if line is _EOF:
            status = process.poll()
            raise self._fail(f"the adapter process closed its output (exit status {status}) instead of answering "
                             f"{function!r}")
        if line is _TOO_LONG:
            raise self._fail(f"an answer line longer than {self.max_answer} bytes")
        try:
            response = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise self._fail(f"a line that is not JSON: {bytes(line[:200])!r}") from None
        if not isinstance(response, dict) or response.get("id") != expected:
            raise self._fail(f"a line that is not the answer to request {expected}: {bytes(line[:200])!r}")
        if "error" in response:
            error = response["error"] if isinstance(response["error"], dict) else {}
            raise ProcessRejection(str(error.get("category", "UnnamedError")), str(error.get("message", "")))
        if "result" not in response:
            raise self._fail(f"an answer with neither result nor error: {bytes(line[:200])!r}")
        return decode_value(response["result"])

    def close(self) -> None:
        """Close the adapter's input and give it a moment to end; then end it and everything it started."""
        process = self._process
        if process is None:
            return
        try:
            if process.stdin:
                process.stdin.close()
            process.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self._kill()
