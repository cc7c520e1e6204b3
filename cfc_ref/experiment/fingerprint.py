"""What a run's units were computed with (spec E-2), and the lock that keeps one run per directory (E-3.1).

A resumed run reuses units only when its fingerprint equals the one recorded in its results store (``meta``
``fingerprint``), and only of images whose files are unchanged (E-2.3); otherwise it stops with an error naming every
field that differs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from cfc_ref import SPEC_VERSION, __version__
from cfc_ref.configfile import differences
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, settings_of
from cfc_ref.experiment.store import RunStore
from cfc_ref.fileio import file_sha256
from cfc_ref.locking import RunLocked, run_lock  # noqa: F401 - where runs find them

FINGERPRINT_VERSION = 2
# Fields that name or place a run but do not change any unit's numbers (the dataset's files are checked per image).
NOT_FINGERPRINTED = ("name", "output", "workers", "dataset_root", "cfg", "weights")  # the model's files count by
# their SHA-256 (model.*_sha256), not by where they lie, so a moved checkout resumes its runs


class RunMismatch(CfcError):
    """The run directory holds units computed with something else (spec E-2.2)."""


def image_digests(source: object, images: list[str]) -> dict[str, str]:
    """E-2.3: per image, the SHA-256 of its JPEG bytes and annotation bytes (a ``VocSource``)."""
    digests = {}
    for image in images:
        digest = hashlib.sha256()
        digest.update(hashlib.sha256(source.image_bytes(image)).digest())  # type: ignore[attr-defined]
        digest.update(hashlib.sha256(source.annotation_bytes(image)).digest())  # type: ignore[attr-defined]
        digests[image] = digest.hexdigest()
    return digests


def ids_sha256(images: list[str]) -> str:
    return hashlib.sha256("\n".join(images).encode()).hexdigest()


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def codec_fingerprint(config: ExperimentConfig) -> dict:
    from cfc_ref.codecs.hevc import encoder_name
    from cfc_ref.codecs.hevc.settings import HM_COMMON_OPTIONS, X265_PARAMS

    options = ":".join(X265_PARAMS) if config.encoder == "x265" else " ".join(HM_COMMON_OPTIONS)
    # Not the installed decoders: every decoder the policy may choose reproduces the 75 HM-16.12 reconstructions or
    # refuses the stream (H-4), so installing or upgrading one changes no picture; each unit names its decoder.
    return {"encoder": encoder_name(config.encoder), "encoder_options": options,  # type: ignore[arg-type]
            "decoder_policy": config.decoder}


def fingerprint(config: ExperimentConfig, model_files: tuple[Path, Path], images: list[str]) -> dict:
    """E-2.1: everything a unit's numbers depend on."""
    from cfc_ref import tiling

    cfg, weights = model_files
    return {
        "fingerprint_version": FINGERPRINT_VERSION,
        "cfc_ref": __version__, "spec": SPEC_VERSION,
        "config": {k: v for k, v in asdict(config).items() if k not in NOT_FINGERPRINTED},
        "model": {"cfg_sha256": file_sha256(cfg), "weights_sha256": file_sha256(weights)},
        "dataset": {"images": len(images), "ids_sha256": ids_sha256(images)},  # the files: E-2.3, per image
        "settings": {"keys": [s.key for s in settings_of(config)], "mode": "minmax", "layout": config.layout,
                     "align": tiling.DEFAULT_ALIGN},
        "codec": codec_fingerprint(config),
        "software": {name: _version(name) for name in ("torch", "numpy", "pillow", "av")},
    }


def check_or_record(store: RunStore, current: dict) -> None:
    """E-2.2: record the fingerprint of a new run; refuse a store whose units were made otherwise."""
    current = json.loads(json.dumps(current))
    text = store.meta("fingerprint")
    if text is None:
        if store.done():
            raise RunMismatch(f"{store.path} holds units but no fingerprint; to start fresh, choose another --output "
                              f"or remove {store.path.parent}")
        store.set_meta(fingerprint=json.dumps(current, sort_keys=True))
        return
    try:
        recorded = json.loads(text)
    except json.JSONDecodeError:
        recorded = {"fingerprint": "unreadable"}
    fields = differences(recorded, current)
    if fields:
        shown = ", ".join(fields[:8]) + (f" and {len(fields) - 8} more" if len(fields) > 8 else "")
        raise RunMismatch(f"{store.path.parent} holds results computed with a different {shown}; to start fresh, "
                          f"choose another --output or remove {store.path.parent}")


def check_images(store: RunStore, digests: dict[str, str]) -> None:
    """E-2.3: an image whose files changed may not keep units computed from the old files; one without units (it
    failed, or was not reached) may change — a damaged image, repaired, is computed then (E-4.2)."""
    recorded = store.image_digests()
    changed = [image for image, digest in digests.items() if recorded.get(image, digest) != digest]
    kept = store.images_with_units()
    stale = [image for image in changed if image in kept]
    if stale:
        more = f" and {len(stale) - 1} more" if len(stale) > 1 else ""
        raise RunMismatch(f"{store.path.parent} holds units of image {stale[0]!r}{more} computed from other files "
                          f"(dataset.images changed); to start fresh, choose another --output or remove "
                          f"{store.path.parent}")
    store.set_images(digests)
