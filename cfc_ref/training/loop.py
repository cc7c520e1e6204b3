"""The training loop: region loss (spec D-6.2), Adam or SGD with warm-up and step decay, flip augmentation,
checkpoints, resumable, deterministic for a seed on one device.

    train(model, dataset, TrainSettings(iterations=3000), checkpoint="run/ckpt.pt")
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from cfc_ref.detector.loss import region_loss
from cfc_ref.detector.model import DarknetModel
from cfc_ref.errors import TrainingError
from cfc_ref.training.data import collate, horizontal_flip


@dataclass(frozen=True)
class TrainSettings:
    iterations: int = 3000
    batch_size: int = 16
    learning_rate: float = 1e-3
    optimizer: str = "adam"  # or "sgd" (momentum 0.9, weight decay 5e-4, as Darknet)
    warmup: int = 200  # Darknet's burn_in: lr · (i / warmup)^4
    steps: tuple[float, ...] = (0.7, 0.9)  # fractions of the run where lr is multiplied by 0.1
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 250


def learning_rate(settings: TrainSettings, iteration: int) -> float:
    rate = settings.learning_rate
    if iteration < settings.warmup:
        rate *= (iteration / settings.warmup) ** 4
    for fraction in settings.steps:
        if iteration >= fraction * settings.iterations:
            rate *= 0.1
    return rate


def _optimizer(model: torch.nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    if settings.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    if settings.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=settings.learning_rate, momentum=0.9, weight_decay=5e-4)
    raise TrainingError(f"optimizer must be adam or sgd, got {settings.optimizer!r}")


CHECKPOINT_KEYS = ("model", "optimizer", "rng", "iteration", "history", "settings")


def load_checkpoint(path: Path, device: torch.device) -> dict:
    """A checkpoint written by :func:`train`, loaded as data only: tensors, numbers, strings, lists and dicts
    (``weights_only``), so a checkpoint in a shared directory cannot run code."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # noqa: BLE001 - whatever torch.load raises on a file that is not a checkpoint
        first = (str(err).splitlines() or [type(err).__name__])[0][:200]
        raise TrainingError(f"{path}: not a cfc-ref checkpoint ({first or type(err).__name__})") from None
    if not isinstance(state, dict) or any(key not in state for key in CHECKPOINT_KEYS):
        raise TrainingError(f"{path}: not a cfc-ref checkpoint (expected the keys {', '.join(CHECKPOINT_KEYS)})")
    return state


def _save(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".partial")
    torch.save(state, tmp)
    os.replace(tmp, path)  # a checkpoint is complete or absent


ForwardHook = Callable[[DarknetModel, torch.Tensor, int], torch.Tensor]


def default_forward(model: DarknetModel, images: torch.Tensor, iteration: int) -> torch.Tensor:
    return model(images)


def train(model: DarknetModel, dataset: torch.utils.data.Dataset, settings: TrainSettings,
          checkpoint: str | Path | None = None, forward: ForwardHook = default_forward,
          log: Callable[[str], None] = print) -> list[dict]:
    """Train in place; returns the loss history. With ``checkpoint``, resumes from it if present."""
    torch.manual_seed(settings.seed)
    device = next(model.parameters()).device
    optimizer = _optimizer(model, settings)
    history: list[dict] = []
    start = 0
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt is not None and ckpt.exists():
        state = load_checkpoint(ckpt, device)
        if state["settings"] != json.loads(json.dumps(asdict(settings))):
            raise TrainingError(f"{ckpt} was written with other settings; use another checkpoint path")
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["rng"])
        except (RuntimeError, ValueError, KeyError, TypeError) as err:
            raise TrainingError(f"{ckpt}: does not fit this model ({str(err).splitlines()[0]})") from None
        start, history = state["iteration"], state["history"]
        log(f"resumed from {ckpt} at iteration {start}")
    model.train()
    seen = start * settings.batch_size
    began = time.time()
    for iteration in range(start, settings.iterations):
        order = torch.randint(0, len(dataset), (settings.batch_size,),  # type: ignore[arg-type]
                              generator=torch.Generator().manual_seed(settings.seed * 1_000_003 + iteration))
        images, targets = collate([dataset[int(i)] for i in order])
        flips = torch.rand(settings.batch_size, generator=torch.Generator().manual_seed(iteration + 7)) < 0.5
        images, targets = horizontal_flip(images, targets, flips)
        images = images.to(device)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(settings, iteration)
        raw = forward(model, images, iteration)
        loss = region_loss(raw, [t.to(device) for t in targets], model.region, seen)
        optimizer.zero_grad(set_to_none=True)
        (loss.total / settings.batch_size).backward()
        optimizer.step()
        seen += settings.batch_size
        record = {"iteration": iteration + 1, "loss": loss.total.item() / settings.batch_size,
                  "recall": loss.recall, "iou": loss.average_iou, "lr": learning_rate(settings, iteration)}
        history.append(record)
        if (iteration + 1) % settings.log_every == 0 or iteration + 1 == settings.iterations:
            rate = (iteration + 1 - start) * settings.batch_size / max(time.time() - began, 1e-9)
            log(json.dumps({**record, "images_per_second": round(rate, 1)}))
        if ckpt is not None and ((iteration + 1) % settings.checkpoint_every == 0
                                 or iteration + 1 == settings.iterations):
            _save(ckpt, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "rng": torch.get_rng_state(), "iteration": iteration + 1, "history": history,
                         "settings": json.loads(json.dumps(asdict(settings)))})  # lists, not tuples
    model.eval()
    return history
