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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from cfc_ref.codecs.hevc import HevcCodec, encoder_name
from cfc_ref.codecs.hevc.batch import BitstreamCache, CachedCodec
from cfc_ref.detector.model import DarknetModel
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, Setting, classes_of, settings_of, split_points_of
from cfc_ref.experiment.models import inference_model, load_model, model_files
from cfc_ref.experiment.stages import (
    back_detections,
    cloud_detections,
    cloud_unit,
    cloud_upload,
    code_unit,
    decode_image,
    front_features,
)
from cfc_ref.experiment.units import unit_path, write_unit
from cfc_ref.metrics.files import image_ids

# ------------------------------------------------------------------ executors


class Executor(Protocol):
    """Runs ``function`` on every job, after ``initializer(*initargs)`` in each worker; results in any order."""

    def map(self, function: Callable, jobs: list, initializer: Callable, initargs: tuple) -> Iterable: ...


class SerialExecutor:
    """In this process, one job after another.

    Every engine computes a unit with one torch thread: float32 sums can depend on how a kernel splits its work
    across threads, and a unit's numbers must not depend on the engine or the worker count (spec E-8.2)."""

    def map(self, function: Callable, jobs: list, initializer: Callable, initargs: tuple) -> Iterator:
        threads = torch.get_num_threads()
        initializer(*initargs)
        try:
            yield from (function(job) for job in jobs)
        finally:
            torch.set_num_threads(threads)


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
    model = inference_model(load_model(config), config)
    _STATE = _WorkerState(config, model, BitstreamCache(output / "cache" / "bitstreams"),
                          encoder_name(config.encoder))  # type: ignore[arg-type]


# ------------------------------------------------------------------ one job


def image_path(config: ExperimentConfig, image: str) -> Path:
    return Path(config.dataset_root) / "JPEGImages" / f"{image}.jpg"


def read_image_bytes(config: ExperimentConfig, image: str) -> bytes:
    path = image_path(config, image)
    try:
        return path.read_bytes()
    except OSError as err:
        raise CfcError(f"{path}: cannot read ({err.strerror})") from None


@dataclass(frozen=True)
class JobResult:
    units: int
    wall: float
    codec: float
    model: float
    corrupt_cache_entries: int
    failures: tuple[tuple[str, str], ...] = ()  # (unit key "<setting>/<image>", message) of units that failed


@torch.no_grad()
def run_job(job: tuple[str, str]) -> JobResult:
    """Compute every missing setting of one (image, group) job; a CfcError fails the job's units, not the sweep."""
    assert _STATE is not None, "init_worker() first"
    state = _STATE
    began = time.perf_counter()
    codec_before, model_before, corrupt_before = state.codec_seconds, state.model_seconds, state.cache.corrupt
    failures: tuple[tuple[str, str], ...] = ()
    try:
        written = _run_job(state, job)
    except CfcError as err:  # E-4.2: this job's remaining units fail with the message; the sweep goes on
        written = 0
        failures = tuple((f"{s.key}/{job[0]}", str(err)) for s in todo_settings(state.config, job))
    return JobResult(written, time.perf_counter() - began, state.codec_seconds - codec_before,
                     state.model_seconds - model_before, state.cache.corrupt - corrupt_before, failures)


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


def todo_settings(config: ExperimentConfig, job: tuple[str, str]) -> list[Setting]:
    """The settings of an (image, group) job whose unit file is not there yet."""
    image, group = job
    output = Path(config.output)
    return [s for s in settings_of(config) if (s.split == group if s.kind == "split" else group == "cloud")
            and not unit_path(output, s, image).exists()]


def _run_job(state: _WorkerState, job: tuple[str, str]) -> int:
    config, model, output = state.config, state.model, Path(state.config.output)
    image, group = job
    todo = todo_settings(config, job)
    if not todo:
        return 0
    data = read_image_bytes(config, image)
    pixels = decode_image(data, str(image_path(config, image)))
    classes = classes_of(config)
    features = _timed(state, "model", front_features, model, group, pixels) if group != "cloud" else {}
    for setting in todo:
        if setting.kind == "split":
            codec = CachedCodec(HevcCodec(setting.codec_quality, config.encoder, config.decoder),  # type: ignore[arg-type]
                                state.cache, _log_encode(output))
            received, coding = _timed(state, "codec", code_unit, config, setting, features, codec)
            detections = _timed(state, "model", back_detections, model, group, received, image, pixels.shape,
                                classes)
            unit = coding.unit(image, setting, state.encoder_id, detections)
        else:
            upload = _timed(state, "codec", cloud_upload, setting, pixels, data)
            detections = _timed(state, "model", cloud_detections, model, upload, image, pixels.shape, classes)
            unit = cloud_unit(upload, image, setting, detections)
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


class SweepIncomplete(CfcError):
    """Some units failed (spec E-4.2); the others are kept, and ``failed.json`` lists the failed ones."""


@contextmanager
def prepared(config: ExperimentConfig, device_here: bool = True) -> Iterator[list[str]]:
    """What every engine does before its sweep, under the directory's lock (E-3.1): the model loaded and the split
    points checked before any worker starts (E-6.1), the dataset, the fingerprint (E-2.2), config.json."""
    from cfc_ref.experiment.fingerprint import check_or_record, fingerprint, run_lock
    from cfc_ref.fileio import write_atomic

    output = Path(config.output)
    with run_lock(output):
        if device_here and config.device != "cpu" and not torch.cuda.is_available():
            raise CfcError(f"device {config.device!r}: no CUDA device here (device 'cpu' runs anywhere)")
        _check_splits(config, load_model(config))
        images = prepare_dataset(config)
        if not images:
            raise CfcError(f"{config.dataset_root}: the image set {config.image_set!r} is empty")
        check_or_record(output, fingerprint(config, model_files(config), images))
        write_atomic(output / "config.json", config.to_json().encode())
        (output / "failed.json").unlink(missing_ok=True)
        yield images


def finish(config: ExperimentConfig, images: list[str], timing: RunTiming,
           failures: list[tuple[str, str]]) -> Path:
    """What every engine does after its sweep: report damaged cache entries, stop on failed units (E-4.2), else
    aggregate (E-5)."""
    import json
    import sys

    from cfc_ref.experiment.aggregate import aggregate
    from cfc_ref.fileio import write_atomic

    LAST_TIMING.__dict__.update(timing.__dict__)
    if timing.corrupt_cache_entries:
        print(f"cfc-ref: {timing.corrupt_cache_entries} damaged cache entries were found and encoded again",
              file=sys.stderr)
    if failures:
        failures = sorted(failures)
        path = Path(config.output) / "failed.json"
        write_atomic(path, (json.dumps([{"unit": u, "error": m} for u, m in failures], indent=1) + "\n").encode())
        shown = ", ".join(u for u, _ in failures[:3]) + (f" and {len(failures) - 3} more" if len(failures) > 3 else "")
        raise SweepIncomplete(f"{len(failures)} units failed ({shown}: {failures[0][1]}); the others are kept, "
                              f"{path} lists them; fix the cause and run again to finish")
    return aggregate(config, images)


def run(config: ExperimentConfig, executor: Executor | None = None, progress: bool = True) -> Path:
    """Run (or resume) the sweep with the local engine and aggregate; returns the path of results.json."""
    with prepared(config) as images:
        jobs = jobs_of(config, images)
        workers = min(config.workers or os.cpu_count() or 1, len(jobs))
        if executor is None:
            executor = SerialExecutor() if workers <= 1 else LocalPoolExecutor(workers)
        results: Iterable[JobResult] = executor.map(run_job, jobs, init_worker, (config, 1))
        if progress:
            from cfc_ref.progress import progress as show_progress

            results = show_progress(results, len(jobs), f"{config.name}: image × split jobs", "job")
        timing, failures = RunTiming(), list[tuple[str, str]]()
        for result in results:
            timing.jobs += result.wall
            timing.codec += result.codec
            timing.model += result.model
            timing.corrupt_cache_entries += result.corrupt_cache_entries
            failures += result.failures
        return finish(config, images, timing, failures)
