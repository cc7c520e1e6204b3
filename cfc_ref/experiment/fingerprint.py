"""What a run's units were computed with (spec E-2), and the lock that keeps one run per directory (E-3.1).

A resumed run reuses unit files only when its fingerprint equals the one recorded in ``<output>/fingerprint.json``;
otherwise it stops with an error naming every field that differs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from cfc_ref import SPEC_VERSION, __version__
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, settings_of
from cfc_ref.fileio import write_atomic

FINGERPRINT_VERSION = 1
# Fields that name or place a run but do not change any unit's numbers.
NOT_FINGERPRINTED = ("name", "output", "workers")


class RunMismatch(CfcError):
    """The run directory holds units computed with something else (spec E-2.2)."""


class RunLocked(CfcError):
    """Another run is using the directory (spec E-3.1)."""


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dataset_manifest(root: str | Path, images: list[str]) -> str:
    """SHA-256 over every used image's id, JPEG bytes and annotation bytes, in order."""
    root = Path(root)
    digest = hashlib.sha256()
    for image in images:
        digest.update(f"{image}\n".encode())
        for path in (root / "JPEGImages" / f"{image}.jpg", root / "Annotations" / f"{image}.xml"):
            digest.update(file_sha256(path).encode())
    return digest.hexdigest()


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def codec_fingerprint(config: ExperimentConfig) -> dict:
    from cfc_ref.codecs.hevc import encoder_name
    from cfc_ref.codecs.hevc.decoders import DECODERS, available_decoders
    from cfc_ref.codecs.hevc.settings import HM_COMMON_OPTIONS, X265_PARAMS

    options = ":".join(X265_PARAMS) if config.encoder == "x265" else " ".join(HM_COMMON_OPTIONS)
    return {"encoder": encoder_name(config.encoder), "encoder_options": options,  # type: ignore[arg-type]
            "decoder_policy": config.decoder,
            "decoders": {name: DECODERS[name].describe() for name in available_decoders()}}


def fingerprint(config: ExperimentConfig, model_files: tuple[Path, Path], images: list[str]) -> dict:
    """E-2.1: everything a unit's numbers depend on."""
    from cfc_ref import tiling

    cfg, weights = model_files
    return {
        "fingerprint_version": FINGERPRINT_VERSION,
        "cfc_ref": __version__, "spec": SPEC_VERSION,
        "config": {k: v for k, v in asdict(config).items() if k not in NOT_FINGERPRINTED},
        "model": {"cfg_sha256": file_sha256(cfg), "weights_sha256": file_sha256(weights)},
        "dataset": {"images": len(images), "manifest_sha256": dataset_manifest(config.dataset_root, images)},
        "settings": {"keys": [s.key for s in settings_of(config)], "mode": "minmax", "layout": config.layout,
                     "align": tiling.DEFAULT_ALIGN},
        "codec": codec_fingerprint(config),
        "software": {name: _version(name) for name in ("torch", "numpy", "pillow", "av")},
    }


def _flatten(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def differences(recorded: dict, current: dict) -> list[str]:
    a, b = _flatten(recorded), _flatten(current)
    return sorted(key for key in set(a) | set(b) if a.get(key, "<absent>") != b.get(key, "<absent>"))


def check_or_record(output: Path, current: dict) -> None:
    """E-2.2: record the fingerprint of a new run; refuse a directory whose units were made otherwise."""
    path = output / "fingerprint.json"
    has_units = (output / "units").is_dir() and any((output / "units").iterdir())
    if path.exists():
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            recorded = {"fingerprint": "unreadable"}
        fields = differences(recorded, json.loads(json.dumps(current)))
        if fields:
            shown = ", ".join(fields[:8]) + (f" and {len(fields) - 8} more" if len(fields) > 8 else "")
            raise RunMismatch(f"{output} holds results computed with a different {shown}; to start fresh, choose "
                              f"another --output or remove {output}")
        return
    if has_units:
        raise RunMismatch(f"{output} holds unit files but no fingerprint.json (an older cfc-ref?); to start fresh, "
                          f"choose another --output or remove {output}")
    write_atomic(path, (json.dumps(current, indent=1) + "\n").encode())


@contextmanager
def run_lock(output: Path) -> Iterator[None]:
    """E-3.1: one run per directory. The lock dies with its process, so a killed run never blocks a resume."""
    output.mkdir(parents=True, exist_ok=True)
    fd = os.open(output / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise RunLocked(f"{output} is in use by another cfc-ref run (pid {holder}); wait for it or use "
                            "another --output") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
