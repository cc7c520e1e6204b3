"""JSON config files read into frozen dataclasses with every field type-checked (spec E-6.1): an unreadable file, a
non-object, an unknown key or a value of the wrong type is a CfcError naming the file and the key."""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from cfc_ref.errors import CfcError
from cfc_ref.fileio import MAX_TEXT_BYTES, read_bounded

T = TypeVar("T")


MAX_JSON_BYTES = MAX_TEXT_BYTES  # a JSON input larger than this is refused unread (spec E-6.2)


def parse_json(data: bytes, where: str, kind: str = "JSON file") -> Any:
    """JSON text (UTF-8), or a CfcError naming ``where``: also for nesting too deep to parse and for the
    non-standard NaN / Infinity literals."""
    def no_constant(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(data.decode("utf-8"), parse_constant=no_constant)
    except UnicodeDecodeError as err:
        raise CfcError(f"{where}: not UTF-8 text (byte {err.start})") from None
    except RecursionError:
        raise CfcError(f"{where}: JSON nested too deeply") from None
    except ValueError as err:  # JSONDecodeError included
        raise CfcError(f"{where}: not a readable {kind} ({err})") from None


def load_json_object(path: str | Path, what: str = "a config") -> dict:
    raw = parse_json(read_bounded(path), str(path), what.removeprefix("a ") if what != "a config" else "JSON file")
    if not isinstance(raw, dict):
        raise CfcError(f"{path}: {what} is a JSON object, got {type(raw).__name__}")
    return raw


def _is(value: object, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "None":
        return value is None
    if kind.startswith("tuple["):
        item = kind[len("tuple["):-len(", ...]")]
        return isinstance(value, tuple) and all(_is(v, item) for v in value)
    if kind == "tuple":
        return isinstance(value, tuple)
    raise AssertionError(f"no type check for {kind!r}")


def check_types(instance: Any, where: str) -> None:
    """Every field of a dataclass instance against its annotation (``int``, ``str | None``, ``tuple[int, ...]``…)."""
    for f in fields(instance):
        value = getattr(instance, f.name)
        kinds = [k.strip() for k in str(f.type).split("|")]
        if not any(_is(value, kind) for kind in kinds):
            raise CfcError(f"{where}: {f.name} must be {' or '.join(kinds)}, got {value!r}")


def dataclass_from_dict(cls: type[T], raw: dict, where: str) -> T:
    """``cls(**raw)`` with JSON lists as tuples; unknown keys, missing keys and wrong types are CfcErrors."""
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise CfcError(f"{where}: unknown keys {unknown}")
    values = dict(raw)
    for key, value in values.items():
        if str(known[key].type).startswith("tuple"):
            if not isinstance(value, list):
                raise CfcError(f"{where}: {key} must be a list, got {value!r}")
            values[key] = tuple(value)
    try:
        instance = cls(**values)
    except TypeError as err:
        raise CfcError(f"{where}: {err}") from None
    check_types(instance, where)
    return instance


def _flatten(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def differences(recorded: dict, current: dict) -> list[str]:
    """The dotted paths (``model.weights_sha256``) where two JSON documents differ, sorted."""
    a, b = _flatten(recorded), _flatten(current)
    return sorted(key for key in set(a) | set(b) if a.get(key, "<absent>") != b.get(key, "<absent>"))
