"""A sweep's run directory (spec E-2..E-5, E-9, E-10.1): what every engine does before, during and after its jobs,
as one sequence of named steps in one place.

    with open_sweep(config) as sweep:          # 1. prepare, under the directory's lock (E-3.1): the model checked
                                               #    (E-6.1), the dataset, the results store with its fingerprint
                                               #    (E-2.2) and image digests (E-2.3), settings, units verified (E-9.4)
        sweep.start("local", workers)          # 2. a row of the store's sweeps table (E-10.1)
        for result in jobs:                    # 3. every finished job in one transaction (E-4.1), with its seconds
            sweep.record(units, failures, image, seconds)  # per setting (E-15.3); its image's pack removed once
                                               #    its units are in (E-3.3)
        sweep.stop_on_failures()               # 4. failed units: failed.json and SweepIncomplete (E-4.2)
        path = sweep.aggregate_and_export()    # 5. rows (E-5), the sweep recorded complete, results.json/.csv and
                                               #    CompressAI-Vision's layouts (E-15), no cache left (E-3.3);
                                               #    returns results.json
                                               # 6. leaving the block releases the lock

The engines (``local_engine.py``, ``ray_engine.py``) differ only in how step 3's jobs are computed.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cfc_ref.data.source import VocSource, open_voc
from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, Setting, settings_of, split_points_of
from cfc_ref.experiment.store import SIDE_FILES, STORE_NAME, RunStore
from cfc_ref.experiment.units import Unit
from cfc_ref.fileio import write_atomic
from cfc_ref.implementations import check, record
from cfc_ref.timing import Stopwatch, stage

if TYPE_CHECKING:
    from cfc_ref.detector.model import DarknetModel

CACHE_DIR = "cache"  # <image>.pack: bitstreams of that image's units not recorded yet (E-3.3)


class SweepIncomplete(CfcError):
    """Some units failed (spec E-4.2); the others are kept, and ``failed.json`` lists the failed ones."""


@dataclass
class SweepTiming:
    """Wall and CPU seconds per stage summed over jobs (E-10), the CPU of every worker that computed one, the number
    of damaged cache entries (E-3.3), units computed and fresh encodes."""

    seconds: Stopwatch = field(default_factory=Stopwatch)
    corrupt_cache_entries: int = 0
    units: int = 0
    encodes: int = 0
    workers: dict[int, float] = field(default_factory=dict)  # pid → its CPU seconds since it started (the latest)

    def add_job(self, seconds: dict[str, float], encodes: int = 0, corrupt_cache_entries: int = 0,
                cpu: dict[str, float] | None = None, worker: tuple[int, float] | None = None) -> None:
        self.seconds.add(seconds, cpu)
        self.encodes += encodes
        self.corrupt_cache_entries += corrupt_cache_entries
        if worker is not None and worker[0]:
            self.workers[worker[0]] = max(self.workers.get(worker[0], 0.0), worker[1])

    @property
    def worker_cpu(self) -> float:
        """CPU seconds of the workers of another process (a worker computing in the driver's process is counted
        with the driver: its own CPU is the job's main process's, E-10.1)."""
        return sum(cpu for pid, cpu in self.workers.items() if pid != os.getpid())


@dataclass
class Sweep:
    """One sweep in its run directory, between :func:`open_sweep` and the end of its ``with`` block."""

    config: ExperimentConfig
    store: RunStore
    source: VocSource
    images: list[str]
    done: set[tuple[str, str]]  # (setting, image) of the units already recorded and verified
    total: int  # units of the whole sweep
    began: float = field(default_factory=time.perf_counter)
    timing: SweepTiming = field(default_factory=SweepTiming)
    number: int = 0  # the store's sweeps.id, from start()

    @property
    def output(self) -> Path:
        return Path(self.config.output)

    def start(self, engine: str, workers: int) -> None:
        """Step 2: the sweep's row in the store (engine, workers)."""
        self.number = self.store.start_sweep(engine, workers)

    def record(self, units: Iterable[Unit], failures: Iterable[tuple[str, str, str]] = (),
               image: str | None = None, seconds: dict[str, dict[str, float]] | None = None) -> None:
        """Step 3: a finished job's units and failures in one transaction, with the seconds its stages spent on each
        setting (E-15.3); with ``image``, its pack is removed when no unit of it failed (every unit it served is
        recorded, E-3.3)."""
        units, failures = list(units), list(failures)
        self.store.record(units, failures, self.number, seconds)
        self.timing.units += len(units)
        if image is not None and not failures:
            (self.output / CACHE_DIR / f"{image}.pack").unlink(missing_ok=True)

    def stop_on_failures(self) -> None:
        """Step 4: say how many damaged cache entries were encoded again (E-3.3); a sweep with failed units records
        itself as incomplete, writes failed.json and stops (E-4.2)."""
        if self.timing.corrupt_cache_entries:
            print(f"cfc-ref: {self.timing.corrupt_cache_entries} damaged cache entries were found and encoded again",
                  file=sys.stderr)
        failures = self.store.failures()
        if not failures:
            return
        self._end(complete=False, wall=None)
        path = self.output / "failed.json"
        write_atomic(path, (json.dumps([{"unit": f"{s}/{i}", "error": m} for s, i, m in failures], indent=1)
                            + "\n").encode())
        shown = ", ".join(f"{s}/{i}" for s, i, _ in failures[:3]) + (f" and {len(failures) - 3} more"
                                                                     if len(failures) > 3 else "")
        raise SweepIncomplete(f"{len(failures)} units failed ({shown}: {failures[0][2]}); the others are kept, "
                              f"{path} lists them; fix the cause and run again to finish")

    def aggregate_and_export(self, wall: float | None = None) -> Path:
        """Step 5: aggregate (E-5), record the sweep as complete, export the results; returns results.json. The
        sweep's recorded wall time ends now, or is ``wall`` (E-10.4: a sweep aggregated beside the next)."""
        from cfc_ref.experiment.aggregate import aggregate, export_results

        _drop_cache(self.output)
        with self.timing.seconds.active(), stage("aggregation"):
            path = aggregate(self.config, self.images, self.store, self.source)
        self._end(complete=True, wall=wall)
        export_results(self.config, self.store, self.output)
        from cfc_ref.experiment.exports import export_layouts

        export_layouts(self.config, self.store, self.output, record=True)  # E-15.1: CompressAI-Vision's layouts
        self.store.checkpoint()
        return path

    def finish(self) -> Path:
        """Steps 4 and 5."""
        self.stop_on_failures()
        return self.aggregate_and_export()

    def _end(self, complete: bool, wall: float | None) -> None:
        self.store.end_sweep(self.number, self.timing.units, time.perf_counter() - self.began if wall is None else wall,
                             self.timing.seconds.as_dict(), complete, self.timing.encodes,
                             self.timing.seconds.cpu_dict(), self.timing.worker_cpu)


@contextmanager
def open_sweep(config: ExperimentConfig, device_here: bool = True) -> Iterator[Sweep]:
    """Step 1, under the directory's lock (E-3.1), which the ``with`` block holds: the model loaded and the split
    points checked before any worker starts (E-6.1), the dataset, the results store with its fingerprint (E-2.2) and
    image digests (E-2.3), units verified (E-9.4), config.json. ``device_here``: the config's CUDA device must be on
    this machine (the Ray engine's devices are the cluster's)."""
    import torch

    from cfc_ref.experiment.fingerprint import run_lock
    from cfc_ref.experiment.models import load_model

    output = Path(config.output)
    began = time.perf_counter()
    with run_lock(output):
        if device_here and config.device != "cpu" and not torch.cuda.is_available():
            raise CfcError(f"device {config.device!r}: no CUDA device here (device 'cpu' runs anywhere)")
        check_model(config, load_model(config))
        cache = output / CACHE_DIR
        if cache.is_symlink() or (cache.exists() and not cache.is_dir()):
            raise CfcError(f"{cache} is not a directory; cfc-ref keeps unfinished bitstreams there (remove it)")
        source, images = prepare_dataset(config)
        if not images:
            raise CfcError(f"{config.dataset_root}: the image set {config.image_set!r} is empty")
        settings = settings_of(config)
        fresh = not (output / STORE_NAME).exists()
        try:
            store = RunStore.open(output)
        except BaseException:
            _remove_store(output, fresh)
            raise
        with store:
            try:
                done = _prepare_store(config, store, source, images, settings)
            except BaseException:
                store.close()
                _remove_store(output, fresh)
                raise
            yield Sweep(config, store, source, images, done, len(settings) * len(images), began)


def _remove_store(output: Path, fresh: bool) -> None:
    """E-6.4: a store this run made and could not prepare is not left behind (nothing is recorded in it yet)."""
    if fresh:
        for name in (STORE_NAME, *SIDE_FILES):
            (output / name).unlink(missing_ok=True)


def _prepare_store(config: ExperimentConfig, store: RunStore, source: VocSource, images: list[str],
                   settings: list[Setting]) -> set[tuple[str, str]]:
    """Step 1's part in the store: fingerprint (E-2.2), implementations (E-12.2), image digests (E-2.3), settings,
    config.json, the last sweep's failures forgotten, every unit verified (E-9.4); returns the units done."""
    from cfc_ref.experiment.fingerprint import check_images, check_or_record, fingerprint, image_digests
    from cfc_ref.experiment.models import model_files

    output = Path(config.output)
    check_or_record(store, fingerprint(config, model_files(config), images))
    store.set_meta(implementations=json.dumps(record(check(config.implementation))))
    check_images(store, image_digests(source, images))
    store.set_settings(settings)
    write_atomic(output / "config.json", config.to_json().encode())
    (output / "failed.json").unlink(missing_ok=True)
    store.forget_failures()
    damaged = store.verify()
    if damaged:
        print(f"cfc-ref: {len(damaged)} recorded units did not match their digest (edited, damaged or misplaced: "
              f"{damaged[0][0]}/{damaged[0][1]}…) and are computed again", file=sys.stderr)
    return store.done() & {(s.key, image) for s in settings for image in images}


def check_model(config: ExperimentConfig, model: DarknetModel) -> None:
    """E-6.1: the split points exist and the model detects as many classes as the config names."""
    from cfc_ref.detector.split import split_point
    from cfc_ref.experiment.config import classes_of

    for name in split_points_of(config):
        split_point(model.config, name)  # a DarknetError naming the split point and the layer there
    classes = classes_of(config)
    if model.region.classes != len(classes):
        raise CfcError(f"the model detects {model.region.classes} classes, the config names {len(classes)} "
                       f"({', '.join(classes[:6])}{'…' if len(classes) > 6 else ''}); set classes to the model's")


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


def _drop_cache(output: Path) -> None:
    """E-3.3: a finished sweep keeps no bitstream cache (every unit it would serve is recorded)."""
    directory = output / CACHE_DIR
    if directory.is_symlink():
        directory.unlink()
    elif directory.exists():
        shutil.rmtree(directory)


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
