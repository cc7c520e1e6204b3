"""The paper's protocol as one call (paper §4): the sweep, the re-trained rows where weights exist, the report.

    outcome = run_protocol(embedded_default())          # what plain ``cfc-ref`` does
    print(outcome.summary)

The command line only parses arguments into :func:`experiment_config` and prints what this returns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from cfc_ref.errors import CfcError
from cfc_ref.experiment.config import ExperimentConfig, embedded_default, load_config, lossy_sweep
from cfc_ref.experiment.report import report_summary, write_report
from cfc_ref.experiment.runner import run


def experiment_config(path: str | None = None, *, output: str | None = None, limit: int | None = None,
                      workers: int | None = None, weights: str | None = None, cfg: str | None = None,
                      splits: list[str] | None = None, lossy_only: bool = False, accounting: str | None = None
                      ) -> tuple[ExperimentConfig, bool]:
    """The config of a run: a JSON file or the embedded default, with overrides. Also whether it is the embedded
    default itself (which adds the shipped re-trained rows)."""
    from cfc_ref.experiment.config import check_config
    from cfc_ref.experiment.embedded import embedded_files

    config = load_config(path) if path else embedded_default()
    if output is not None:
        config = replace(config, output=output)
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
    if lossy_only:
        config = lossy_sweep(config, config.cfg, config.weights, config.splits, config.output, config.name)
    return check_config(config, path or "the embedded default"), not (path or weights or lossy_only)


@dataclass(frozen=True)
class Outcome:
    results: Path
    retrained: dict[str, Path]
    report: Path

    @property
    def summary(self) -> str:
        return report_summary(self.report)


def run_sweep(config: ExperimentConfig, engine: str = "local", address: str | None = None,
              progress: bool = True) -> Path:
    """One sweep with the chosen engine (spec E-8): ``local`` (processes on this machine) or ``ray``."""
    if engine == "ray":
        from cfc_ref.experiment.ray_engine import run_ray

        return run_ray(config, address, progress)
    if engine != "local":
        raise CfcError(f"engine must be local or ray, got {engine!r}")
    if address:
        raise CfcError("--address is for --engine ray")
    return run(config, progress=progress)


def run_protocol(config: ExperimentConfig, with_retrained: bool = False, progress: bool = True,
                 engine: str = "local", address: str | None = None) -> Outcome:
    """The sweep; with ``with_retrained``, the lossy sweeps of the shipped re-trained weights too (embedded
    default); then the report (Table 1, Figs. 1, 4, 5)."""
    from cfc_ref.experiment.embedded import embedded_files, retrained_weights

    results = run_sweep(config, engine, address, progress)
    retrained: dict[str, Path] = {}
    if with_retrained:
        for split in config.splits:
            weights = retrained_weights(split)
            if weights is not None:
                sweep = lossy_sweep(config, str(embedded_files()[0]), str(weights), (split,),
                                    f"{config.output}/retrained-{split}", f"re-trained at {split} (shipped)")
                retrained[split] = run_sweep(sweep, engine, address, progress)
    return Outcome(results, retrained, write_report(results, retrained=retrained))
