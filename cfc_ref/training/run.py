"""``cfc-ref train``: a training run with the codec in the loop (spec R-1..R-3), written to one directory.

Output: ``model.cfg``, ``model.weights`` (Darknet format), ``checkpoint.pt`` (resumable), ``history.json``,
``loss.png``, and ``meta.json`` (settings, seed, split, codec or proxy, budget = iterations × batch).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from cfc_ref.codecs.hevc import encoder_name
from cfc_ref.detector.cfg import write_cfg
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.split import split as split_model
from cfc_ref.detector.weights import load_weights, save_weights
from cfc_ref.errors import CfcError
from cfc_ref.training.codec_layer import PAPER_QUALITIES, CodecInTheLoop
from cfc_ref.training.data import VocDetectionSet
from cfc_ref.training.loop import TrainSettings, default_forward, train


@dataclass(frozen=True)
class TrainConfig:
    name: str = "compression-augmented training (embedded default)"
    dataset_root: str = "runs/train-data"
    dataset_kind: str = "synthetic"  # "synthetic" writes the package's training split there first; or "voc"
    image_set: str = "train"
    classes: tuple[str, ...] = ()  # () = the synthetic classes for "synthetic", VOC's otherwise
    init: str = "embedded"  # start from the embedded default, or "darknet" with cfg + weights
    cfg: str = ""
    weights: str = ""
    split: str = "max_11"  # "" trains without a split
    mode: str = "codec"  # "codec", "proxy" or "none"
    bit_depth: int = 8
    qualities: tuple = PAPER_QUALITIES
    encoder: str = "x265"
    iterations: int = 600
    batch_size: int = 16
    learning_rate: float = 2e-4
    optimizer: str = "adam"
    warmup: int = 50
    seed: int = 0
    output: str = "runs/train-max_11"
    synthetic_train_images: int = 2000
    checkpoint_every: int = 100
    device: str = "auto"  # "auto": CUDA when a GPU is present, else the CPU; or "cpu", "cuda", "cuda:1", …


def training_device(name: str) -> torch.device:
    from cfc_ref.device import check_device

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(check_device(name, "training device"))


# what a checkpoint is bound to: every field but the name and the output (the iteration count too: the
# learning-rate schedule follows it)
NOT_BOUND = ("name", "output")


def training_identity(config: TrainConfig) -> dict:
    """R-3.3: the settings a checkpoint was trained with, and the SHA-256 of the initial cfg and weights."""
    from cfc_ref.fileio import file_sha256

    identity = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items() if k not in NOT_BOUND}
    for key in ("cfg", "weights"):
        path = getattr(config, key)
        identity[f"{key}_sha256"] = file_sha256(path) if path and Path(path).is_file() else ""
    return identity


def _check_identity(out: Path, config: TrainConfig) -> None:
    """R-3.3: a checkpoint is resumed only by the training it belongs to; the first training records it."""
    from cfc_ref.configfile import differences, parse_json
    from cfc_ref.fileio import read_bounded, write_atomic

    current = json.loads(json.dumps(training_identity(config)))
    path = out / "training.json"
    if path.exists():
        recorded = parse_json(read_bounded(path), str(path))
        fields = differences(recorded if isinstance(recorded, dict) else {}, current)
        if fields and (out / "checkpoint.pt").exists():
            from cfc_ref.errors import TrainingError

            raise TrainingError(f"{out} holds a checkpoint trained with a different {', '.join(fields[:6])}; to "
                                f"start fresh, choose another --output or remove {out}")
    write_atomic(path, (json.dumps(current, indent=1, sort_keys=True) + "\n").encode())


TRAIN_PATH_KEYS = ("dataset_root", "cfg", "weights", "output")  # relative to the training config's directory (E-6.5)


def load_train_config(path: str | Path) -> TrainConfig:
    from cfc_ref.configfile import dataclass_from_dict, load_json_object
    from cfc_ref.detector.cfg import BUILTIN

    raw = load_json_object(path)
    base = Path(path).resolve().parent
    for key in TRAIN_PATH_KEYS:
        value = raw.get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute() and not (key == "cfg" and
                                                                                       value in BUILTIN):
            raw[key] = os.path.normpath(base / value)
    return check_train_config(dataclass_from_dict(TrainConfig, raw, str(path)), str(path))


_TRAIN_CHOICES = {"dataset_kind": ("synthetic", "voc"), "init": ("embedded", "darknet"),
                  "mode": ("codec", "proxy", "none"), "optimizer": ("adam", "sgd"), "encoder": ("x265", "hm")}


def check_train_config(config: TrainConfig, where: str = "training config") -> TrainConfig:
    """Types and ranges of every field (spec E-6.1, R-1.3), or a CfcError naming the field."""
    from cfc_ref.codecs.hevc.settings import check_quality
    from cfc_ref.configfile import check_types

    check_types(config, where)
    for key, choices in _TRAIN_CHOICES.items():
        if getattr(config, key) not in choices:
            raise CfcError(f"{where}: {key} must be one of {', '.join(choices)}, got {getattr(config, key)!r}")
    for key, most in (("iterations", 10**8), ("batch_size", 4096), ("synthetic_train_images", 10**6),
                      ("checkpoint_every", 10**8)):
        if not 1 <= getattr(config, key) <= most:
            raise CfcError(f"{where}: {key} must be 1 to {most}, got {getattr(config, key)}")
    if config.warmup < 0 or not config.learning_rate > 0 or not 1 <= config.bit_depth <= 12:
        raise CfcError(f"{where}: need warmup >= 0, learning_rate > 0 and bit_depth 1..12")
    if not config.qualities:
        raise CfcError(f"{where}: qualities must not be empty")
    for quality in config.qualities:
        check_quality(quality)
    if config.init == "darknet" and not config.cfg:
        raise CfcError(f"{where}: init 'darknet' needs cfg")
    if not 0 <= config.seed < 2**63:
        raise CfcError(f"{where}: seed must be an integer from 0 to 2**63 - 1, got {config.seed}")
    if not config.output:
        raise CfcError(f"{where}: output must name a directory")
    if len(set(config.classes)) != len(config.classes):
        raise CfcError(f"{where}: classes must be distinct, got {list(config.classes)}")
    from cfc_ref.device import check_device

    check_device(config.device, f"{where}: device", allow_auto=True)
    return config


def _initial_model(config: TrainConfig) -> DarknetModel:
    if config.init == "embedded":
        from cfc_ref.zoo.embedded import load_embedded_model

        return load_embedded_model()
    if config.init == "darknet":
        from cfc_ref.detector.cfg import BUILTIN, builtin_cfg, load_cfg

        model = DarknetModel(builtin_cfg(config.cfg) if config.cfg in BUILTIN else load_cfg(config.cfg))
        if config.weights:
            load_weights(model, config.weights)
        return model
    raise CfcError(f"init must be embedded or darknet, got {config.init!r}")


def _check_inputs(config: TrainConfig) -> None:
    """E-6.1, E-6.4: every missing input named at once, before the output directory is made."""
    from cfc_ref.detector.cfg import BUILTIN

    missing = []
    if config.init == "darknet" and config.cfg not in BUILTIN and not Path(config.cfg).is_file():
        missing.append(f"the cfg {config.cfg}")
    if config.init == "darknet" and config.weights and not Path(config.weights).is_file():
        missing.append(f"the weights {config.weights}")
    if config.dataset_kind == "voc" and not Path(config.dataset_root).exists():
        missing.append(f"the dataset {config.dataset_root}")
    if missing:
        raise CfcError(f"{' and '.join(missing)} {'do' if len(missing) > 1 else 'does'} not exist: "
                       "tools/download_voc.sh DIR fetches VOC2007 and the YOLOv2-VOC weights into DIR (relative paths "
                       "in a config are relative to the config file's directory)")


def train_run(config: TrainConfig, log=print) -> Path:  # type: ignore[no-untyped-def]
    """Train (resuming if a checkpoint exists); returns the output directory."""

    from cfc_ref.locking import run_lock

    check_train_config(config)
    _check_inputs(config)
    out = Path(config.output)
    with run_lock(out, "cfc-ref train"):
        _check_identity(out, config)
        return _train_run(config, out, log)


def _train_run(config: TrainConfig, out: Path, log) -> Path:  # type: ignore[no-untyped-def]
    from cfc_ref.data.synthetic import CLASSES, write_dataset
    from cfc_ref.fileio import write_atomic
    from cfc_ref.metrics.voc import VOC_CLASSES

    classes = config.classes or (CLASSES if config.dataset_kind == "synthetic" else VOC_CLASSES)
    if config.dataset_kind == "synthetic":
        write_dataset(config.dataset_root, train=config.synthetic_train_images, test=0)
    model = _initial_model(config).to(training_device(config.device))
    dataset = VocDetectionSet(config.dataset_root, config.image_set, classes, model.config.width)
    settings = TrainSettings(iterations=config.iterations, batch_size=config.batch_size,
                             learning_rate=config.learning_rate, optimizer=config.optimizer, warmup=config.warmup,
                             seed=config.seed, checkpoint_every=config.checkpoint_every)
    forward = default_forward
    codec = "none"
    if config.split and config.mode != "none":
        front, back = split_model(model, config.split)
        layer = CodecInTheLoop(config.bit_depth, config.qualities, config.seed, config.encoder, mode=config.mode)
        codec = encoder_name(config.encoder) if config.mode == "codec" else "proxy: uniform noise of one Q step"  # type: ignore[arg-type]

        def forward(model: DarknetModel, images: torch.Tensor, iteration: int) -> torch.Tensor:
            return back(layer(front(images), iteration))

    history = train(model, dataset, settings, out / "checkpoint.pt", forward=forward, log=log)
    write_atomic(out / "model.cfg", write_cfg(model.config).encode())
    save_weights(model, out / "model.weights", seen=config.iterations * config.batch_size)
    write_atomic(out / "history.json", (json.dumps(history) + "\n").encode())
    meta = {"config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()},
            "codec": codec, "budget_images": config.iterations * config.batch_size,
            "device": str(training_device(config.device))}
    write_atomic(out / "meta.json", (json.dumps(meta, indent=1) + "\n").encode())
    _plot(history, out / "loss.png", config)
    return out


def _plot(history: list[dict], path: Path, config: TrainConfig) -> None:
    from cfc_ref.plotting import pyplot

    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = [h["iteration"] for h in history]
    losses = [h["loss"] for h in history]
    window = max(1, len(losses) // 50)
    smooth = [sum(losses[max(0, i - window): i + 1]) / len(losses[max(0, i - window): i + 1])
              for i in range(len(losses))]
    ax.plot(steps, losses, alpha=0.3, label="loss per image")
    ax.plot(steps, smooth, label="moving average")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("region loss per image (log scale)")
    ax.set_title(f"{config.split or 'no split'}, {config.mode}, {config.iterations}×{config.batch_size}", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    from cfc_ref.plotting import save_figure

    save_figure(fig, path)
    plt.close(fig)


def with_overrides(config: TrainConfig, **changes: object) -> TrainConfig:
    changed = replace(config, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]
    return check_train_config(changed, "training config with command-line overrides")
