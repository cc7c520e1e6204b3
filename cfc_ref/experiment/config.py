"""What an experiment sweeps (paper §4): dataset, model, split points × bit depths × codec settings, baseline.

A config is a JSON file (see ``embedded_default()`` for every key); ``cfc-ref run`` with no file uses the embedded
default.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from cfc_ref.errors import CfcError


@dataclass(frozen=True)
class ExperimentConfig:
    name: str
    dataset_root: str  # VOCdevkit year directory; "synthetic" writes the package's synthetic set there first
    image_set: str = "test"
    dataset_kind: str = "voc"  # "voc" or "synthetic"
    limit: int | None = None  # first N images of the set (None: all)
    classes: tuple[str, ...] = ()  # () = the 20 VOC classes
    model: str = "embedded"  # "embedded", or "darknet"
    cfg: str = ""
    weights: str = ""
    splits: tuple[str, ...] = ("max_11", "max_17")
    lossless_bit_depths: tuple[int, ...] = (8, 10, 12)  # paper Fig. 4
    lossy_bit_depths: tuple[int, ...] = (8,)  # paper Fig. 5
    qps: tuple[int, ...] = (22, 27, 32, 37)
    encoder: str = "x265"
    decoder: str = "fast"
    layout: str = "tile"
    jpeg_qualities: tuple[int, ...] = (5, 10, 20, 35, 50, 75, 90)  # cloud-only curve
    original_upload: bool = True  # the paper's red square
    workers: int | None = None  # None: all cores
    output: str = "runs/embedded-default"
    synthetic_test_images: int = 200

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)


def load_config(path: str | Path) -> ExperimentConfig:
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise CfcError(f"{path}: {err}") from None
    return config_from_dict(raw, str(path))


def config_from_dict(raw: dict, path: str = "config") -> ExperimentConfig:
    """An ExperimentConfig from parsed JSON (lists become tuples); unknown or missing keys are errors."""
    raw = dict(raw)
    known = {f.name for f in fields(ExperimentConfig)}
    unknown = set(raw) - known
    if unknown:
        raise CfcError(f"{path}: unknown keys {sorted(unknown)}")
    for key in ("classes", "splits", "lossless_bit_depths", "lossy_bit_depths", "qps", "jpeg_qualities"):
        if key in raw:
            raw[key] = tuple(raw[key])
    try:
        return ExperimentConfig(**raw)
    except TypeError as err:
        raise CfcError(f"{path}: {err}") from None


def embedded_default(output: str = "runs/embedded-default") -> ExperimentConfig:
    """The whole protocol on the package's synthetic data and embedded model (a stand-in for VOC + YOLO9000)."""
    from cfc_ref.data.synthetic import CLASSES

    # QPs beyond the paper's 22–37: the stand-in's features lose almost no mAP up to QP 37, so without them its lossy
    # curves never reach the JPEG curve's mAP range and BD-KBPI-mAP would be undefined.
    return ExperimentConfig(name="embedded default (synthetic stand-in)", dataset_root=str(Path(output) / "data"),
                            dataset_kind="synthetic", classes=CLASSES, output=output,
                            qps=(22, 27, 32, 37, 42, 47, 51), jpeg_qualities=(5, 10, 20, 35, 50, 75, 90, 95, 98))


def lossy_sweep(base: ExperimentConfig, cfg: str, weights: str, splits: tuple[str, ...], output: str,
               name: str) -> ExperimentConfig:
    """The lossy split points of ``base`` with other weights (re-trained rows): no lossless points, no cloud-only."""
    return replace(base, name=name, model="darknet", cfg=cfg, weights=weights, splits=splits,
                   lossless_bit_depths=(), jpeg_qualities=(), original_upload=False, output=output)


@dataclass(frozen=True)
class Setting:
    """One point of the sweep: a split at a bit depth and quality, or a cloud-only upload."""

    kind: str  # "split" or "cloud"
    split: str = ""
    bit_depth: int = 0
    quality: str = ""  # "lossless" / "qp22" / "jpeg50" / "original"
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> str:
        if self.kind == "cloud":
            return f"cloud-{self.quality}"
        return f"{self.split}-{self.bit_depth}bit-{self.quality}"


def settings_of(config: ExperimentConfig) -> list[Setting]:
    out = []
    for split in config.splits:
        out += [Setting("split", split, n, "lossless") for n in config.lossless_bit_depths]
        out += [Setting("split", split, n, f"qp{qp}") for n in config.lossy_bit_depths for qp in config.qps]
    out += [Setting("cloud", quality=f"jpeg{q}") for q in config.jpeg_qualities]
    if config.original_upload:
        out.append(Setting("cloud", quality="original"))
    return out
