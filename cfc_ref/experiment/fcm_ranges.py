"""FCM's fixed ranges of a model (spec E-14.3, Q-7.1): the minimum and maximum of each tensor a sweep codes, over
images the test never sees — the per-dataset table the FCM platforms configure (CompressAI-Vision's
``MIN_MAX_DATASET``).

    ranges = dataset_ranges(embedded_default(), images=200)     # {"max_11": (lo, hi), "max_17": ..., ...}

For the embedded default the images are the first ``images`` of the synthetic *training* set (generated, never
written); ``tools/fcm_ranges.py`` prints them for a config and pins the embedded default's (``--write``).
"""

from __future__ import annotations

import json

import numpy as np

from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig

RANGE_IMAGES = 200  # E-14.3: the first 200 training images


def coded_tensors_of(config: ExperimentConfig) -> list[str]:
    """Every tensor the sweep codes at the split points of ``splits`` (D-5.1's crossing names), in order."""
    from cfc_ref.experiment.config import crossing_of

    crossing = crossing_of(config)
    return list(dict.fromkeys(t for split in config.splits for t in crossing[split]))


def _training_pixels(config: ExperimentConfig, images: int):  # type: ignore[no-untyped-def]
    """The training images a range is taken over, as H×W×3 uint8 (synthetic: generated; VOC: trainval)."""
    if config.dataset_kind == "synthetic":
        from cfc_ref.data.synthetic import make_sample

        for index in range(images):
            yield make_sample(index, "train").image
        return
    from cfc_ref.data.source import DirectoryVoc, ZipVoc
    from cfc_ref.experiment.stages import decode_image

    source = ZipVoc(config.dataset_root) if str(config.dataset_root).endswith(".zip") else DirectoryVoc(
        config.dataset_root)
    for image in source.ids("trainval")[:images]:
        yield decode_image(source.image_bytes(image), source.describe(image, "image"))


def dataset_ranges(config: ExperimentConfig, images: int = RANGE_IMAGES) -> dict[str, tuple[float, float]]:
    """E-14.3: (min, max) of each coded tensor over the first ``images`` training images, as binary32 values."""
    import torch

    from cfc_ref.experiment.models import load_model

    model = load_model(config)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as a sweep's workers run the network (E-8.2): the same numbers, and far faster here
    try:
        return _ranges(model, config, images)
    finally:
        torch.set_num_threads(threads)


def _ranges(model, config: ExperimentConfig, images: int) -> dict[str, tuple[float, float]]:  # type: ignore[no-untyped-def]
    from cfc_ref.experiment.stages import front_features_all

    low: dict[str, float] = {}
    high: dict[str, float] = {}
    splits = tuple(config.splits)
    for pixels in _training_pixels(config, images):
        for tensors in front_features_all(model, splits, pixels).values():
            for name, tensor in tensors.items():
                low[name] = min(low.get(name, np.inf), float(tensor.min()))
                high[name] = max(high.get(name, -np.inf), float(tensor.max()))
    if not low:
        raise CfcError(f"{config.dataset_root}: no training images to take FCM ranges over")
    return {name: (low[name] + 0.0, high[name] + 0.0) for name in coded_tensors_of(config)}


def ranges_document(ranges: dict[str, tuple[float, float]], images: int) -> str:
    return json.dumps({"what": "FCM ranges of the embedded default (spec E-14.3), written by tools/fcm_ranges.py "
                               "--write", "images": f"the first {images} synthetic training images",
                       "ranges": {name: [lo, hi] for name, (lo, hi) in ranges.items()}}, indent=1) + "\n"
