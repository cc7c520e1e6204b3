"""A run directory's files (spec E-1): one unit file per (image, setting), written atomically.

    <output>/fingerprint.json        what the units were computed with (fingerprint.py)
    <output>/units/<setting>/<image>.json
    <output>/encode-log.txt          one line per fresh HEVC encode
    <output>/results.json, results.csv
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import Setting
from cfc_ref.fileio import write_atomic

UNIT_VERSION = 2


@dataclass(frozen=True)
class UnitBits:
    """Bits of one image at one setting: from the container the cloud side parsed (W-5), or the upload's file."""

    payload_bytes: int
    side_info_bytes: int
    container_bytes: int  # the whole container the cloud received (0 for a cloud-only upload)

    @property
    def kbits(self) -> float:
        return 8 * (self.payload_bytes + self.side_info_bytes) / 1000


@dataclass(frozen=True)
class Unit:
    image: str
    setting: str
    bits: UnitBits
    encoder: str
    decoders: tuple[str, ...]  # the decoders that made the pictures the back end saw
    detections: tuple[tuple[str, float, float, float, float, float], ...]  # class, score, box (VOC pixels)
    samples: int = 0  # feature samples coded for this image (C·H·W summed over the coded tensors)
    uncoded: tuple[str, ...] = ()  # crossing tensors the back end received uncoded (paper accounting, E-7.1)

    def to_json(self) -> bytes:
        data = {"unit_version": UNIT_VERSION, "image": self.image, "setting": self.setting,
                "bits": dict(asdict(self.bits), kbits=self.bits.kbits),
                "codec": {"encoder": self.encoder, "decoders": list(self.decoders)},
                "samples": self.samples, "uncoded": list(self.uncoded),
                "detections": [list(d) for d in self.detections]}
        return json.dumps(data).encode()

    @classmethod
    def from_json(cls, text: bytes, where: str) -> Unit:
        try:
            data = json.loads(text)
            if data["unit_version"] != UNIT_VERSION:
                raise CfcError(f"{where}: unit version {data['unit_version']}, this cfc-ref reads {UNIT_VERSION}")
            bits = data["bits"]
            return cls(data["image"], data["setting"],
                       UnitBits(bits["payload_bytes"], bits["side_info_bytes"], bits["container_bytes"]),
                       data["codec"]["encoder"], tuple(data["codec"]["decoders"]),
                       tuple((d[0], *map(float, d[1:6])) for d in data["detections"]),  # type: ignore[misc]
                       int(data["samples"]), tuple(data["uncoded"]))
        except (ValueError, KeyError, TypeError, IndexError) as err:
            raise CfcError(f"{where}: not a unit file ({err})") from None


def unit_path(output: Path, setting: Setting, image: str) -> Path:
    return output / "units" / setting.key / f"{image}.json"


def write_unit(output: Path, setting: Setting, unit: Unit) -> None:
    write_atomic(unit_path(output, setting, unit.image), unit.to_json())


def read_unit(output: Path, setting: Setting, image: str) -> Unit:
    path = unit_path(output, setting, image)
    try:
        return Unit.from_json(path.read_bytes(), str(path))
    except FileNotFoundError:
        raise CfcError(f"{path}: missing (the sweep has not finished this unit)") from None
