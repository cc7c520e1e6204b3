"""The process adapter: an implementation in any language, driven over JSON lines on stdin/stdout (spec C-2.5).

    adapter = ProcessAdapter("./my_impl --conformance")   # asks it for its profiles first
    q, side = adapter.quantize(v, 8, "minmax")             # one request line, one response line
    adapter.close()

Requests are ``{"id": n, "function": name, "args": [...]}``; responses ``{"id": n, "result": value}`` or
``{"id": n, "error": {"category": "QLayerError", "message": "..."}}``. Values are JSON, except byte strings
``{"$bytes": base64}`` and arrays ``{"$array": base64, "dtype": "<f4", "shape": [C, H, W]}`` (C order, the dtype's
own byte order); tuples travel as lists. The first request is ``profiles`` (no arguments): the list of profile
names the executable implements, or ``{"profiles": [...], "name": ..., "version": ...}``.

The harness always ends and always says why (C-2.5): each request has a time limit (by profile, or ``--timeout``)
and the whole suite a deadline; the adapter's output is read in large blocks by a thread of its own while requests
are written (an adapter that writes while the harness writes cannot deadlock it, and a 64 MiB answer takes well
under a second), at most ``max_answer`` bytes per line; any line that is not the answer to the pending request, an
answer too long, too late, too deeply nested, with a NaN literal or a malformed byte string or array, or an exit is
a protocol failure of that test, with the adapter's last standard-error lines in the message; the adapter (and
every process it started, ``setsid`` children included: ``reaper``) is then ended and started again for the next
request — unless it broke the protocol on ``DEAD_AFTER`` requests in a row: then it is declared dead, and every
later request fails at once with that one reason. Nothing is left running at exit.
"""

from __future__ import annotations

import atexit
import base64
import binascii
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

from cfc_ref.conformance import reaper
from cfc_ref.conformance.protocol import PROFILE_FUNCTIONS, AdapterError, expand_profiles

# seconds for one answer, by profile (C-2.5): a wire request takes milliseconds, an HM encode seconds
DEFAULT_TIMEOUTS = {"wire": 10.0, "qlayer.fcm": 10.0, "metrics.ap": 10.0, "metrics.bd": 10.0, "detector.image": 30.0,
                    "detector.network": 60.0, "detector.region": 30.0, "codec.decode": 60.0, "codec.encode": 300.0}
PROFILES_TIMEOUT = 30.0  # the first request: the adapter's start-up
DEFAULT_DEADLINE = 3600.0  # seconds for every request of a run together
DEAD_AFTER = 3  # requests in a row that broke the protocol: the adapter is declared dead
MAX_ANSWER = 64 << 20  # bytes in one answer line
MAX_DEPTH = 64  # nesting of arrays and objects in one answer
DTYPES = ("|u1", "<u2", "<u4", "<i4", "|b1", "<f4", "<f8")  # the arrays the protocol carries (C-2.5)
STDERR_LINES = 8  # of the adapter's standard error, shown with a failure
BLOCK = 1 << 20  # bytes read from the adapter at once
PROTOCOL_CATEGORIES = ("UnknownFunction", "MalformedRequest")  # errors that say the adapter broke the protocol
_EOF, _TOO_LONG = object(), object()


class ProcessRejection(ValueError):
    """The executable rejected the input; ``category`` is the error it named (spec C-1.3)."""

    def __init__(self, category: str, message: str) -> None:
        super().__init__(f"{category}: {message}")
        self.category = category


class ProcessFailure(RuntimeError):
    """The executable broke the protocol (no answer in time, died, wrote something that is not the answer): never a
    rejection."""


class MalformedValue(Exception):
    """A value in an answer that the protocol does not allow (not a ``ValueError``: never a rejection)."""


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


def _base64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise MalformedValue(f"{what} is not a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedValue(f"{what} is not valid base64: {text[:40]!r}") from None


def _array(value: dict) -> np.ndarray:
    if set(value) != {"$array", "dtype", "shape"}:
        raise MalformedValue(f"an array needs exactly $array, dtype and shape, got {sorted(value)}")
    dtype, shape = value["dtype"], value["shape"]
    if dtype not in DTYPES:
        raise MalformedValue(f"array dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        raise MalformedValue(f"array shape {shape!r} is not a list of non-negative integers")
    data = _base64(value["$array"], "an array's $array")
    if len(data) != math.prod(shape) * np.dtype(dtype).itemsize:
        raise MalformedValue(f"an array of shape {shape} and dtype {dtype} has {len(data)} bytes")
    array = np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape).copy()
    if dtype == "|b1" and np.frombuffer(data, np.uint8).max(initial=0) > 1:
        raise MalformedValue("a boolean array holds a byte other than 0 or 1")
    return array


def decode_value(value: Any) -> Any:
    """JSON back to protocol values (C-2.5); :class:`MalformedValue` for a byte string or array it does not allow."""
    if isinstance(value, dict):
        if "$bytes" in value:
            if set(value) != {"$bytes"}:
                raise MalformedValue(f"a byte string needs exactly $bytes, got {sorted(value)}")
            return _base64(value["$bytes"], "a $bytes value")
        if "$array" in value:
            return _array(value)
        return {k: decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    return value


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in a JSON value (iteratively: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _no_constant(name: str) -> Any:
    raise MalformedValue(f"a {name} literal (RFC 8259 JSON has none; non-finite numbers travel in arrays)")


def parse_answer(line: bytes) -> Any:
    """One answer line as JSON (C-2.5: UTF-8, RFC 8259, nested at most ``MAX_DEPTH`` deep), or MalformedValue."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedValue(f"a line that is not UTF-8: {line[:200]!r}") from None
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise MalformedValue(f"an answer nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError:
        raise MalformedValue(f"a line that is not JSON: {line[:200]!r}") from None
    if _depth(value) > MAX_DEPTH:
        raise MalformedValue(f"an answer nested deeper than {MAX_DEPTH} levels")
    return value


def _pump_lines(stream, answers: queue.Queue, limit: int) -> None:  # type: ignore[no-untyped-def]
    """The adapter's standard output, split into lines of at most ``limit`` bytes, read a block at a time."""
    pending = bytearray()
    try:
        while True:
            block = stream.read1(BLOCK)
            if not block:
                break
            start = 0
            while (end := block.find(b"\n", start)) >= 0:
                pending += block[start:end]
                if len(pending) > limit:
                    answers.put(_TOO_LONG)
                    return
                answers.put(bytes(pending))
                pending.clear()
                start = end + 1
            pending += block[start:]
            if len(pending) > limit:
                answers.put(_TOO_LONG)
                return
    except (OSError, ValueError):
        pass
    if pending:
        answers.put(bytes(pending))  # a last line without its newline
    answers.put(_EOF)


def _pump_stderr(stream, lines: deque) -> None:  # type: ignore[no-untyped-def]
    """The adapter's standard error, drained as fast as it comes; its last lines kept (at most 300 characters)."""
    pending = b""
    try:
        while block := stream.read1(BLOCK):
            *complete, pending = (pending + block).split(b"\n")
            pending = pending[-4096:]
            for raw in complete[-STDERR_LINES:]:
                text = raw.decode("utf-8", errors="replace").rstrip()
                if text:
                    lines.append(text[:300])
    except (OSError, ValueError):
        pass
    if pending.strip():
        lines.append(pending.decode("utf-8", errors="replace").rstrip()[:300])


def _profile_of(function: str) -> str | None:
    return next((p for p, fns in PROFILE_FUNCTIONS.items() if function in fns), None)


def _exit_status(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class ProcessAdapter:
    """A running executable seen as an adapter module: one attribute per function of its declared profiles."""

    def __init__(self, command: str, timeout: float | None = None, deadline: float = DEFAULT_DEADLINE,
                 max_answer: int = MAX_ANSWER, cwd: str | None = None) -> None:
        self.__name__ = command
        self.command, self.timeout, self.max_answer, self.cwd = command, timeout, max_answer, cwd
        self.deadline_at = time.monotonic() + deadline
        self.NAME: str = command
        self.VERSION: str | None = None
        self._process: subprocess.Popen | None = None
        self._token = reaper.new_token()
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._next = 0
        self._broken = 0  # requests in a row that broke the protocol
        self._dead: str | None = None
        self._startup = 0.0  # seconds the first start took
        reaper.become_subreaper()
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

    def time_limit(self, function: str) -> float:
        """Seconds this function's answer may take: ``--timeout``, else its profile's default (C-2.5)."""
        if self.timeout:
            return self.timeout
        profile = _profile_of(function)
        return DEFAULT_TIMEOUTS.get(profile, PROFILES_TIMEOUT) if profile else PROFILES_TIMEOUT

    # ------------------------------------------------------------------ the process

    def _start(self, limit: float | None = None) -> tuple[str, ...]:
        """Start the executable and ask for its profiles (C-2.5: always the first request), within ``limit``
        seconds (default: the start-up limit)."""
        began = time.monotonic()
        try:
            args = shlex.split(self.command)
            process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       cwd=self.cwd, start_new_session=True,
                                       env=dict(os.environ, **{reaper.TOKEN_VARIABLE: self._token}))
        except (OSError, ValueError) as err:
            raise AdapterError(f"cannot start adapter command {self.command!r}: {err}") from None
        self._process = process
        self._answers: queue.Queue = queue.Queue()
        self._stderr = deque(maxlen=STDERR_LINES)
        self._pumps = [threading.Thread(target=_pump_lines, args=(process.stdout, self._answers, self.max_answer),
                                        daemon=True),
                       threading.Thread(target=_pump_stderr, args=(process.stderr, self._stderr), daemon=True)]
        for pump in self._pumps:
            pump.start()
        answer = self._request("profiles", (), limit)
        self._startup = self._startup or time.monotonic() - began
        if isinstance(answer, dict):  # {"profiles": [...], "name": ..., "version": ...}
            self.NAME = str(answer.get("name") or self.command)
            self.VERSION = None if answer.get("version") is None else str(answer["version"])
            answer = answer.get("profiles")
        return expand_profiles(answer, f"{self.command} profiles")

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        reaper.end_all(process.pid, self._token)  # the adapter and every process it started, setsid ones too
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for pump in getattr(self, "_pumps", ()):
            pump.join(timeout=1)  # its last standard-error lines
        for stream in (process.stdin, process.stdout, process.stderr):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass

    def _fail(self, reason: str) -> ProcessFailure:
        self._kill()
        tail = " | ".join(self._stderr)
        self._broken += 1
        if self._broken >= DEAD_AFTER and self._dead is None:
            self._dead = (f"the adapter was declared dead after {DEAD_AFTER} requests in a row that broke the "
                          f"protocol (the last: {reason}); it is not started again")
        return ProcessFailure(f"{reason}" + (f"; the adapter's standard error ends: {tail}" if tail else ""))

    # ------------------------------------------------------------------ one request

    def _call(self, function: str, args: tuple[Any, ...]) -> Any:
        if self._dead:
            raise ProcessFailure(self._dead)
        if self._process is None:  # the last request broke the protocol: a fresh adapter for this one, which has
            # as long to start as the request has to be answered (or twice its first start, if that was longer)
            self._start(min(self.time_limit("profiles"), max(self.time_limit(function), 2 * self._startup + 1)))
        return self._request(function, args)

    def _request(self, function: str, args: tuple[Any, ...], limit: float | None = None) -> Any:
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
        restart = limit is not None and self._startup > 0
        limit = limit or self.time_limit(function)
        wait = min(limit, self.deadline_at - time.monotonic())
        if wait <= 0:
            raise self._fail("the run's overall deadline has passed (--deadline)")
        try:
            line = self._answers.get(timeout=wait)
        except queue.Empty:
            default = ("a restart's limit, C-2.5" if restart else "the start-up limit, C-2.5" if function == "profiles"
                       else "the default for its profile, C-2.5")
            which = ("the overall deadline (--deadline)" if wait < limit else
                     f"{limit:g} s ({'--timeout' if self.timeout else default})")
            raise self._fail(f"no answer to {function!r} (request {expected}) within {which}") from None
        if line is _EOF:
            try:
                status = process.wait(timeout=5)  # reaped before it is named (no "exit status None")
            except subprocess.TimeoutExpired:
                status = None
            raise self._fail(f"the adapter process closed its output ({_exit_status(status)}) instead of "
                             f"answering {function!r}")
        if line is _TOO_LONG:
            raise self._fail(f"an answer line longer than {self.max_answer} bytes")
        try:
            response = parse_answer(line)
            if not isinstance(response, dict) or response.get("id") != expected:
                raise MalformedValue(f"a line that is not the answer to request {expected}: {bytes(line[:200])!r}")
            if ("error" in response) == ("result" in response):
                raise MalformedValue(f"an answer needs exactly one of result and error: {bytes(line[:200])!r}")
            if "error" in response:
                error = response["error"]
                if not (isinstance(error, dict) and isinstance(error.get("category"), str) and error["category"]):
                    raise MalformedValue(f"an error without a category: {bytes(line[:200])!r}")
                if error["category"] in PROTOCOL_CATEGORIES:
                    raise MalformedValue(f"the adapter answered {error['category']} to {function!r}, a function of "
                                         f"a profile it declared: {str(error.get('message', ''))[:200]}")
                self._broken = 0
                raise ProcessRejection(error["category"], str(error.get("message", "")))
            result = decode_value(response["result"])
        except MalformedValue as err:
            raise self._fail(str(err)) from None
        self._broken = 0
        return result

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
