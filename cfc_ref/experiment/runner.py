"""The sweep runner (paper §4; spec/experiment.md): split points × bit depths × codec settings plus the cloud-only
baseline.

Every (image, setting) unit takes the one data path of the package (E-1.1): the front end, then the pipeline's mobile
side (Q-layer, tiling, HEVC, container bytes), then its cloud side (strict parse, decode, untile, de-quantize), then
the back end; its bits are counted from the container the cloud side parsed. Work comes in jobs of one image × one
split (so the front end runs once per image and split) or one image × the cloud-only uploads; each unit is written
atomically to ``<output>/units/<setting>/<image>.json`` and a resumed run skips what exists (E-4). Bitstreams are
cached by content around the codec (H-6.1), and every fresh encode is logged to ``<output>/encode-log.txt``.

The executor is pluggable: anything with ``map(function, jobs, initializer, initargs)`` — ``SerialExecutor``,
``LocalPoolExecutor`` (processes on this machine, the default).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from PIL import Image

from cfc_ref.baseline import hevc_rgb_upload, jpeg_upload, original_upload
from cfc_ref.codecs.hevc import HevcCodec, encoder_name
from cfc_ref.codecs.hevc.batch import BitstreamCache, CachedCodec
from cfc_ref.detector.detect import voc_detections
from cfc_ref.detector.image import network_input
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.split import split
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, Setting, classes_of, settings_of, split_points_of
from cfc_ref.experiment.models import load_model, model_files
from cfc_ref.experiment.units import Unit, UnitBits, unit_path, write_unit
from cfc_ref.metrics.files import image_ids
from cfc_ref.pipeline import EncodeSettings, decode_container, encode_features

# ------------------------------------------------------------------ executors


class Executor(Protocol):
    """Runs ``function`` on every job, after ``initializer(*initargs)`` in each worker; results in any order."""

    def map(self, function: Callable, jobs: list, initializer: Callable, initargs: tuple) -> Iterable: ...


class SerialExecutor:
    """In this process, one job after another (all torch threads)."""

    def map(self, function: Callable, jobs: list, initializer: Callable, initargs: tuple) -> Iterator:
        initializer(*initargs[:1], torch.get_num_threads())
        return (function(job) for job in jobs)


class LocalPoolExecutor:
    """Processes on this machine; each worker loads the model once and uses one torch thread."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def map(self, function: Callable, jobs: list, initializer: Callable, initargs: tuple) -> Iterator:
        try:
            with ProcessPoolExecutor(self.workers, initializer=initializer, initargs=initargs) as pool:
                yield from pool.map(function, jobs)
        except BrokenProcessPool as err:  # E-6.1: a worker that died (or failed to start) is one line
            raise CfcError(f"a worker process died ({err}); finished units are kept, run again to resume") from None


# ------------------------------------------------------------------ the model, once per process


@dataclass
class _WorkerState:
    config: ExperimentConfig
    model: DarknetModel
    cache: BitstreamCache
    encoder_id: str
    codec_seconds: float = 0.0  # the pipeline's coding (Q-layer … container and back) and JPEG, for the benchmark
    model_seconds: float = 0.0


_STATE: _WorkerState | None = None


def init_worker(config: ExperimentConfig, threads: int = 1) -> None:
    global _STATE
    torch.set_num_threads(threads)
    output = Path(config.output)
    _STATE = _WorkerState(config, load_model(config), BitstreamCache(output / "cache" / "bitstreams"),
                          encoder_name(config.encoder))  # type: ignore[arg-type]


# ------------------------------------------------------------------ one job


def _load_image(config: ExperimentConfig, image: str) -> tuple[np.ndarray, Path]:
    path = Path(config.dataset_root) / "JPEGImages" / f"{image}.jpg"
    try:
        with Image.open(path) as opened:
            return np.asarray(opened.convert("RGB")), path
    except (OSError, Image.DecompressionBombError) as err:
        raise CfcError(f"{path}: not a readable image ({err})") from None


@dataclass(frozen=True)
class JobResult:
    units: int
    wall: float
    codec: float
    model: float
    corrupt_cache_entries: int


@torch.no_grad()
def run_job(job: tuple[str, str]) -> JobResult:
    """Compute every missing setting of one (image, group) job."""
    assert _STATE is not None, "init_worker() first"
    state = _STATE
    began = time.perf_counter()
    codec_before, model_before, corrupt_before = state.codec_seconds, state.model_seconds, state.cache.corrupt
    written = _run_job(state, job)
    return JobResult(written, time.perf_counter() - began, state.codec_seconds - codec_before,
                     state.model_seconds - model_before, state.cache.corrupt - corrupt_before)


def _timed(state: _WorkerState, what: str, function: Callable, *args: object):  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    out = function(*args)
    if what == "model":
        state.model_seconds += time.perf_counter() - began
    else:
        state.codec_seconds += time.perf_counter() - began
    return out


def _log_encode(output: Path) -> Callable[[str], None]:
    def log(key: str) -> None:
        with open(output / "encode-log.txt", "a") as fh:  # one short line per fresh encode (O_APPEND)
            fh.write(f"{key}\n")

    return log


def coded_tensors(setting: Setting, crossing: list[str]) -> list[str]:
    """E-7.1: ``deployable`` codes every tensor that crosses the split; ``paper`` only the split layer's own."""
    return list(crossing) if setting.accounting == "deployable" else [setting.split]


def split_unit(state: _WorkerState, image: str, setting: Setting, tensors: dict[str, torch.Tensor]
               ) -> tuple[dict[str, torch.Tensor], Unit]:
    """E-1.1: the coded tensors through the pipeline's mobile side to container bytes, and back through its cloud
    side; returns the back end's inputs and the unit (bits counted from the parsed container). Under ``paper``
    accounting the other crossing tensors reach the back end as they are (E-7.1)."""
    config = state.config
    codec = CachedCodec(HevcCodec(setting.codec_quality, config.encoder, config.decoder),  # type: ignore[arg-type]
                        state.cache, _log_encode(Path(config.output)))
    settings = EncodeSettings(setting.bit_depth, layout=config.layout, codec=codec)  # type: ignore[arg-type]
    coded = coded_tensors(setting, list(tensors))
    features = {name: tensors[name][0].numpy() for name in coded}
    data = _timed(state, "codec", encode_features, features, settings)  # mobile side: the bytes on the uplink
    cloud = _timed(state, "codec", decode_container, data, config.decoder)  # cloud side: what it parses
    bits = UnitBits(cloud.bits.payload_bytes, cloud.bits.side_info_bytes, cloud.bits.container_bytes)
    received = {name: torch.from_numpy(v)[None] for name, v in cloud.features.items()}
    uncoded = tuple(name for name in tensors if name not in coded)
    received.update({name: tensors[name] for name in uncoded})  # not deployable: never sent, not counted
    samples = sum(int(v.size) for v in features.values())
    return received, Unit(image, setting.key, bits, state.encoder_id, tuple(sorted(set(cloud.decoders.values()))),
                          (), samples, uncoded)


def _run_job(state: _WorkerState, job: tuple[str, str]) -> int:
    config, model, output = state.config, state.model, Path(state.config.output)
    image, group = job
    todo = [s for s in settings_of(config) if (s.split == group if s.kind == "split" else group == "cloud")
            and not unit_path(output, s, image).exists()]
    if not todo:
        return 0
    pixels, path = _load_image(config, image)
    height, width = pixels.shape[:2]
    classes = classes_of(config)
    tensors: dict[str, torch.Tensor] = {}
    back = None
    if group != "cloud":
        front, back = split(model, group)
        x = torch.from_numpy(network_input(pixels, model.config.width, model.config.height))[None]
        tensors = _timed(state, "model", front, x)
    for setting in todo:
        if setting.kind == "split":
            assert back is not None
            decoded, unit = split_unit(state, image, setting, tensors)
            raw = _timed(state, "model", back, decoded)
        else:
            if setting.upload == "original":
                upload = _timed(state, "codec", original_upload, path)
            elif setting.upload == "hevc":
                upload = _timed(state, "codec", hevc_rgb_upload, pixels, setting.qp)
            else:
                upload = _timed(state, "codec", jpeg_upload, pixels, setting.jpeg_quality)
            x = torch.from_numpy(network_input(upload.image, model.config.width, model.config.height))[None]
            raw = _timed(state, "model", model, x)
            unit = Unit(image, setting.key, UnitBits(len(upload.payload), 0, 0), upload.method, ("Pillow",), ())
        detections = _timed(state, "model", voc_detections, raw, model.region, image, width, height, classes)
        unit = replace(unit, detections=tuple((d.cls, d.score, *d.box) for d in detections))
        write_unit(output, setting, unit)
    return len(todo)


# ------------------------------------------------------------------ the whole run


def prepare_dataset(config: ExperimentConfig) -> list[str]:
    """The images of the run; the synthetic set is written once (files already there are left alone, E-3.2)."""
    root = Path(config.dataset_root)
    if config.dataset_kind == "synthetic":
        from cfc_ref.data.synthetic import write_dataset

        write_dataset(root, train=0, test=config.synthetic_test_images)
    ids = image_ids(root, config.image_set)
    return ids[: config.limit] if config.limit else ids


def jobs_of(config: ExperimentConfig, images: list[str]) -> list[tuple[str, str]]:
    return [(image, group) for image in images for group in (*split_points_of(config), "cloud")]


@dataclass
class RunTiming:
    """Seconds summed over jobs: their wall time, and the codec and model time inside them."""

    jobs: float = 0.0
    codec: float = 0.0
    model: float = 0.0
    corrupt_cache_entries: int = 0  # cache entries that failed their check and were encoded again (E-3.3)

    @property
    def overhead(self) -> float:
        """The runner's own share of job time (everything but codec and model)."""
        return (self.jobs - self.codec - self.model) / self.jobs if self.jobs else 0.0


LAST_TIMING = RunTiming()


def _check_splits(config: ExperimentConfig, model: DarknetModel) -> None:
    from cfc_ref.detector.split import split_point

    for name in split_points_of(config):
        split_point(model.config, name)  # a DarknetError naming the split point and the layer there


def run(config: ExperimentConfig, executor: Executor | None = None, progress: bool = True) -> Path:
    """Run (or resume) the sweep and aggregate; returns the path of results.json.

    Under a lock on the output directory (E-3.1), after checking its fingerprint (E-2.2); the model is loaded here
    first, so that a bad cfg or weights file is one error before any worker starts (E-6.1)."""
    from cfc_ref.experiment.aggregate import aggregate
    from cfc_ref.experiment.fingerprint import check_or_record, fingerprint, run_lock
    from cfc_ref.fileio import write_atomic

    output = Path(config.output)
    with run_lock(output):
        _check_splits(config, load_model(config))
        images = prepare_dataset(config)
        if not images:
            raise CfcError(f"{config.dataset_root}: the image set {config.image_set!r} is empty")
        check_or_record(output, fingerprint(config, model_files(config), images))
        write_atomic(output / "config.json", config.to_json().encode())
        jobs = jobs_of(config, images)
        workers = min(config.workers or os.cpu_count() or 1, len(jobs))
        if executor is None:
            executor = SerialExecutor() if workers <= 1 else LocalPoolExecutor(workers)
        results: Iterable[JobResult] = executor.map(run_job, jobs, init_worker, (config, 1))
        if progress:
            from cfc_ref.progress import progress as show_progress

            results = show_progress(results, len(jobs), f"{config.name}: image × split jobs", "job")
        timing = RunTiming()
        for result in results:
            timing.jobs += result.wall
            timing.codec += result.codec
            timing.model += result.model
            timing.corrupt_cache_entries += result.corrupt_cache_entries
        LAST_TIMING.__dict__.update(timing.__dict__)
        if timing.corrupt_cache_entries:
            import sys

            print(f"cfc-ref: {timing.corrupt_cache_entries} damaged cache entries were found and encoded again",
                  file=sys.stderr)
        return aggregate(config, images)
