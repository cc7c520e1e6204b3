#!/usr/bin/env python3
"""A tiny process adapter (spec C-2.5): answers the `wire` profile over JSON lines on stdin/stdout.

This file shows the framing a C++ or Rust implementation writes; the arithmetic behind it here is the reference's
(``cfc_ref.conformance.reference``), so the example passes `wire`. Run the suite against it with

    cfc-ref conformance --impl-cmd "python tests/process_example/wire_server.py"
"""

import base64
import json
import sys

import numpy as np

from cfc_ref.conformance import reference


def from_json(value):
    if isinstance(value, dict) and "$bytes" in value:
        return base64.b64decode(value["$bytes"])
    if isinstance(value, dict) and "$array" in value:
        raw = base64.b64decode(value["$array"])
        return np.frombuffer(raw, dtype=value["dtype"]).reshape(value["shape"])
    if isinstance(value, dict):
        return {key: from_json(item) for key, item in value.items()}
    return [from_json(item) for item in value] if isinstance(value, list) else value


def to_json(value):
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, np.ndarray):
        return {"$array": base64.b64encode(value.tobytes()).decode(), "dtype": value.dtype.str,
                "shape": list(value.shape)}
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    return [to_json(item) for item in value] if isinstance(value, (list, tuple)) else value


FUNCTIONS = {name: getattr(reference, name) for name in ("quantize", "dequantize", "tile", "untile", "pack", "parse")}


def answer(request):
    if request["function"] == "profiles":  # the profiles, and the implementation's name and version (C-2.5)
        return {"result": {"profiles": ["wire"], "name": "wire_server.py (the reference behind the framing)",
                           "version": "1"}}
    if request["function"] not in FUNCTIONS:
        return {"error": {"category": "UnknownFunction", "message": request["function"]}}
    try:
        return {"result": to_json(FUNCTIONS[request["function"]](*from_json(request["args"])))}
    except ValueError as err:  # the reference's errors are ValueError subclasses named as the spec names them
        return {"error": {"category": type(err).__name__, "message": str(err)}}


def malformed(line):
    """C-2.5: the answer to a line that is not a request."""
    return {"id": None, "error": {"category": "MalformedRequest", "message": line[:200]}}


if __name__ == "__main__":
    for line in sys.stdin:
        try:
            request = json.loads(line)
        except ValueError:
            request = None
        if not (isinstance(request, dict) and "id" in request and isinstance(request.get("function"), str)
                and isinstance(request.get("args"), list)):
            print(json.dumps(malformed(line)), flush=True)
            continue
        print(json.dumps({"id": request["id"], **answer(request)}), flush=True)
