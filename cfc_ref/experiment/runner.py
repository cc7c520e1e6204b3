"""The sweep runner (paper §4): split points × bit depths × codec settings plus the cloud-only baseline.

Work comes in independent jobs — one image × one split (all of that split's settings, so the front end runs once per
image and split) or one image × the cloud-only uploads. Each (image, setting) result is written atomically to
``<output>/units/<setting>/<image>.json``; a rerun skips what exists, so a run killed at any moment loses nothing
finished. Bitstreams are cached by content (H-6.1) and every fresh encode is logged to ``<output>/encode-log.txt``,
which is how the tests show that a resumed run repeats no encode.

The executor is pluggable: anything with ``map(function, jobs)`` — ``SerialExecutor``, ``LocalPoolExecutor``
(processes on this machine, the default), or an adapter over Ray or Dask for sweeps larger than one machine (the
function and jobs are plain picklable values; results land in files, so workers only need a shared ``output``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from PIL import Image

from cfc_ref.baseline import jpeg_upload, original_upload
from cfc_ref.codecs.hevc import decode_picture, encode_picture, encoder_name
from cfc_ref.codecs.hevc.batch import BitstreamCache, cache_key
from cfc_ref.container import TensorRecord, pack
from cfc_ref.detector.detect import voc_detections
from cfc_ref.detector.image import network_input
from cfc_ref.detector.model import DarknetModel
from cfc_ref.detector.split import split
from cfc_ref.experiment.config import ExperimentConfig, Setting, settings_of
from cfc_ref.fileio import write_atomic
from cfc_ref.metrics.files import image_ids
from cfc_ref.pipeline import EncodeSettings, from_picture, to_picture

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
        with ProcessPoolExecutor(self.workers, initializer=initializer, initargs=initargs) as pool:
            yield from pool.map(function, jobs)


# ------------------------------------------------------------------ files


def write_json_atomic(path: Path, data: object) -> None:
    write_atomic(path, json.dumps(data).encode())


def unit_path(output: Path, setting: Setting, image: str) -> Path:
    return output / "units" / setting.key / f"{image}.json"


# ------------------------------------------------------------------ the model and data, once per process


def load_model(config: ExperimentConfig) -> DarknetModel:
    if config.model == "embedded":
        from cfc_ref.experiment.embedded import load_embedded_model

        return load_embedded_model()
    from cfc_ref.detector.cfg import load_cfg
    from cfc_ref.detector.weights import load_weights

    model = DarknetModel(load_cfg(config.cfg))
    load_weights(model, config.weights)
    return model.eval()


def classes_of(config: ExperimentConfig) -> tuple[str, ...]:
    from cfc_ref.metrics.voc import VOC_CLASSES

    return config.classes or VOC_CLASSES


@dataclass
class _WorkerState:
    config: ExperimentConfig
    model: DarknetModel
    cache: BitstreamCache
    encoder_id: str
    codec_seconds: float = 0.0  # encode + decode (and JPEG) time, for the overhead benchmark
    model_seconds: float = 0.0


_STATE: _WorkerState | None = None


def init_worker(config: ExperimentConfig, threads: int = 1) -> None:
    global _STATE
    torch.set_num_threads(threads)
    output = Path(config.output)
    _STATE = _WorkerState(config, load_model(config), BitstreamCache(output / "cache" / "bitstreams"),
                          encoder_name(config.encoder))  # type: ignore[arg-type]


# ------------------------------------------------------------------ one job


def _coded_tensor(state: _WorkerState, name: str, v: np.ndarray, settings: EncodeSettings, quality: str | int
                  ) -> tuple[np.ndarray, TensorRecord, str]:
    """One transmitted tensor through the pipeline's mobile and cloud sides, with the HEVC encode and decode cached
    by content (H-6.1). Returns the decoded features, the wire record, and the decoder that ran ("cache" if none)."""
    config, output = state.config, Path(state.config.output)
    picture, side = to_picture(v, settings)
    key = cache_key(picture, settings.bit_depth, quality, state.encoder_id)  # type: ignore[arg-type]
    stream = state.cache.get(key)
    if stream is None:
        began = time.perf_counter()
        stream = encode_picture(picture, settings.bit_depth, quality, config.encoder,  # type: ignore[arg-type]
                                decoder=config.decoder)  # the lossless check (H-5.2) decodes as the run does
        state.codec_seconds += time.perf_counter() - began
        state.cache.put(key, stream)
        with open(output / "encode-log.txt", "a") as log:  # one short line per fresh encode (O_APPEND)
            log.write(f"{key}\n")
    decoded_path = output / "cache" / "decoded" / f"{hashlib.sha256(stream).hexdigest()}.npy"
    decoder = "cache"
    if decoded_path.exists():
        decoded = np.load(decoded_path)
    else:
        began = time.perf_counter()
        decoded, decoder = decode_picture(stream, picture.shape, settings.bit_depth, config.decoder)
        state.codec_seconds += time.perf_counter() - began
        buffer = io.BytesIO()
        np.save(buffer, decoded)
        write_atomic(decoded_path, buffer.getvalue())
    shape = (int(v.shape[0]), int(v.shape[1]), int(v.shape[2]))
    record = TensorRecord(name, shape, settings.bit_depth, settings.layout, settings.align, "hevc", side, stream)
    return from_picture(decoded, shape, side, settings), record, decoder


def _load_image(config: ExperimentConfig, image: str) -> tuple[np.ndarray, Path]:
    path = Path(config.dataset_root) / "JPEGImages" / f"{image}.jpg"
    return np.asarray(Image.open(path).convert("RGB")), path


@torch.no_grad()
def run_job(job: tuple[str, str]) -> tuple[int, float, float, float]:
    """Compute every missing setting of one (image, group) job.

    Returns (units written, wall seconds, codec seconds, model seconds)."""
    assert _STATE is not None, "init_worker() first"
    state = _STATE
    began = time.perf_counter()
    codec_before, model_before = state.codec_seconds, state.model_seconds
    written = _run_job(state, job)
    return (written, time.perf_counter() - began, state.codec_seconds - codec_before,
            state.model_seconds - model_before)


def _timed_model(state: _WorkerState, function: Callable, *args: object):  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    out = function(*args)
    state.model_seconds += time.perf_counter() - began
    return out


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
        tensors = _timed_model(state, front, x)
    for setting in todo:
        if setting.kind == "split":
            assert back is not None
            quality: str | int = "lossless" if setting.quality == "lossless" else int(setting.quality[2:])
            settings = EncodeSettings(setting.bit_depth, layout=config.layout)  # type: ignore[arg-type]
            decoded, records, decoders = {}, [], set()
            for name, tensor in tensors.items():
                v_hat, record, decoder = _coded_tensor(state, name, tensor[0].numpy(), settings, quality)
                decoded[name] = torch.from_numpy(v_hat)[None]
                records.append(record)
                decoders.add(decoder)
            raw = _timed_model(state, back, decoded)
            payload = sum(len(r.payload) for r in records)
            side = sum(r.side_info.nbytes for r in records)
            container = len(pack(records))
            bits = {"payload_bytes": payload, "side_info_bytes": side, "container_bytes": container,
                    "kbits": 8 * (payload + side) / 1000}
            codec = {"encoder": state.encoder_id, "decoders": sorted(decoders)}
        else:
            began = time.perf_counter()
            if setting.quality == "original":
                upload = original_upload(path)
            else:
                upload = jpeg_upload(pixels, int(setting.quality[4:]))
            state.codec_seconds += time.perf_counter() - began
            x = torch.from_numpy(network_input(upload.image, model.config.width, model.config.height))[None]
            raw = _timed_model(state, model, x)
            bits = {"payload_bytes": len(upload.payload), "side_info_bytes": 0, "container_bytes": 0,
                    "kbits": upload.bits / 1000}
            codec = {"encoder": upload.method, "decoders": ["Pillow"]}
        detections = _timed_model(state, voc_detections, raw, model.region, image, width, height, classes)
        write_json_atomic(unit_path(output, setting, image), {
            "image": image, "setting": setting.key, "bits": bits, "codec": codec,
            "detections": [[d.cls, d.score, *d.box] for d in detections]})
    return len(todo)


# ------------------------------------------------------------------ the whole run


def prepare_dataset(config: ExperimentConfig) -> list[str]:
    root = Path(config.dataset_root)
    if config.dataset_kind == "synthetic":
        from cfc_ref.data.synthetic import write_dataset

        write_dataset(root, train=0, test=config.synthetic_test_images)
    ids = image_ids(root, config.image_set)
    return ids[: config.limit] if config.limit else ids


def jobs_of(config: ExperimentConfig, images: list[str]) -> list[tuple[str, str]]:
    return [(image, group) for image in images for group in (*config.splits, "cloud")]


@dataclass
class RunTiming:
    """Seconds summed over jobs: their wall time, and the codec and model time inside them."""

    jobs: float = 0.0
    codec: float = 0.0
    model: float = 0.0

    @property
    def overhead(self) -> float:
        """The runner's own share of job time (everything but codec and model)."""
        return (self.jobs - self.codec - self.model) / self.jobs if self.jobs else 0.0


LAST_TIMING = RunTiming()


def run(config: ExperimentConfig, executor: Executor | None = None, progress: bool = True) -> Path:
    """Run (or resume) the sweep and aggregate; returns the path of results.json."""
    from cfc_ref.experiment.aggregate import aggregate

    output = Path(config.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "config.json").write_text(config.to_json())
    images = prepare_dataset(config)
    jobs = jobs_of(config, images)
    workers = min(config.workers or os.cpu_count() or 1, len(jobs))
    if executor is None:
        executor = SerialExecutor() if workers <= 1 else LocalPoolExecutor(workers)
    results = executor.map(run_job, jobs, init_worker, (config, 1))
    if progress:
        from cfc_ref.progress import progress as show_progress

        results = show_progress(results, len(jobs), f"{config.name}: image × split jobs", "job")
    timing = RunTiming()
    for _, wall, codec, model in results:
        timing.jobs += wall
        timing.codec += codec
        timing.model += model
    LAST_TIMING.jobs, LAST_TIMING.codec, LAST_TIMING.model = timing.jobs, timing.codec, timing.model
    return aggregate(config, images)
