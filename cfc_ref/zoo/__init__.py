"""The shipped model zoo: the embedded default's cfg and weights and its re-trained weights (files only; loading
the model is ``cfc_ref.zoo.embedded``). Naming a file here imports nothing heavy, so that a job starts its fork
server before it imports torch (spec E-10.3)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

EMBEDDED_NAME = "embedded-yolo-voc-w0125-256-synthetic5"


def embedded_files() -> tuple[Path, Path]:
    zoo = resources.files("cfc_ref.zoo")
    return Path(str(zoo.joinpath(f"{EMBEDDED_NAME}.cfg"))), Path(str(zoo.joinpath(f"{EMBEDDED_NAME}.weights")))


def retrained_weights(split: str) -> Path | None:
    """The shipped compression-augmented weights for a split (tools/reproduce_table1.sh), if any."""
    path = Path(str(resources.files("cfc_ref.zoo").joinpath(f"{EMBEDDED_NAME}-retrained-{split}.weights")))
    return path if path.exists() else None


FCM_RANGES_FILE = "fcm_ranges.json"  # spec E-14.3: written by tools/fcm_ranges.py --write


def fcm_ranges_path() -> Path:
    return Path(str(resources.files("cfc_ref.zoo").joinpath(FCM_RANGES_FILE)))


def embedded_fcm_ranges() -> tuple[tuple[str, float, float], ...]:
    """The embedded default's FCM ranges (E-14.3), as a config's ``fcm_ranges``: (tensor, lo, hi)."""
    import json

    ranges = json.loads(fcm_ranges_path().read_text())["ranges"]
    return tuple((name, float(lo), float(hi)) for name, (lo, hi) in ranges.items())
