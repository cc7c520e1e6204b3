"""The sweep runner (paper §4; spec/experiment.md): split points × bit depths × codec settings plus the cloud-only
baseline.

Every (image, setting) unit takes the one data path of the package (E-1.1): the front end, then the pipeline's mobile
side (Q-layer, tiling, HEVC, container bytes), then its cloud side (strict parse, decode, untile, de-quantize), then
the back end; its bits are counted from the container the cloud side parsed. Work comes in jobs of one image and
the settings it still lacks: the front ends of all its split points come from one pass over the layers, and each
setting is coded and detected from them. Workers return units; this process alone records them in the run's
results store (``store.py``, E-9), one transaction per job, so a killed run loses only the jobs in flight and a
resumed one computes only what is missing (E-4). Bitstreams are cached by content around the codec while their unit
is unfinished (one pack per image, ``<output>/cache/<image>.pack``, H-6.1, E-3.3); the store counts fresh encodes per
sweep, and ``$CFC_ENCODE_LOG``, when set, names a file that gets one line per fresh encode (its key).

The executor is pluggable: anything with ``map(function, jobs, initializer, initargs)`` — ``SerialExecutor``,
``LocalPoolExecutor`` (processes on this machine, the default).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import torch

from cfc_ref.codecs.hevc import HevcCodec, encoder_name
from cfc_ref.codecs.hevc.batch import CachedCodec, PackCache
from cfc_ref.data.source import VocSource, open_voc
from cfc_ref.detector.model import DarknetModel
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, Setting, settings_of, split_points_of
from cfc_ref.experiment.models import inference_model, load_model, model_files
from cfc_ref.experiment.stages import (
    back_detections_batch,
    cloud_detections,
    cloud_unit,
    cloud_upload,
    code_unit,
    decode_image,
    front_features_all,
)
from cfc_ref.experiment.store import RunStore
from cfc_ref.experiment.units import Unit
from cfc_ref.fileio import append_line
from cfc_ref.timing import Stopwatch, stage

if TYPE_CHECKING:
    from cfc_ref.progress import JobProgress

CACHE_DIR = "cache"  # <image>.pack: bitstreams of that image's units not recorded yet (E-3.3)
ENCODE_LOG_VARIABLE = "CFC_ENCODE_LOG"  # a file to get one line per fresh HEVC encode (E-4.1 can be checked)

# ------------------------------------------------------------------ executors


class Executor(Protocol):
    """Runs ``function`` on every job, after ``initializer(*initargs)`` in each worker; results in any order."""

    def map(self, function: Callable, jobs: list, initializer: Callable, initargs: tuple) -> Iterable: ...


class SerialExecutor:
    """In this process, one job after another.

    Every engine computes a unit with one torch thread: float32 sums can depend on how a kernel splits its work
    across threads, and a unit's numbers must not depend on the engine or the worker count (spec E-8.2)."""

    workers = 1

    def map(self, function: Callable, jobs: list, initializer: Callable, initargs: tuple) -> Iterator:
        threads = torch.get_num_threads()
        initializer(*initargs)
        try:
            yield from (function(job) for job in jobs)
        finally:
            torch.set_num_threads(threads)
            release_worker()


class LocalPoolExecutor:
    """Processes on this machine (``cfc_ref.processes.worker_pool``: they inherit no open file of this process, end
    with it however it ends, and ignore Ctrl-C, spec E-3.1); each loads the model once and uses one torch thread."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.error_file: Path | None = None

    def map(self, function: Callable, jobs: list, initializer: Callable, initargs: tuple) -> Iterator:
        from cfc_ref.processes import kill_pool, start_error, worker_pool

        pool = worker_pool(self.workers, initializer, initargs, self.error_file)
        try:
            pending = {pool.submit(function, job) for job in jobs}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        except BrokenProcessPool as err:  # E-6.1: a worker that died (or failed to start) is one line
            cause = start_error(self.error_file) if self.error_file else None
            raise CfcError(cause or f"a worker process died ({err}); finished units are kept, run again to "
                           "resume") from None
        finally:
            kill_pool(pool)  # nothing outlives the sweep


# ------------------------------------------------------------------ the model, once per process


@dataclass
class _WorkerState:
    config: ExperimentConfig
    model: DarknetModel
    encoder_id: str
    source: VocSource
    batch: dict[str, int]  # E-1.3: back-end batch size of each split point (its number of settings)


_STATE: _WorkerState | None = None


def init_worker(config: ExperimentConfig, threads: int = 1) -> None:
    global _STATE
    torch.set_num_threads(threads)
    model = inference_model(load_model(config), config)
    _STATE = _WorkerState(config, model, encoder_name(config.encoder),  # type: ignore[arg-type]
                          open_voc(config.dataset_root), back_batches(config))


def back_batches(config: ExperimentConfig) -> dict[str, int]:
    """E-1.3: the back ends of a split point run in batches of its number of settings."""
    sizes: dict[str, int] = {}
    for setting in settings_of(config):
        if setting.kind == "split":
            sizes[setting.split] = sizes.get(setting.split, 0) + 1
    return sizes


def release_worker() -> None:
    global _STATE
    _STATE = None


# ------------------------------------------------------------------ one job


@dataclass(frozen=True)
class JobResult:
    image: str
    units: tuple[Unit, ...]
    failures: tuple[tuple[str, str, str], ...]  # (setting, image, message) of units that failed (E-4.2)
    seconds: dict[str, float]  # per stage (E-10)
    encodes: int = 0  # fresh HEVC encodes (the others came from the image's pack, E-3.3)
    corrupt_cache_entries: int = 0


@torch.no_grad()
def run_job(job: tuple[str, tuple[Setting, ...]]) -> JobResult:
    """Compute the given settings of one image; a CfcError fails the setting it arose in (or every setting, when
    the image itself cannot be read), never the sweep (E-4.2)."""
    assert _STATE is not None, "init_worker() first"
    state = _STATE
    image, todo = job
    watch, encodes = Stopwatch(), [0]
    units: list[Unit] = []
    failures: list[tuple[str, str, str]] = []
    with watch.active():
        try:
            data = state.source.image_bytes(image)
            pixels = decode_image(data, state.source.describe(image, "image"))
            splits = tuple(dict.fromkeys(s.split for s in todo if s.kind == "split"))
            features = front_features_all(state.model, splits, pixels)
        except CfcError as err:
            return JobResult(image, (), tuple((s.key, image, str(err)) for s in todo), watch.as_dict())
        try:
            pack = PackCache(Path(state.config.output) / CACHE_DIR / f"{image}.pack")
        except CfcError as err:
            return JobResult(image, (), tuple((s.key, image, str(err)) for s in todo), watch.as_dict())
        for split_name in splits:  # E-1.3: each split point's settings coded, then one batch of back ends
            group = [s for s in todo if s.kind == "split" and s.split == split_name]
            coded: list[tuple[Setting, dict | None, object]] = []
            for setting in group:
                try:
                    coded.append((setting, *_code(state, setting, features[split_name], pack, encodes)))
                except CfcError as err:
                    failures.append((setting.key, image, str(err)))
            try:
                found = back_detections_batch(state.model, split_name, [r for _, r, _ in coded], pixels.shape,
                                              state.batch[split_name])
            except CfcError as err:
                failures += [(setting.key, image, str(err)) for setting, _, _ in coded]
                continue
            units += [coding.unit(image, setting, state.encoder_id, detections)  # type: ignore[attr-defined]
                      for (setting, _, coding), detections in zip(coded, found, strict=True)]
        for setting in (s for s in todo if s.kind == "cloud"):
            try:
                upload = cloud_upload(setting, pixels, data)
                units.append(cloud_unit(upload, image, setting, cloud_detections(state.model, upload, pixels.shape)))
            except CfcError as err:
                failures.append((setting.key, image, str(err)))
    return JobResult(image, tuple(units), tuple(failures), watch.as_dict(), encodes[0], pack.corrupt)


def _code(state: _WorkerState, setting: Setting, features: dict, pack: PackCache, encodes: list[int]
          ) -> tuple[dict, object]:
    """One setting through the pipeline's mobile and cloud sides (E-1.1), the encoder behind the image's pack."""
    config = state.config
    log = os.environ.get(ENCODE_LOG_VARIABLE)

    def fresh(key: str) -> None:
        encodes[0] += 1
        if log:
            append_line(log, key)  # one short line per fresh encode (O_APPEND, never through a link)

    codec = CachedCodec(HevcCodec(setting.codec_quality, config.encoder, config.decoder),  # type: ignore[arg-type]
                        pack, fresh)
    return code_unit(config, setting, features, codec)


# ------------------------------------------------------------------ the whole run


def prepare_dataset(config: ExperimentConfig) -> tuple[VocSource, list[str]]:
    """The dataset and images of the run; the synthetic set is written once (E-3.2): as one ZIP archive when
    ``dataset_root`` ends in ``.zip``, else as a directory."""
    root = Path(config.dataset_root)
    if config.dataset_kind == "synthetic":
        from cfc_ref.data.synthetic import write_dataset, write_dataset_zip

        if str(root).endswith(".zip"):
            write_dataset_zip(root, test=config.synthetic_test_images)
        else:
            write_dataset(root, train=0, test=config.synthetic_test_images)
    if config.dataset_kind == "voc" and not root.exists():
        raise CfcError(f"the dataset {root} does not exist: tools/download_voc.sh DIR fetches VOC2007 test (and the "
                       "YOLOv2-VOC weights) into DIR; dataset_root names DIR/VOCdevkit/VOC2007")
    source = open_voc(root)
    ids = source.ids(config.image_set)
    return source, (ids[: config.limit] if config.limit else ids)


def jobs_of(config: ExperimentConfig, images: list[str], done: set[tuple[str, str]]
            ) -> list[tuple[str, tuple[Setting, ...]]]:
    """One job per image that still lacks a unit: the image and the settings it lacks, in sweep order."""
    settings = settings_of(config)
    jobs = [(image, tuple(s for s in settings if (s.key, image) not in done)) for image in images]
    return [(image, todo) for image, todo in jobs if todo]


def _check_model(config: ExperimentConfig, model: DarknetModel) -> None:
    """E-6.1: the split points exist and the model detects as many classes as the config names."""
    from cfc_ref.detector.split import split_point
    from cfc_ref.experiment.config import classes_of

    for name in split_points_of(config):
        split_point(model.config, name)  # a DarknetError naming the split point and the layer there
    classes = classes_of(config)
    if model.region.classes != len(classes):
        raise CfcError(f"the model detects {model.region.classes} classes, the config names {len(classes)} "
                       f"({', '.join(classes[:6])}{'…' if len(classes) > 6 else ''}); set classes to the model's")


class SweepIncomplete(CfcError):
    """Some units failed (spec E-4.2); the others are kept, and ``failed.json`` lists the failed ones."""


@dataclass
class Prepared:
    store: RunStore
    source: VocSource
    images: list[str]
    done: set[tuple[str, str]]
    total: int  # units of the whole sweep
    began: float = field(default_factory=time.perf_counter)


@contextmanager
def prepared(config: ExperimentConfig, device_here: bool = True) -> Iterator[Prepared]:
    """What every engine does before its sweep, under the directory's lock (E-3.1): the model loaded and the split
    points checked before any worker starts (E-6.1), the dataset, the results store with its fingerprint (E-2.2)
    and image digests (E-2.3), units verified (E-9.4), config.json."""
    from cfc_ref.experiment.fingerprint import check_images, check_or_record, fingerprint, image_digests, run_lock
    from cfc_ref.fileio import write_atomic

    output = Path(config.output)
    began = time.perf_counter()
    with run_lock(output):
        if device_here and config.device != "cpu" and not torch.cuda.is_available():
            raise CfcError(f"device {config.device!r}: no CUDA device here (device 'cpu' runs anywhere)")
        _check_model(config, load_model(config))
        cache = output / CACHE_DIR
        if cache.is_symlink() or (cache.exists() and not cache.is_dir()):
            raise CfcError(f"{cache} is not a directory; cfc-ref keeps unfinished bitstreams there (remove it)")
        source, images = prepare_dataset(config)
        if not images:
            raise CfcError(f"{config.dataset_root}: the image set {config.image_set!r} is empty")
        settings = settings_of(config)
        with RunStore.open(output) as store:
            check_or_record(store, fingerprint(config, model_files(config), images))
            check_images(store, image_digests(source, images))
            store.set_settings(settings)
            write_atomic(output / "config.json", config.to_json().encode())
            (output / "failed.json").unlink(missing_ok=True)
            store.forget_failures()
            damaged = store.verify()
            if damaged:
                print(f"cfc-ref: {len(damaged)} recorded units did not match their digest (edited, damaged or "
                      f"misplaced: {damaged[0][0]}/{damaged[0][1]}…) and are computed again", file=sys.stderr)
            done = store.done() & {(s.key, image) for s in settings for image in images}
            yield Prepared(store, source, images, done, len(settings) * len(images), began)


def record_job(store: RunStore, output: Path, result: JobResult) -> None:
    """The driver's part of a finished job: its units and failures in one transaction, then the image's pack
    removed when every unit it served is recorded (E-3.3)."""
    store.record(result.units, result.failures)
    if not result.failures:
        (output / CACHE_DIR / f"{result.image}.pack").unlink(missing_ok=True)


@dataclass
class SweepTiming:
    """Seconds per stage summed over jobs (E-10), the number of damaged cache entries (E-3.3), units computed."""

    seconds: Stopwatch = field(default_factory=Stopwatch)
    corrupt_cache_entries: int = 0
    units: int = 0
    encodes: int = 0

    def add(self, result: JobResult) -> None:
        self.seconds.add(result.seconds)
        self.corrupt_cache_entries += result.corrupt_cache_entries
        self.units += len(result.units)
        self.encodes += result.encodes


def stop_on_failures(config: ExperimentConfig, ready: Prepared, timing: SweepTiming, sweep: int) -> None:
    """The first part of :func:`finish`: say how many damaged cache entries were encoded again (E-3.3); a sweep
    with failed units records itself as incomplete, writes failed.json and stops (E-4.2)."""
    import json

    from cfc_ref.fileio import write_atomic

    store = ready.store
    if timing.corrupt_cache_entries:
        print(f"cfc-ref: {timing.corrupt_cache_entries} damaged cache entries were found and encoded again",
              file=sys.stderr)
    failures = store.failures()
    if failures:
        store.end_sweep(sweep, timing.units, time.perf_counter() - ready.began, timing.seconds.as_dict(), False,
                        timing.encodes)
        path = Path(config.output) / "failed.json"
        write_atomic(path, (json.dumps([{"unit": f"{s}/{i}", "error": m} for s, i, m in failures], indent=1)
                            + "\n").encode())
        shown = ", ".join(f"{s}/{i}" for s, i, _ in failures[:3]) + (f" and {len(failures) - 3} more"
                                                                     if len(failures) > 3 else "")
        raise SweepIncomplete(f"{len(failures)} units failed ({shown}: {failures[0][2]}); the others are kept, "
                              f"{path} lists them; fix the cause and run again to finish")


def finish(config: ExperimentConfig, ready: Prepared, timing: SweepTiming, sweep: int) -> Path:
    """What every engine does after its sweep: :func:`stop_on_failures`, then :func:`aggregate_and_export`."""
    stop_on_failures(config, ready, timing, sweep)
    return aggregate_and_export(config, ready, timing, sweep)


def aggregate_and_export(config: ExperimentConfig, ready: Prepared, timing: SweepTiming, sweep: int,
                         wall: float | None = None) -> Path:
    """The second part of :func:`finish`: aggregate (E-5), record the sweep as complete, export the results. The
    sweep's recorded wall time ends now, or is ``wall`` (E-10.4: a sweep aggregated beside the next)."""
    from cfc_ref.experiment.aggregate import aggregate, export_results

    store = ready.store
    _drop_cache(Path(config.output))
    with timing.seconds.active(), stage("aggregation"):
        path = aggregate(config, ready.images, store, ready.source)
    store.end_sweep(sweep, timing.units, time.perf_counter() - ready.began if wall is None else wall,
                    timing.seconds.as_dict(), True, timing.encodes)
    export_results(config, store, Path(config.output))
    store.checkpoint()
    return path


def _drop_cache(output: Path) -> None:
    """E-3.3: a finished sweep keeps no bitstream cache (every unit it would serve is recorded)."""
    import shutil

    directory = output / CACHE_DIR
    if directory.is_symlink():
        directory.unlink()
    elif directory.exists():
        shutil.rmtree(directory)


def run(config: ExperimentConfig, executor: Executor | None = None, progress: bool | object = True) -> Path:
    """Run (or resume) the sweep with the local engine and aggregate; returns the path of results.json.

    ``progress``: True for a progress bar of this sweep, False for none, or a ``JobProgress`` shared by the
    sweeps of a whole job."""
    with ExitStack() as stack:
        ready, timing, sweep, bar = _compute(config, executor, progress, stack)
        bar.phase(f"{config.name}: aggregating {len(settings_of(config))} settings")
        path = finish(config, ready, timing, sweep)
        if bar is not progress:
            bar.close()
        return path


def run_finishing_aside(config: ExperimentConfig, progress: object, finisher: ThreadPoolExecutor) -> Future[Path]:
    """E-10.4: :func:`run`, but once every job is in and no unit failed (else it stops here, E-4.2), the sweep's
    aggregation and export run in ``finisher``'s thread, which then releases the run directory, while the caller
    goes on with its next sweep; the sweep's recorded wall time ends when its jobs are in (its aggregation's seconds
    are its ``aggregation`` stage). The future gives the path of results.json, or the aggregation's error."""
    stack = ExitStack()
    try:
        ready, timing, sweep, bar = _compute(config, None, progress, stack)
        stop_on_failures(config, ready, timing, sweep)
    except BaseException:
        stack.close()
        raise
    computed = time.perf_counter() - ready.began  # the sweep's wall time: its aggregation overlaps the next sweep
    bar.phase(f"{config.name}: aggregating {len(settings_of(config))} settings beside the next sweep")

    def finish_here() -> Path:
        with stack:
            return aggregate_and_export(config, ready, timing, sweep, wall=computed)

    return finisher.submit(finish_here)


def _compute(config: ExperimentConfig, executor: Executor | None, progress: bool | object, stack: ExitStack
             ) -> tuple[Prepared, SweepTiming, int, JobProgress]:
    """The sweep's jobs, each recorded as it comes in, under the directory's lock, which ``stack`` holds."""
    from cfc_ref.progress import JobProgress

    ready = stack.enter_context(prepared(config))
    jobs = jobs_of(config, ready.images, ready.done)
    workers = min(config.workers or os.cpu_count() or 1, max(1, len(jobs)))
    if executor is None:
        executor = SerialExecutor() if workers <= 1 else LocalPoolExecutor(workers)
    bar = progress if isinstance(progress, JobProgress) else JobProgress(ready.total, enabled=bool(progress))
    bar.start_sweep(config.name, ready.total, len(ready.done), getattr(executor, "workers", workers))
    sweep = ready.store.start_sweep("local", getattr(executor, "workers", workers))
    timing = SweepTiming()
    output = Path(config.output)
    error_file = output / ".worker-error"
    error_file.unlink(missing_ok=True)
    if isinstance(executor, LocalPoolExecutor):
        executor.error_file = error_file
    try:
        for result in executor.map(run_job, jobs, init_worker, (config, 1)):
            record_job(ready.store, output, result)
            timing.add(result)
            bar.advance(len(result.units) + len(result.failures), len(result.failures))
    finally:
        error_file.unlink(missing_ok=True)
    return ready, timing, sweep, bar


def planned_units(config: ExperimentConfig) -> tuple[int, int]:
    """Units of a sweep and how many its run directory already holds (an estimate for the job's progress line,
    made before the sweep prepares its dataset; never an error)."""
    try:
        settings = settings_of(config)
        if config.dataset_kind == "synthetic":
            images = config.synthetic_test_images
        else:
            images = len(open_voc(config.dataset_root).ids(config.image_set))
        images = min(images, config.limit) if config.limit else images
        done = 0
        if (Path(config.output) / "results.sqlite").is_file():
            with RunStore.open(Path(config.output), create=False) as store:
                done = min(len(store.done()), len(settings) * images)
        return len(settings) * images, done
    except (CfcError, OSError):
        return 0, 0


CODEC_STAGES = ("encode", "decode")


def job_timing(directories: dict[str, Path], report_seconds: float, wall: float) -> dict:
    """E-10.1: the job's seconds per stage (summed over its sweeps' workers), each sweep's wall time, the report's,
    the whole job's wall time, and its ratio to the codec time (wall × workers / (encode + decode))."""
    stages: dict[str, float] = {}
    sweeps, workers = {}, 1
    for phase, directory in directories.items():
        with RunStore.open(directory, create=False) as store:
            last = store.sweeps()[-1]
            for name, seconds in store.timings(last["id"]).items():
                stages[name] = stages.get(name, 0.0) + seconds
            sweeps[phase] = {"wall": last["wall"], "units": last["units"], "workers": last["workers"]}
            workers = max(workers, last["workers"])
    stages["report"] = report_seconds
    codec = sum(stages.get(name, 0.0) for name in CODEC_STAGES)
    return {"wall": wall, "workers": workers, "stages": stages, "sweeps": sweeps, "codec": codec,
            "ratio_to_codec": wall * workers / codec if codec else None}


def record_job_timing(output: Path, timing: dict) -> None:
    import json

    with RunStore.open(output, create=False) as store:
        store.set_meta(job_timing=json.dumps(timing, sort_keys=True))
