"""The local engine (spec E-8.1, ``cfc-ref run --engine local``): a sweep's jobs computed by processes on this
machine, inside the run directory's lifecycle (``rundir.py``).

Work comes in jobs of one image and the settings it still lacks: the front ends of all its split points come from
one pass over the layers, and each setting is coded and detected from them through the one data path (E-1.1:
``stages.py``). Workers return units; this process alone records them (one transaction per job), so a killed run
loses only the jobs in flight and a resumed one computes only what is missing (E-4). Bitstreams are cached by
content around the codec while their unit is unfinished (one pack per image, ``<output>/cache/<image>.pack``,
H-6.1, E-3.3); ``$CFC_ENCODE_LOG``, when set, names a file that gets one line per fresh encode (its key).

The executor is pluggable: anything with ``map(function, jobs, initializer, initargs)`` — ``SerialExecutor``,
``LocalPoolExecutor`` (processes from a fork server, the default with more than one worker).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import torch

from cfc_ref import implementations
from cfc_ref.codecs.decoded import DecodedPictures
from cfc_ref.codecs.hevc import HevcCodec, encoder_name
from cfc_ref.codecs.hevc.batch import CachedCodec, PackCache
from cfc_ref.data.source import VocSource, open_voc
from cfc_ref.detector.model import DarknetModel
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, Setting, settings_of
from cfc_ref.experiment.models import inference_model, load_model
from cfc_ref.experiment.rundir import CACHE_DIR, Sweep, open_sweep
from cfc_ref.experiment.stages import (
    back_batches,
    back_detections_batch,
    cloud_detections,
    cloud_unit,
    cloud_upload,
    code_unit,
    decode_image,
    front_features_all,
)
from cfc_ref.experiment.units import Unit
from cfc_ref.fileio import append_line
from cfc_ref.implementations import Implementation
from cfc_ref.timing import SettingSeconds, Stopwatch

if TYPE_CHECKING:
    from cfc_ref.progress import JobProgress

ENCODE_LOG_VARIABLE = "CFC_ENCODE_LOG"  # a file to get one line per fresh HEVC encode (E-4.1 can be checked)

# ------------------------------------------------------------------ executors


class Executor(Protocol):
    """Runs ``function`` on every job; results in any order. ``close()`` ends whatever it started."""

    workers: int

    def map(self, function: Callable, jobs: list) -> Iterable: ...

    def close(self) -> None: ...


class SerialExecutor:
    """In this process, one job after another.

    Every engine computes a unit with one torch thread: float32 sums can depend on how a kernel splits its work
    across threads, and a unit's numbers must not depend on the engine or the worker count (spec E-8.2)."""

    workers = 1

    def map(self, function: Callable, jobs: list) -> Iterator:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield from (function(job) for job in jobs)
        finally:
            torch.set_num_threads(threads)
            release_worker()

    def close(self) -> None:
        pass


class LocalPoolExecutor:
    """Processes on this machine (``cfc_ref.processes.worker_pool``: they inherit no open file of this process, end
    with it however it ends, and ignore Ctrl-C, spec E-3.1), each with one torch thread. One pool serves every sweep
    of a job (E-10.3): it starts with the first ``map`` and ends with ``close()`` (or an error); a worker loads a
    sweep's model with its first job of that sweep and keeps it while the sweep lasts. ``initializer`` (a test's)
    runs in every worker as it starts."""

    def __init__(self, workers: int, initializer: Callable | None = None, initargs: tuple = ()) -> None:
        self.workers = workers
        self.initializer, self.initargs = initializer, initargs
        self._pool: ProcessPoolExecutor | None = None
        self._errors: object = None  # where a worker that cannot start says why (E-6.1; a pipe, nothing on disk)

    def map(self, function: Callable, jobs: list) -> Iterator:
        from cfc_ref.processes import start_error, start_errors, worker_pool

        if self._pool is None:
            self._errors = start_errors()
            self._pool = worker_pool(self.workers, _start_worker, (self.initializer, self.initargs), self._errors)
        try:
            pending = {self._pool.submit(function, job) for job in jobs}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        except BrokenProcessPool as err:  # E-6.1: a worker that died (or failed to start) is one line
            cause = start_error(self._errors) if self._errors else None
            self.close()
            raise CfcError(cause or f"a worker process died ({err}); finished units are kept, run again to "
                           "resume") from None
        except BaseException:
            self.close()  # an interrupted or failed sweep leaves nothing running
            raise

    def close(self) -> None:
        from cfc_ref.processes import kill_pool

        if self._pool is not None:
            kill_pool(self._pool)
            self._pool = None
        if self._errors is not None:
            self._errors.close()  # type: ignore[attr-defined]
            self._errors = None

    def __enter__(self) -> LocalPoolExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _start_worker(initializer: Callable | None, initargs: tuple) -> None:
    torch.set_num_threads(1)  # E-8.2
    if initializer is not None:
        initializer(*initargs)


# ------------------------------------------------------------------ the model, once per process


@dataclass
class _WorkerState:
    config: ExperimentConfig
    model: DarknetModel
    encoder_id: str
    source: VocSource
    batch: dict[str, int]  # E-1.3: back-end batch size of each split point (its number of settings)
    decoded: DecodedPictures = field(default_factory=DecodedPictures)  # E-1.4: this job's decoded streams

    @property
    def implementation(self) -> Implementation:
        return implementations.check(self.config.implementation)


_STATE: _WorkerState | None = None


def init_worker(config: ExperimentConfig, threads: int = 1) -> None:
    """This process computes jobs of ``config``'s sweep: its model loaded once, one torch thread (E-8.2)."""
    global _STATE
    torch.set_num_threads(threads)
    model = inference_model(load_model(config), config)
    _STATE = _WorkerState(config, model, encoder_name(config.encoder),  # type: ignore[arg-type]
                          open_voc(config.dataset_root), back_batches(config))


def _state_for(config: ExperimentConfig) -> _WorkerState:
    """The worker's state for ``config``'s sweep, loaded with the sweep's first job here (a pool serves every sweep
    of a job, E-10.3)."""
    if _STATE is None or _STATE.config != config:
        init_worker(config, torch.get_num_threads())
    assert _STATE is not None
    return _STATE


def release_worker() -> None:
    global _STATE
    _STATE = None


# ------------------------------------------------------------------ one job


@dataclass(frozen=True)
class JobResult:
    image: str
    units: tuple[Unit, ...]
    failures: tuple[tuple[str, str, str], ...]  # (setting, image, message) of units that failed (E-4.2)
    seconds: dict[str, float]  # wall seconds per stage (E-10)
    encodes: int = 0  # fresh HEVC encodes (the others came from the image's pack, E-3.3)
    corrupt_cache_entries: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per stage (the worker process's, E-10.1)
    worker: tuple[int, float] = (0, 0.0)  # the worker's pid and its CPU seconds since it started, at the job's end
    setting_seconds: dict[str, dict[str, float]] = field(default_factory=dict)  # E-15.3: stage seconds per setting


@torch.no_grad()
def run_job(job: tuple[ExperimentConfig, str, tuple[Setting, ...]]) -> JobResult:
    """Compute the given settings of one image of ``config``'s sweep; a CfcError fails the setting it arose in (or
    every setting, when the image itself cannot be read), never the sweep (E-4.2). Every stage's seconds are charged
    to the settings they were spent on (E-15.3)."""
    config, image, todo = job
    state = _state_for(config)
    state.decoded.clear()  # E-1.4: the streams of one image are decoded once, within its job
    watch, encodes = Stopwatch(), [0]
    shares = SettingSeconds(watch)
    units: list[Unit] = []
    failures: list[tuple[str, str, str]] = []
    splits = tuple(dict.fromkeys(s.split for s in todo if s.kind == "split"))
    with watch.active():
        try:
            with shares.charge([s.key for s in todo]):  # the input image, decoded once for all its settings
                data = state.source.image_bytes(image)
                pixels = decode_image(data, state.source.describe(image, "image"))
            with shares.charge([s.key for s in todo if s.kind == "split"]):  # one pass for every split point
                features = front_features_all(state.model, splits, pixels)
            pack = PackCache(Path(state.config.output) / CACHE_DIR / f"{image}.pack")
        except CfcError as err:
            return _result(image, (), tuple((s.key, image, str(err)) for s in todo), watch, shares=shares)
        for split_name in splits:  # E-1.3: each split point's settings coded, then one batch of back ends
            group = [s for s in todo if s.kind == "split" and s.split == split_name]
            coded: list[tuple[Setting, dict | None, object]] = []
            for setting in group:
                try:
                    with shares.charge([setting.key]):
                        coded.append((setting, *_code(state, setting, features[split_name], pack, encodes)))
                except CfcError as err:
                    failures.append((setting.key, image, str(err)))
            try:
                with shares.charge([setting.key for setting, _, _ in coded]):  # the batch, among its settings
                    found = back_detections_batch(state.model, split_name, [r for _, r, _ in coded], pixels.shape,
                                                  state.batch[split_name], state.implementation)
            except CfcError as err:
                failures += [(setting.key, image, str(err)) for setting, _, _ in coded]
                continue
            units += [coding.unit(image, setting, state.encoder_id, detections)  # type: ignore[attr-defined]
                      for (setting, _, coding), detections in zip(coded, found, strict=True)]
        for setting in (s for s in todo if s.kind == "cloud"):
            try:
                with shares.charge([setting.key]):
                    upload = cloud_upload(setting, pixels, data)
                    found_here = cloud_detections(state.model, upload, pixels.shape, state.implementation)
                    units.append(cloud_unit(upload, image, setting, found_here))
            except CfcError as err:
                failures.append((setting.key, image, str(err)))
    return _result(image, tuple(units), tuple(failures), watch, encodes[0], pack.corrupt, shares)


def _result(image: str, units: tuple[Unit, ...], failures: tuple[tuple[str, str, str], ...], watch: Stopwatch,
            encodes: int = 0, corrupt: int = 0, shares: SettingSeconds | None = None) -> JobResult:
    """A job's result with its stage times, their charges per setting (E-15.3) and the worker's CPU so far (E-10.1:
    the OS's process clock)."""
    return JobResult(image, units, failures, watch.as_dict(), encodes, corrupt, watch.cpu_dict(),
                     (os.getpid(), time.process_time()), shares.charged if shares else {})


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
                        pack, fresh, state.decoded)
    return code_unit(config, setting, features, codec, state.decoded)


# ------------------------------------------------------------------ the sweep


def jobs_of(config: ExperimentConfig, images: list[str], done: set[tuple[str, str]]
            ) -> list[tuple[ExperimentConfig, str, tuple[Setting, ...]]]:
    """One job per image that still lacks a unit: the sweep's config, the image and the settings it lacks, in sweep
    order."""
    settings = settings_of(config)
    jobs = [(image, tuple(s for s in settings if (s.key, image) not in done)) for image in images]
    return [(config, image, todo) for image, todo in jobs if todo]


def run(config: ExperimentConfig, executor: Executor | None = None, progress: bool | object = True) -> Path:
    """Run (or resume) the sweep with the local engine and aggregate; returns the path of results.json.

    ``progress``: True for a progress bar of this sweep, False for none, or a ``JobProgress`` shared by the
    sweeps of a whole job."""
    with ExitStack() as stack:
        sweep, bar = _compute(config, executor, progress, stack)
        bar.phase(f"{config.name}: aggregating {len(settings_of(config))} settings")
        path = sweep.finish()
        if bar is not progress:
            bar.close()
        return path


def run_finishing_aside(config: ExperimentConfig, progress: object, finisher: ThreadPoolExecutor,
                        executor: Executor | None = None) -> Future[Path]:
    """E-10.4: :func:`run`, but once every job is in and no unit failed (else it stops here, E-4.2), the sweep's
    aggregation and export run in ``finisher``'s thread, which then releases the run directory, while the caller
    goes on with its next sweep; the sweep's recorded wall time ends when its jobs are in (its aggregation's seconds
    are its ``aggregation`` stage). The future gives the path of results.json, or the aggregation's error."""
    stack = ExitStack()
    try:
        sweep, bar = _compute(config, executor, progress, stack)
        sweep.stop_on_failures()
    except BaseException:
        stack.close()
        raise
    computed = time.perf_counter() - sweep.began  # the sweep's wall time: its aggregation overlaps the next sweep
    bar.phase(f"{config.name}: aggregating {len(settings_of(config))} settings beside the next sweep")

    def finish_here() -> Path:
        with stack:
            return sweep.aggregate_and_export(wall=computed)

    return finisher.submit(finish_here)


def _compute(config: ExperimentConfig, executor: Executor | None, progress: bool | object, stack: ExitStack
             ) -> tuple[Sweep, JobProgress]:
    """Steps 1–3 of the sweep's lifecycle (``rundir.py``): its jobs, each recorded as it comes in, under the
    directory's lock, which ``stack`` holds. Without an ``executor`` the sweep makes its own and ends it."""
    from cfc_ref.progress import JobProgress

    sweep = stack.enter_context(open_sweep(config))
    jobs = jobs_of(config, sweep.images, sweep.done)
    if executor is None:
        workers = min(default_workers(config), max(1, len(jobs)))
        executor = SerialExecutor() if workers <= 1 else LocalPoolExecutor(workers)
        stack.callback(executor.close)
    bar = progress if isinstance(progress, JobProgress) else JobProgress(sweep.total, enabled=bool(progress))
    bar.start_sweep(config.name, sweep.total, len(sweep.done), executor.workers)
    sweep.start("local", executor.workers)
    before = dict(_WORKER_CPU)  # what the job's workers had used before this sweep (one pool serves every sweep)
    for result in executor.map(run_job, jobs):
        sweep.record(result.units, result.failures, result.image, result.setting_seconds)
        pid, used = result.worker
        since = before.get(pid, 0.0) if used >= before.get(pid, 0.0) else 0.0  # a reused pid starts again
        _WORKER_CPU[pid] = used
        sweep.timing.add_job(result.seconds, result.encodes, result.corrupt_cache_entries, result.cpu,
                             (pid, used - since))
        bar.advance(len(result.units) + len(result.failures), len(result.failures))
    return sweep, bar


_WORKER_CPU: dict[int, float] = {}  # pid → the CPU seconds a worker had used at its last job (E-10.1)


def default_workers(config: ExperimentConfig) -> int:
    """The config's workers, else one per CPU this process may run on (spec E-10.5)."""
    from cfc_ref.processes import usable_cpus

    return config.workers or usable_cpus()
