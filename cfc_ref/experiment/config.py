"""What an experiment sweeps (paper §4): dataset, model, split points × bit depths × codec settings, baseline.

A config is a JSON file (see ``embedded_default()`` for every key); ``cfc-ref run`` with no file uses the embedded
default.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, replace
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
    splits: tuple[str, ...] = ("max_11", "max_17")  # lossless and lossy (Table 1, Fig. 5)
    lossless_splits: tuple[str, ...] = ()  # further split points swept lossless only (Fig. 4)
    accountings: tuple[str, ...] = ("deployable",)  # E-7: "deployable" and/or "paper"
    lossless_bit_depths: tuple[int, ...] = (8, 10, 12)  # paper Fig. 4
    lossy_bit_depths: tuple[int, ...] = (8,)  # paper Fig. 5
    qps: tuple[int, ...] = (22, 27, 32, 37)
    encoder: str = "x265"
    decoder: str = "fast"
    layout: str = "tile"
    jpeg_qualities: tuple[int, ...] = (5, 10, 20, 35, 50, 75, 90)  # cloud-only curve
    original_upload: bool = True  # the paper's red square
    rgb_hevc_qps: tuple[int, ...] = ()  # cloud-only HEVC intra of the RGB image (spec H-7.1), off by default
    workers: int | None = None  # None: the CPUs this process may run on (E-10.5)
    inference: str = "exact"  # "exact" (Darknet-exact reference) or "fast" (folded BN etc., spec D-8.2)
    implementation: str = "fast"  # "fast" twins or the readable "reference" of each stage (spec E-12; same numbers)
    device: str = "cpu"  # where the networks run: "cpu", or "cuda" / "cuda:N" (E-8.4; the numbers differ by device)
    output: str = "runs/embedded-default"
    synthetic_test_images: int = 200
    quantizers: tuple[str, ...] = ("paper",)  # E-14.1: Q-layer variants of the split points of `splits`
    fcm_ranges: tuple[tuple, ...] = ()  # E-14.1: (tensor, lo, hi) per coded tensor; JSON {"tensor": [lo, hi]}

    def to_json(self) -> str:
        raw = asdict(self)
        raw["fcm_ranges"] = {name: [lo, hi] for name, lo, hi in self.fcm_ranges}
        return json.dumps(raw, indent=1)


PATH_KEYS = ("dataset_root", "cfg", "weights", "output")  # resolved against the config file's own directory


def load_config(path: str | Path) -> ExperimentConfig:
    """A config file; its relative paths (``dataset_root``, ``cfg``, ``weights``, ``output``) are relative to the
    file's own directory, wherever it is run from, and ``cfg`` may name a built-in cfg (``yolo-voc``)."""
    from cfc_ref.configfile import load_json_object

    raw = load_json_object(path)
    base = Path(path).resolve().parent
    for key in PATH_KEYS:
        value = raw.get(key)
        if isinstance(value, str) and value and not (key == "cfg" and is_builtin_cfg(value)):
            raw[key] = os.path.normpath(base / value) if not Path(value).is_absolute() else value
    return config_from_dict(raw, str(path))


def is_builtin_cfg(value: str) -> bool:
    """A cfg named by name (``yolo-voc``, ``yolo-voc.2.0``, D-1.3), not by a path."""
    from cfc_ref.detector.cfg import BUILTIN

    return value in BUILTIN


_INT_TUPLES = {"lossless_bit_depths": (1, 12), "lossy_bit_depths": (1, 12), "qps": (0, 51), "jpeg_qualities": (1, 100),
               "rgb_hevc_qps": (0, 51)}
_CHOICES = {"dataset_kind": ("voc", "synthetic"), "model": ("embedded", "darknet"), "encoder": ("x265", "hm"),
            "decoder": ("auto", "fast", "pylibde265", "hm", "libde265", "ffmpeg"), "layout": ("tile", "quilt"),
            "inference": ("exact", "fast"), "implementation": ("fast", "reference")}
ACCOUNTINGS = ("deployable", "paper")
PAPER_FIG4_SPLITS = ("max_3", "conv_6", "conv_10", "max_11", "conv_13", "max_17", "conv_20", "conv_24")


def check_quantizers(config: ExperimentConfig, path: str = "config") -> None:
    """E-14.1: known, distinct quantizers; under ``fcm`` a range Q-7.1 accepts for every tensor the sweep codes at
    the split points of ``splits``, every missing one named at once."""
    from cfc_ref.errors import QLayerError
    from cfc_ref.qlayer import fixed_range

    if not config.quantizers or len(set(config.quantizers)) != len(config.quantizers) or any(
            q not in QUANTIZERS for q in config.quantizers):
        raise CfcError(f"{path}: quantizers must be distinct names of {', '.join(QUANTIZERS)}, got "
                       f"{list(config.quantizers)}")
    names = [item[0] for item in config.fcm_ranges]
    if len(set(names)) != len(names):
        raise CfcError(f"{path}: fcm_ranges names a tensor twice")
    for name, lo, hi in config.fcm_ranges:
        try:
            fixed_range(lo, hi)
        except QLayerError as err:
            raise CfcError(f"{path}: fcm_ranges {name}: {err}") from None
    if "fcm" in config.quantizers:
        needed = dict.fromkeys(t for split in config.splits for t in crossing_of(config).get(split, ()))
        missing = [t for t in needed if t not in names]
        if missing:
            raise CfcError(f"{path}: quantizer fcm needs fcm_ranges for {', '.join(missing)} (E-14.1)")


def _ranges_of(raw: object, path: str) -> tuple[tuple, ...]:
    """``fcm_ranges`` from JSON: an object ``{tensor: [lo, hi]}`` (or config.json's list of ``[tensor, lo, hi]``)."""
    if isinstance(raw, list) and all(isinstance(v, list) and len(v) == 3 for v in raw):
        items = [(v[0], v[1:]) for v in raw]
    elif isinstance(raw, dict):
        items = list(raw.items())
    else:
        raise CfcError(f"{path}: fcm_ranges must be an object mapping tensor names to [lo, hi], got {raw!r}")
    out = []
    for name, pair in items:
        if not (isinstance(pair, list) and len(pair) == 2 and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in pair)):
            raise CfcError(f"{path}: fcm_ranges {name}: expected [lo, hi], two numbers, got {pair!r}")
        if not isinstance(name, str):
            raise CfcError(f"{path}: fcm_ranges must be named by tensor, got {name!r}")
        try:
            out.append((name, float(pair[0]), float(pair[1])))
        except OverflowError:
            raise CfcError(f"{path}: fcm_ranges {name}: {pair!r} is beyond binary64") from None
    return tuple(out)


def _check_ranges_shape(config: ExperimentConfig, path: str) -> None:
    for item in config.fcm_ranges:
        if not (isinstance(item, tuple) and len(item) == 3 and isinstance(item[0], str) and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in item[1:])):
            raise CfcError(f"{path}: fcm_ranges must map tensor names to [lo, hi], got {item!r}")


QUANTIZERS = ("paper", "fcm")


def check_config(config: ExperimentConfig, path: str = "config") -> ExperimentConfig:
    """Every field of the right type and range (spec H-1.3, Q-1.1, H-7.1, E-6.1), or a CfcError naming it."""
    from cfc_ref.configfile import check_types

    check_types(config, path)
    for key, (low, high) in _INT_TUPLES.items():
        if not all(low <= v <= high for v in getattr(config, key)):
            raise CfcError(f"{path}: {key} must be integers from {low} to {high}, got {list(getattr(config, key))}")
    for key, choices in _CHOICES.items():
        if getattr(config, key) not in choices:
            raise CfcError(f"{path}: {key} must be one of {', '.join(choices)}, got {getattr(config, key)!r}")
    for key, most in (("limit", 10**7), ("workers", 1024), ("synthetic_test_images", 100_000)):
        value = getattr(config, key)
        if value is not None and not 1 <= value <= most:
            raise CfcError(f"{path}: {key} must be 1 to {most}, got {value}")
    if not config.splits or not all(config.splits) or not all(config.lossless_splits):
        raise CfcError(f"{path}: splits must name at least one split point, got {list(config.splits)}")
    if not config.accountings or any(a not in ACCOUNTINGS for a in config.accountings) or len(
            set(config.accountings)) != len(config.accountings):
        raise CfcError(f"{path}: accountings must be deployable and/or paper, got {list(config.accountings)}")
    if not re.fullmatch(r"cpu|cuda(:\d+)?", config.device):
        raise CfcError(f"{path}: device must be cpu, cuda or cuda:N, got {config.device!r}")
    if config.implementation == "reference" and config.inference == "fast":
        raise CfcError(f"{path}: implementation 'reference' runs the Darknet-exact network; inference 'fast' is the "
                       "folded copy (spec D-8.2): choose one")
    if config.model == "darknet" and not (config.cfg and config.weights):
        raise CfcError(f"{path}: model 'darknet' needs cfg and weights")
    for key in ("name", "output", "dataset_root", "cfg", "weights", "image_set"):
        try:
            getattr(config, key).encode("utf-8")
        except UnicodeEncodeError:
            raise CfcError(f"{path}: {key} is not UTF-8 text ({getattr(config, key)!r}); name it in UTF-8") from None
    if not config.output or not config.dataset_root:
        raise CfcError(f"{path}: output and dataset_root must name a directory")
    if len(set(config.classes)) != len(config.classes) or not all(config.classes):
        raise CfcError(f"{path}: classes must be distinct, non-empty names, got {list(config.classes)}")
    _check_ranges_shape(config, path)
    check_quantizers(config, path)
    return config


def config_from_dict(raw: dict, path: str = "config") -> ExperimentConfig:
    """An ExperimentConfig from parsed JSON (lists become tuples); unknown, missing or ill-typed keys are errors."""
    from cfc_ref.configfile import dataclass_from_dict

    if "fcm_ranges" in raw:
        raw = dict(raw, fcm_ranges=list(_ranges_of(raw["fcm_ranges"], path)))
    return check_config(dataclass_from_dict(ExperimentConfig, raw, path), path)


def embedded_default(output: str = "runs/embedded-default") -> ExperimentConfig:
    """The whole protocol on the package's synthetic data and embedded model (a stand-in for VOC + YOLO9000)."""
    from cfc_ref.data.synthetic import CLASSES
    from cfc_ref.zoo import embedded_fcm_ranges

    # QPs beyond the paper's 22–37: the stand-in's features lose almost no mAP up to QP 37, so without them its lossy
    # curves never reach the JPEG curve's mAP range and BD-KBPI-mAP would be undefined.
    # Fig. 4's split points: the paper's max 3, conv 6, conv 10, then down the network past max 17 (E-7.2).
    return ExperimentConfig(name="embedded default (synthetic stand-in)",
                            dataset_root=str(Path(output) / "data" / "synthetic-voc.zip"),
                            dataset_kind="synthetic", classes=CLASSES, output=output,
                            qps=(22, 27, 32, 37, 42, 47, 51), jpeg_qualities=(5, 10, 20, 35, 50, 75, 90, 95, 98),
                            lossless_splits=PAPER_FIG4_SPLITS, accountings=("deployable", "paper"),
                            fcm_ranges=embedded_fcm_ranges())  # used with --quantizers paper,fcm (E-14.3)


def lossy_sweep(base: ExperimentConfig, cfg: str, weights: str, splits: tuple[str, ...], output: str,
               name: str) -> ExperimentConfig:
    """The lossy split points of ``base`` with other weights (re-trained rows): no lossless points, no cloud-only."""
    return replace(base, name=name, model="darknet", cfg=cfg, weights=weights, splits=splits, lossless_splits=(),
                   lossless_bit_depths=(), jpeg_qualities=(), original_upload=False, rgb_hevc_qps=(), output=output)


SettingKind = Literal["split", "cloud"]


@dataclass(frozen=True)
class Setting:
    """One point of the sweep: a split at a bit depth and codec quality, or a cloud-only upload."""

    kind: SettingKind
    split: str = ""
    bit_depth: int = 0
    qp: int | None = None  # split: None is lossless; cloud "hevc": its QP
    upload: str = ""  # cloud: "jpeg", "original" or "hevc" (the RGB image, H-7.1)
    jpeg_quality: int | None = None
    accounting: str = "deployable"  # E-7.1: which crossing tensors are coded and counted ("both": one crosses)
    quantizer: str = "paper"  # E-14.1: the Q-layer variant of a split setting ("" for a cloud-only upload)

    @property
    def codec_quality(self) -> Quality:
        """The HEVC quantization setting (spec H-1.3)."""
        return "lossless" if self.qp is None else self.qp

    @property
    def quality(self) -> str:
        """The label of the quality point: lossless, qp22, jpeg50 or original."""
        if self.kind == "cloud":
            return {"jpeg": f"jpeg{self.jpeg_quality}", "hevc": f"hevc-rgb-qp{self.qp}"}.get(self.upload, "original")
        return "lossless" if self.qp is None else f"qp{self.qp}"

    @property
    def key(self) -> str:
        if self.kind == "cloud":
            return f"cloud-{self.quality}"
        return (f"{self.split}-{self.bit_depth}bit-{self.quality}" + ("-paper" if self.accounting == "paper" else "")
                + ("-fcm" if self.quantizer == "fcm" else ""))


def split_points_of(config: ExperimentConfig) -> tuple[str, ...]:
    """Every split point of the sweep: the lossy ones, then the lossless-only ones (no repeats)."""
    return tuple(dict.fromkeys((*config.splits, *config.lossless_splits)))


def cfg_path(config: ExperimentConfig) -> Path:
    """The Darknet cfg of the run's model: the embedded default's, a built-in one named by name, or a file."""
    if config.model == "embedded":
        from cfc_ref.zoo import embedded_files

        return embedded_files()[0]
    if is_builtin_cfg(config.cfg):
        from importlib import resources

        return Path(str(resources.files("cfc_ref.detector").joinpath(f"cfg/{config.cfg}.cfg")))
    return Path(config.cfg)


def missing_inputs(config: ExperimentConfig) -> list[str]:
    """Every input file or directory of the run that is not there (E-6.1: all named at once)."""
    missing = []
    if config.model == "darknet" and not cfg_path(config).is_file():
        missing.append(f"the cfg {config.cfg}")
    if config.model == "darknet" and not Path(config.weights).is_file():
        missing.append(f"the weights {config.weights}")
    if config.dataset_kind == "voc" and not Path(config.dataset_root).exists():
        missing.append(f"the dataset {config.dataset_root}")
    return missing


def crossing_of(config: ExperimentConfig) -> dict[str, tuple[str, ...]]:
    """D-5.1: the tensors that cross each split point of the sweep, from the run's cfg."""
    from cfc_ref.detector.cfg import load_cfg
    from cfc_ref.detector.split import split_point

    network = load_cfg(cfg_path(config))
    return {split: split_point(network, split).crossing_names for split in split_points_of(config)}


def settings_of(config: ExperimentConfig) -> list[Setting]:
    """Every setting of the sweep, in order: split points by accounting, then the cloud-only uploads. Where one
    tensor crosses a split, both accountings are the same computation: one setting, accounting ``both``, listed
    with the first accounting (E-7.3)."""
    crossing = crossing_of(config) if len(config.accountings) == 2 else {}
    out = []
    for accounting in config.accountings:
        for split in split_points_of(config):
            label = accounting
            if len(crossing.get(split, ())) == 1:
                if accounting != config.accountings[0]:
                    continue
                label = "both"
            quantizers = config.quantizers if split in config.splits else ("paper",)
            for quantizer in quantizers:  # E-14.1: the fcm settings follow their paper twins' split point
                out += [Setting("split", split, n, accounting=label, quantizer=quantizer)
                        for n in config.lossless_bit_depths]
                if split in config.splits:
                    out += [Setting("split", split, n, qp=qp, accounting=label, quantizer=quantizer)
                            for n in config.lossy_bit_depths for qp in config.qps]
    out += [Setting("cloud", upload="jpeg", jpeg_quality=q, quantizer="") for q in config.jpeg_qualities]
    out += [Setting("cloud", upload="hevc", qp=qp, quantizer="") for qp in config.rgb_hevc_qps]
    if config.original_upload:
        out.append(Setting("cloud", upload="original", quantizer=""))
    return out


def classes_of(config: ExperimentConfig) -> tuple[str, ...]:
    from cfc_ref.metrics.voc import VOC_CLASSES

    return config.classes or VOC_CLASSES
