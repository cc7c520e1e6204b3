"""``cfc-ref conformance``: the conformance suite against another implementation, and the comparison of two of its
reports (spec/conformance.md)."""

from __future__ import annotations

import argparse
import sys

from cfc_ref.cli.common import add_json, emit


def add_commands(sub: argparse._SubParsersAction) -> None:
    conf = sub.add_parser("conformance", help="the conformance suite against an implementation, per profile and "
                                              "clause (spec/conformance.md)",
                          description="Run the suite (spec C-2.8), or `cfc-ref conformance compare A.json B.json` "
                          "to see what changed between two reports.")
    conf.add_argument("--impl", help="adapter module (default: $CFC_IMPL, else the reference)")
    conf.add_argument("--impl-cmd", help="an executable speaking the JSON-lines process protocol (spec C-2.5)")
    conf.add_argument("--profile", action="append", help="run only this profile (repeatable): wire, metrics, "
                                                         "metrics.ap, metrics.bd, detector, …, codec, codec.encode")
    conf.add_argument("--xfail", help="file of vector ids expected to fail (one per line)")
    conf.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                      help="seconds an --impl-cmd adapter has for one answer (default: by profile, 10 s for wire "
                      "and metrics, more for detector and codec; spec C-2.5)")
    conf.add_argument("--deadline", type=float, default=None, metavar="SECONDS",
                      help="seconds an --impl-cmd adapter has for the whole run (default 3600)")
    conf.add_argument("--junit-xml", metavar="FILE", help="also write the outcomes as JUnit XML (for CI systems)")
    add_json(conf, "the report (suite version and catalogue digest, implementation, environment, every test)")
    conf_sub = conf.add_subparsers(dest="conformance_command", metavar="compare")
    compare = conf_sub.add_parser("compare", help="what changed between two conformance reports (--json FILE of two "
                                                  "runs); exit 1 when a test got worse")
    compare.add_argument("before", help="the earlier report (JSON)")
    compare.add_argument("after", help="the later report (JSON)")
    add_json(compare, "the differences")
    conf.set_defaults(func=_cmd_conformance)


def _cmd_conformance(args: argparse.Namespace) -> int:
    if getattr(args, "conformance_command", None) == "compare":
        from cfc_ref.conformance.compare import compare, format_comparison, read_report

        diff = compare(read_report(args.before), read_report(args.after))
        emit(args, diff, format_comparison(diff, args.before, args.after))
        return 1 if diff["regressions"] else 0
    from cfc_ref.conformance.runner import format_table, run_suite
    from cfc_ref.fileio import check_output, write_output

    if args.junit_xml is not None:
        check_output(args.junit_xml, "--junit-xml")  # E-6.3: before any work
    outcome = run_suite(args.impl, args.impl_cmd, args.profile, args.xfail, args.timeout, args.deadline,
                        progress=sys.stderr.isatty() and not args.json == "-")
    if args.junit_xml is not None:
        from cfc_ref.conformance.junit import junit_xml

        write_output(args.junit_xml, junit_xml(outcome), "--junit-xml")
    emit(args, outcome, format_table(outcome))
    return 0 if outcome["exit"] in (0, 5) and not any(r["outcome"] == "failed" for r in outcome["results"]) else 1
