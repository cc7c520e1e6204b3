"""What an experiment sweeps (paper §4): dataset, model, split points × bit depths × codec settings, baseline.

A config is a JSON file (see ``embedded_default()`` for every key); ``cfc-ref run`` with no file uses the embedded
default.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cfc_ref.errors import CfcError

if TYPE_CHECKING:
    from cfc_ref.codecs.hevc.settings import Quality


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
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CfcError(f"{path}: not a readable JSON config ({err})") from None
    if not isinstance(raw, dict):
        raise CfcError(f"{path}: a config is a JSON object")
    return config_from_dict(raw, str(path))


_INT_TUPLES = {"lossless_bit_depths": (1, 12), "lossy_bit_depths": (1, 12), "qps": (0, 51), "jpeg_qualities": (1, 100)}
_CHOICES = {"dataset_kind": ("voc", "synthetic"), "model": ("embedded", "darknet"), "encoder": ("x265", "hm"),
            "decoder": ("auto", "fast", "pylibde265", "hm", "libde265", "ffmpeg"), "layout": ("tile", "quilt")}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_config(config: ExperimentConfig, path: str = "config") -> ExperimentConfig:
    """Every field of the right type and range (spec H-1.3, Q-1.1, H-7.1), or a CfcError naming it."""
    for f in fields(ExperimentConfig):
        value = getattr(config, f.name)
        if f.name in _INT_TUPLES:
            low, high = _INT_TUPLES[f.name]
            if not all(_is_int(v) and low <= v <= high for v in value):
                raise CfcError(f"{path}: {f.name} must be integers from {low} to {high}, got {list(value)}")
        elif f.name in _CHOICES and value not in _CHOICES[f.name]:
            raise CfcError(f"{path}: {f.name} must be one of {', '.join(_CHOICES[f.name])}, got {value!r}")
        elif f.name in ("splits", "classes") and not all(isinstance(v, str) and v for v in value):
            raise CfcError(f"{path}: {f.name} must be names, got {list(value)}")
        elif f.name in ("limit", "workers") and value is not None and not (_is_int(value) and value >= 1):
            raise CfcError(f"{path}: {f.name} must be a positive integer or null, got {value!r}")
        elif f.name == "synthetic_test_images" and not (_is_int(value) and value >= 1):
            raise CfcError(f"{path}: {f.name} must be a positive integer, got {value!r}")
        elif f.name == "original_upload" and not isinstance(value, bool):
            raise CfcError(f"{path}: {f.name} must be true or false, got {value!r}")
        elif f.type == "str" and not isinstance(value, str):
            raise CfcError(f"{path}: {f.name} must be a string, got {value!r}")
    if config.model == "darknet" and not (config.cfg and config.weights):
        raise CfcError(f"{path}: model 'darknet' needs cfg and weights")
    return config


def config_from_dict(raw: dict, path: str = "config") -> ExperimentConfig:
    """An ExperimentConfig from parsed JSON (lists become tuples); unknown or missing keys are errors."""
    raw = dict(raw)
    known = {f.name for f in fields(ExperimentConfig)}
    unknown = set(raw) - known
    if unknown:
        raise CfcError(f"{path}: unknown keys {sorted(unknown)}")
    for key in ("classes", "splits", "lossless_bit_depths", "lossy_bit_depths", "qps", "jpeg_qualities"):
        if key in raw:
            if not isinstance(raw[key], list):
                raise CfcError(f"{path}: {key} must be a list, got {raw[key]!r}")
            raw[key] = tuple(raw[key])
    try:
        config = ExperimentConfig(**raw)
    except TypeError as err:
        raise CfcError(f"{path}: {err}") from None
    return check_config(config, path)


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


SettingKind = Literal["split", "cloud"]


@dataclass(frozen=True)
class Setting:
    """One point of the sweep: a split at a bit depth and codec quality, or a cloud-only upload."""

    kind: SettingKind
    split: str = ""
    bit_depth: int = 0
    qp: int | None = None  # split: None is lossless
    upload: str = ""  # cloud: "jpeg" or "original"
    jpeg_quality: int | None = None

    @property
    def codec_quality(self) -> Quality:
        """The HEVC quantization setting (spec H-1.3)."""
        return "lossless" if self.qp is None else self.qp

    @property
    def quality(self) -> str:
        """The label of the quality point: lossless, qp22, jpeg50 or original."""
        if self.kind == "cloud":
            return f"jpeg{self.jpeg_quality}" if self.upload == "jpeg" else "original"
        return "lossless" if self.qp is None else f"qp{self.qp}"

    @property
    def key(self) -> str:
        if self.kind == "cloud":
            return f"cloud-{self.quality}"
        return f"{self.split}-{self.bit_depth}bit-{self.quality}"


def settings_of(config: ExperimentConfig) -> list[Setting]:
    out = []
    for split in config.splits:
        out += [Setting("split", split, n) for n in config.lossless_bit_depths]
        out += [Setting("split", split, n, qp=qp) for n in config.lossy_bit_depths for qp in config.qps]
    out += [Setting("cloud", upload="jpeg", jpeg_quality=q) for q in config.jpeg_qualities]
    if config.original_upload:
        out.append(Setting("cloud", upload="original"))
    return out


def classes_of(config: ExperimentConfig) -> tuple[str, ...]:
    from cfc_ref.metrics.voc import VOC_CLASSES

    return config.classes or VOC_CLASSES
