"""``cfc-ref conformance``: the conformance suite against another implementation (spec/conformance.md)."""

from __future__ import annotations

import argparse
import sys

from cfc_ref.cli.common import add_json, emit


def add_commands(sub: argparse._SubParsersAction) -> None:
    conf = sub.add_parser("conformance", help="the conformance suite against an implementation, per profile and "
                                              "clause (spec/conformance.md)")
    conf.add_argument("--impl", help="adapter module (default: $CFC_IMPL, else the reference)")
    conf.add_argument("--impl-cmd", help="an executable speaking the JSON-lines process protocol (spec C-2.5)")
    conf.add_argument("--profile", action="append", help="run only this profile (repeatable): wire, metrics, "
                                                         "metrics.ap, metrics.bd, detector, …, codec, codec.encode")
    conf.add_argument("--xfail", help="file of vector ids expected to fail (one per line)")
    conf.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                      help="seconds an --impl-cmd adapter has for one answer (default 60; spec C-2.5)")
    conf.add_argument("--deadline", type=float, default=None, metavar="SECONDS",
                      help="seconds an --impl-cmd adapter has for the whole run (default 3600)")
    add_json(conf, "the report (every test, its profile, clauses, outcome)")
    conf.set_defaults(func=_cmd_conformance)


def _cmd_conformance(args: argparse.Namespace) -> int:
    from cfc_ref.conformance.runner import format_table, run_suite

    outcome = run_suite(args.impl, args.impl_cmd, args.profile, args.xfail, args.timeout, args.deadline,
                        progress=sys.stderr.isatty() and not args.json == "-")
    emit(args, outcome, format_table(outcome))
    return 0 if outcome["exit"] in (0, 5) and not any(r["outcome"] == "failed" for r in outcome["results"]) else 1
