"""``cfc-ref run``, ``report`` and ``train``: the paper's protocol, its report, compression-augmented training
(spec/experiment.md, spec/training.md)."""

from __future__ import annotations

import argparse

from cfc_ref import __version__
from cfc_ref.cli.common import add_json, check_json, emit, note
from cfc_ref.errors import CfcError


def add_commands(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="compression-augmented training (paper §3.3), resumable")
    train.add_argument("config", nargs="?", help="training JSON (default: the embedded default, split max_11)")
    train.add_argument("--split", help="split point whose features are coded in the loop, e.g. max_17")
    train.add_argument("--mode", choices=["codec", "proxy", "none"],
                       help="what the features go through in the loop: the codec (paper §3.3, spec R-1), uniform "
                       "noise of the Q-layer's step (R-2), or nothing (default: the config's, codec)")
    train.add_argument("--iterations", type=int, help="training iterations (default: the config's)")
    train.add_argument("--seed", type=int, help="random seed (default: the config's)")
    train.add_argument("--output", help="output directory (default: the config's, or runs/train-SPLIT with --split)")
    train.set_defaults(func=_cmd_train)
    run = sub.add_parser("run", help="the paper's sweep: splits × bit depths × QPs + cloud-only (resumable)")
    run.add_argument("config", nargs="?", help="experiment JSON (default: the embedded default)")
    run.add_argument("--output", help="override the output directory")
    run.add_argument("--limit", type=int, help="use only the first N images")
    run.add_argument("--workers", type=int, help="processes (default: the CPUs this process may run on, spec E-10.5)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--weights", help="Darknet weights to use instead of the config's model")
    run.add_argument("--cfg", help="cfg for --weights (default: the config's, or the embedded default's)")
    run.add_argument("--splits", nargs="+", help="split points to sweep, e.g. max_11 max_17")
    run.add_argument("--lossy-only", action="store_true", help="only the lossy split points (re-trained rows)")
    run.add_argument("--engine", choices=["local", "ray"], default="local",
                     help="local processes (default) or a Ray cluster (python -m pip install 'ray>=2.60,<3'; spec E-8)")
    run.add_argument("--address", help="Ray cluster address for --engine ray (default: start a local one)")
    run.add_argument("--accounting", choices=["deployable", "paper", "both"],
                     help="what a split sends and counts (spec E-7): every crossing tensor (deployable), only the "
                     "split layer's own (paper), or both (default: the config's)")
    run.add_argument("--reference", action="store_true",
                     help="compute every stage with its readable reference instead of its fast twin (spec E-12; the "
                     "same numbers, slower)")
    run.add_argument("--quantizers", type=_quantizer_list, metavar="paper[,fcm]",
                     help="the Q-layer variants to sweep (spec E-14): the paper's eq. (2) and/or FCM's fixed-range, "
                     "floor quantizer (its ranges: the config's fcm_ranges; the embedded default carries its own); "
                     "default: the config's, paper")
    add_json(run, "the paths written, Table 1 and the timing")
    run.set_defaults(func=cmd_run)
    report = sub.add_parser("report", help="Table 1 and Figs. 1, 4, 5 from a results.json")
    report.add_argument("results", help="a run's results.json; the report is written beside it")
    report.add_argument("--no-layers", action="store_true", help="skip Fig. 1 (layer profile)")
    report.add_argument("--retrained", action="append", default=[], metavar="SPLIT=RESULTS",
                        help="results.json of a run with re-trained weights for SPLIT (Table 1 row, dashed curve); "
                        "repeatable (default: retrained-SPLIT/results.json found beside RESULTS)")
    add_json(report, "the paths written and Table 1")
    report.set_defaults(func=_cmd_report)
    compare = sub.add_parser("compare", help="where two runs diverge: the features each back end received, unit by "
                                             "unit (spec E-13)",
                             description="Compares two run directories by the SHA-256 of every feature tensor the "
                             "back end received (spec E-9.7) and names the first unit and tensor where they differ. "
                             "Exit 1 when they differ.")
    compare.add_argument("first", help="a run directory (with results.sqlite)")
    compare.add_argument("second", help="another run directory")
    add_json(compare, "the comparison")
    compare.set_defaults(func=_cmd_compare)


def _quantizer_list(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(","))
    if not all(names) or any(name not in ("paper", "fcm") for name in names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"expected paper, fcm or paper,fcm, got {text!r}")
    return names


def cmd_run(args: argparse.Namespace) -> int:
    from cfc_ref.experiment.protocol import experiment_config, run_protocol

    config, embedded = experiment_config(args.config, output=args.output, limit=args.limit, workers=args.workers,
                                         weights=args.weights, cfg=args.cfg, splits=args.splits,
                                         lossy_only=args.lossy_only, accounting=args.accounting,
                                         reference=args.reference, quantizers=args.quantizers)
    from cfc_ref.experiment.protocol import sweeps_of

    run_directories = tuple(sweep.output for sweep in sweeps_of(config, embedded).values())
    check_json(args, run_directories)  # E-6.3: before any work
    note(args, f"cfc-ref {__version__}: {config.name} -> {config.output}")
    outcome = run_protocol(config, with_retrained=embedded, progress=not args.quiet, engine=args.engine,
                           address=args.address)
    emit(args, {"results": str(outcome.results), **outcome.report.to_json(), "timing": outcome.timing},
         f"{outcome.report.summary}\nResults: {outcome.results}", run_directories)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from cfc_ref.experiment.report import write_report

    retrained = {}
    for item in args.retrained:
        split, sep, path = item.partition("=")
        if not (sep and split and path):
            raise CfcError(f"--retrained {item!r}: expected SPLIT=RESULTS, e.g. max_11=runs/x/results.json")
        retrained[split] = path
    from pathlib import Path

    run_directories = (Path(args.results).parent,)  # the report writes its files there
    check_json(args, run_directories)
    report = write_report(args.results, layer_figure=not args.no_layers, retrained=retrained)
    emit(args, report.to_json(), report.summary, run_directories)
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cfc_ref.experiment.compare import compare_runs, format_comparison

    report = compare_runs(Path(args.first), Path(args.second))
    emit(args, report, format_comparison(report))
    return 0 if report["equal"] else 1


def _cmd_train(args: argparse.Namespace) -> int:
    from cfc_ref.training.run import TrainConfig, load_train_config, train_run, with_overrides

    config = load_train_config(args.config) if args.config else TrainConfig()
    config = with_overrides(config, split=args.split, mode=args.mode, iterations=args.iterations,
                            output=args.output, seed=args.seed)
    if args.split is not None and args.output is None and not args.config:
        config = with_overrides(config, output=f"runs/train-{args.split}")
    out = train_run(config)
    print(f"trained weights: {out / 'model.weights'} (cfg {out / 'model.cfg'}); loss curve {out / 'loss.png'}")
    return 0
