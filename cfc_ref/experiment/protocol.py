"""The paper's protocol as one call (paper §4): the sweep, the re-trained rows where weights exist, the report.

    outcome = run_protocol(embedded_default())          # what plain ``cfc-ref`` does
    print(outcome.summary)

The command line only parses arguments into :func:`experiment_config` and prints what this returns.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, embedded_default, load_config, lossy_sweep
from cfc_ref.progress import JobProgress

if TYPE_CHECKING:  # imported where used: they bring torch, which a job imports after its fork server starts
    from cfc_ref.experiment.report import Report


def experiment_config(path: str | None = None, *, output: str | None = None, limit: int | None = None,
                      workers: int | None = None, weights: str | None = None, cfg: str | None = None,
                      splits: list[str] | None = None, lossy_only: bool = False, accounting: str | None = None,
                      reference: bool = False, quantizers: tuple[str, ...] | None = None
                      ) -> tuple[ExperimentConfig, bool]:
    """The config of a run: a JSON file or the embedded default, with overrides. Also whether it is the embedded
    default itself (which adds the shipped re-trained rows)."""
    from cfc_ref.experiment.config import check_config
    from cfc_ref.zoo import embedded_files

    config = load_config(path) if path else embedded_default()
    if output is not None:
        if output == "":
            raise CfcError("--output must name a directory")
        from cfc_ref.fileio import run_file_role

        role = run_file_role(output)
        if role:
            raise CfcError(f"--output {output}: that is {role} of a run directory, not a place for a run")
        config = replace(config, output=output) if path else embedded_default(output)
    if limit is not None:
        config = replace(config, limit=limit)
    if workers is not None:
        config = replace(config, workers=workers)
    if splits:
        config = replace(config, splits=tuple(splits))
    if accounting:
        config = replace(config, accountings=("deployable", "paper") if accounting == "both" else (accounting,))
    if weights:
        config = replace(config, model="darknet", cfg=cfg or (config.cfg if config.model == "darknet"
                                                               else str(embedded_files()[0])), weights=weights)
    elif cfg:
        if config.model != "darknet":
            raise CfcError("--cfg names the cfg of --weights (or of a config's darknet model); give --weights too")
        config = replace(config, cfg=cfg)  # a built-in name (yolo-voc) or a path, as the config's own key
    if quantizers:
        config = replace(config, quantizers=tuple(quantizers))  # E-14.1 (checked with the config below)
    if reference:
        config = replace(config, implementation="reference")  # E-12: every stage through its readable reference
    if lossy_only:
        config = lossy_sweep(config, config.cfg, config.weights, config.splits, config.output, config.name)
    return check_config(config, path or "the embedded default"), not (path or weights or lossy_only)


@dataclass(frozen=True)
class Outcome:
    results: Path
    retrained: dict[str, Path]
    report: Report
    timing: dict

    @property
    def summary(self) -> str:
        return self.report.summary


def run_sweep(config: ExperimentConfig, engine: str = "local", address: str | None = None,
              progress: bool | JobProgress = True, finisher: ThreadPoolExecutor | None = None,
              executor: object = None) -> Path | Future[Path]:
    """One sweep with the chosen engine (spec E-8): ``local`` (processes on this machine) or ``ray``. With a
    ``finisher`` (local engine only), the sweep's aggregation runs in its thread and a future of the path comes
    back as soon as the sweep's jobs are in (E-10.4); ``executor`` is the job's pool of workers (local engine: one
    for every sweep, E-10.3), else the sweep makes its own."""
    if engine == "ray":
        from cfc_ref.experiment.ray_engine import run_ray

        return run_ray(config, address, progress)
    if engine != "local":
        raise CfcError(f"engine must be local or ray, got {engine!r}")
    if address:
        raise CfcError("--address is for --engine ray")
    from cfc_ref.experiment.local_engine import run, run_finishing_aside

    if finisher is not None:
        return run_finishing_aside(config, progress, finisher, executor)  # type: ignore[arg-type]
    return run(config, executor, progress=progress)  # type: ignore[arg-type]


def retrained_sweeps(config: ExperimentConfig) -> dict[str, ExperimentConfig]:
    """The lossy sweeps of the shipped re-trained weights (embedded default), by split point."""
    from cfc_ref.zoo import embedded_files, retrained_weights

    sweeps = {}
    for split in config.splits:
        weights = retrained_weights(split)
        if weights is not None:
            sweeps[split] = lossy_sweep(config, str(embedded_files()[0]), str(weights), (split,),
                                        f"{config.output}/retrained-{split}", f"re-trained at {split} (shipped)")
    return sweeps


def sweeps_of(config: ExperimentConfig, with_retrained: bool) -> dict[str, ExperimentConfig]:
    """The job's sweeps by phase: the default weights, then the shipped re-trained weights' (embedded default)."""
    sweeps = {"default weights": config}
    again = retrained_sweeps(config) if with_retrained else {}
    sweeps.update({f"re-trained {split.replace('_', ' ')}": sweep for split, sweep in again.items()})
    return sweeps


def run_protocol(config: ExperimentConfig, with_retrained: bool = False, progress: bool = True,
                 engine: str = "local", address: str | None = None) -> Outcome:
    """The sweep; with ``with_retrained``, the lossy sweeps of the shipped re-trained weights too (embedded
    default); then the report (Table 1, Figs. 1, 4, 5). One progress line for the whole job: its phase, and an ETA
    for all of its sweeps (spec E-10.2); the job's time per stage recorded in the main store (E-10.1)."""
    import time

    began = time.perf_counter()
    from cfc_ref.processes import usable_cpus

    several = engine == "local" and (config.workers or usable_cpus()) > 1  # default_workers, before torch
    if several:
        from cfc_ref.processes import start_fork_server

        start_fork_server()  # E-10.3: its imports overlap this process's imports and the first sweep's preparation
    from contextlib import ExitStack

    from cfc_ref.experiment.figures import fig1_profile
    from cfc_ref.experiment.local_engine import LocalPoolExecutor, default_workers
    from cfc_ref.experiment.report import write_report
    from cfc_ref.experiment.rundir import planned_units
    from cfc_ref.plotting import warm_up

    sweeps = sweeps_of(config, with_retrained)
    again = retrained_sweeps(config) if with_retrained else {}
    total = sum(total - done for total, done in (planned_units(c) for c in sweeps.values()))
    job = JobProgress(total, enabled=progress)
    with ExitStack() as stack:
        executor = stack.enter_context(LocalPoolExecutor(default_workers(config))) if several else None  # E-10.3
        finisher = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="cfc-ref-aggregation"))  # E-10.4
        stack.callback(job.close)
        pending: dict[str, Path | Future[Path]] = {}
        for number, (phase, sweep) in enumerate(sweeps.items(), 1):
            if number == len(sweeps):  # E-10.3: matplotlib's imports and Fig. 1 (the model alone) beside it
                warm = warm_up()
                layers = finisher.submit(fig1_profile, config)
            aside = finisher if several and number < len(sweeps) else None  # the last has nothing beside it
            pending[phase] = run_sweep(sweep, engine, address, job.named(phase), aside, executor)
        paths = {phase: done.result() if isinstance(done, Future) else done for phase, done in pending.items()}
        job.phase("report: Table 1, Figs. 1, 4, 5")
        report_began, report_cpu = time.perf_counter(), time.process_time()
        warm.join()
        retrained = {split: paths[f"re-trained {split.replace('_', ' ')}"] for split in again}
        report = write_report(paths["default weights"], layers.result(), retrained)
        report_seconds = (time.perf_counter() - report_began, time.process_time() - report_cpu)
    timing = job_timing({phase: path.parent for phase, path in paths.items()}, report_seconds,
                        time.perf_counter() - began, main_process_cpu())
    record_job_timing(Path(config.output), timing)
    report = report.with_job_timing(timing)  # report.md shows the job's own figures, the store's (E-10.1)
    return Outcome(paths["default weights"], retrained, report, timing)


CODEC_STAGES = ("encode", "decode")


def job_timing(directories: dict[str, Path], report: tuple[float, float], wall: float, main_cpu: float) -> dict:
    """E-10.1: the job's wall and CPU seconds per stage (summed over its sweeps' workers), each sweep's wall time
    and workers' CPU, the report's, the whole job's wall and CPU time, and its two ratios to the codec: the figure of
    merit ``cpu_ratio_to_codec`` (all CPU seconds of the job / the codec's CPU seconds), which a busy machine cannot
    improve, and ``ratio_to_codec`` (wall × workers / the codec's wall seconds) beside it. ``report`` is the
    report's (wall, CPU) seconds, ``main_cpu`` this process's CPU seconds so far."""
    from cfc_ref.experiment.store import RunStore

    stages: dict[str, float] = {}
    stages_cpu: dict[str, float] = {}
    sweeps, workers, worker_cpu = {}, 1, 0.0
    for phase, directory in directories.items():
        with RunStore.open(directory, create=False) as store:
            last = store.sweeps()[-1]
            for target, source in ((stages, store.timings(last["id"])), (stages_cpu, store.cpu_timings(last["id"]))):
                for name, seconds in source.items():
                    target[name] = target.get(name, 0.0) + seconds
            sweeps[phase] = {"wall": last["wall"], "units": last["units"], "workers": last["workers"],
                             "worker_cpu": last["worker_cpu"]}
            workers = max(workers, last["workers"])
            worker_cpu += last["worker_cpu"]
    stages["report"], stages_cpu["report"] = report
    codec = sum(stages.get(name, 0.0) for name in CODEC_STAGES)
    codec_cpu = sum(stages_cpu.get(name, 0.0) for name in CODEC_STAGES)
    server = fork_server_cpu()
    total_cpu = main_cpu + worker_cpu + (server or 0.0)
    return {"wall": wall, "workers": workers, "stages": stages, "stages_cpu": stages_cpu, "sweeps": sweeps,
            "codec": codec, "codec_cpu": codec_cpu, "cpu": total_cpu,
            "cpu_parts": {"main": main_cpu, "workers": worker_cpu, "fork_server": server},
            "ratio_to_codec": wall * workers / codec if codec else None,
            "cpu_ratio_to_codec": total_cpu / codec_cpu if codec_cpu else None}


def fork_server_cpu() -> float | None:
    """The fork server's CPU seconds (its imports; E-10.3), None when this job started none."""
    from multiprocessing import forkserver

    from cfc_ref.timing import process_cpu

    pid = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)
    return process_cpu(pid) if pid else None


def main_process_cpu() -> float:
    """This process's CPU seconds since it started (user + system, all its threads), from the OS."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def record_job_timing(output: Path, timing: dict) -> None:
    import json

    from cfc_ref.experiment.store import RunStore

    with RunStore.open(output, create=False) as store:
        store.set_meta(job_timing=json.dumps(timing, sort_keys=True))
