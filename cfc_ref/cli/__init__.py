"""The cfc-ref command line: a thin layer over the API.

    cfc-ref                 # the main job: the paper's experiment on the embedded default (= cfc-ref run)
    cfc-ref run [CONFIG]    # the sweep (resumable), then Table 1 and Figs. 1, 4, 5
    cfc-ref report RESULTS  # Table 1 and figures from a results.json
    cfc-ref metrics map|bd  # VOC mAP and BD-KBPI-mAP for your own numbers
    cfc-ref demo            # Q-layer + tiling + wire-format round trip on built-in tensors
    cfc-ref inspect FILE    # parse a container strictly and list its records and bits
    cfc-ref codec encode|decode|check   # HEVC for conformance users (spec/codec.md)
    cfc-ref layers          # per-layer profile of YOLOv2-VOC (paper Fig. 1), table and PNG
    cfc-ref conformance --impl MODULE | --impl-cmd CMD   # check another implementation, per profile and clause
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from cfc_ref import __version__
from cfc_ref.cli import codec, conformance, detector, experiment, metrics, wire
from cfc_ref.cli.common import check_json
from cfc_ref.errors import CfcError

__all__ = ["build_parser", "main"]

EPILOG = """\
Without a command, cfc-ref runs the main job: `cfc-ref run` on the embedded default (the paper's experiment on a
synthetic stand-in, a few minutes on 2 cores; resumable).

Every command that produces results takes --json [FILE] (spec E-6.3): --json alone prints the results as one JSON
document on standard output and nothing else there; --json FILE writes it to FILE and prints the usual text.

Exit status (spec E-6.2): 0 success; 1 a check found a failure (a vector not reproduced, a conformance test
failed); 2 an error you can fix (bad input, one line); 3 an internal error (a bug: one line, CFC_DEBUG=1 shows the
traceback); 130 interrupted (finished results are kept).
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Help that shows each option's default where it has one (E-6.3)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (action.default not in (None, False, "", [], argparse.SUPPRESS) and "default" not in text
                and action.option_strings):
            shown = " ".join(map(str, action.default)) if isinstance(action.default, list) else action.default
            text += f" (default: {shown})"
        return text


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line (spec E-6.1), pointing at --help instead of repeating the usage."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """Every command's parser; building it imports neither torch nor PyAV (E-10.3)."""
    parser = _Parser(prog="cfc-ref", description=__doc__.splitlines()[0], epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"cfc-ref {__version__}")
    parser.set_defaults(func=experiment.cmd_run, config=None, output=None, limit=None, workers=None, quiet=False,
                        weights=None, cfg=None, splits=None, lossy_only=False, accounting=None, engine="local",
                        address=None, json=None, reference=False)
    sub = parser.add_subparsers(dest="command")
    for group in (wire, codec, metrics, experiment, detector, conformance):
        group.add_commands(sub)
    return parser


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def main(argv: list[str] | None = None) -> int:
    """Exit 0 on success, 1 when a check found a failure, 2 on bad input (one line, spec E-6.1), 3 on an internal
    error (a bug: one line too, with the traceback only under CFC_DEBUG=1), 130 when interrupted."""
    for stream in (sys.stdout, sys.stderr):  # E-6.1: a terminal that cannot show a character gets a '?', no error
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        argv = ["run", *argv]  # bare cfc-ref is cfc-ref run (E-6.2): its options too (cfc-ref --quiet)
    args = build_parser().parse_args(argv)
    try:
        check_json(args)  # E-6.3: a --json FILE that cannot be written is refused before any work
        return int(args.func(args))
    except CfcError as err:
        print(f"cfc-ref: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        print(f"cfc-ref: error: {where}{_one_line(err.strerror or err)}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] != "torch":
            return _internal_error(err)
        print("cfc-ref: error: this command needs torch, which is not installed: python -m pip install "
              "torch==2.13.0 (the version the golden vectors were made with; the extra 'torch')", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cfc-ref: interrupted (finished results are kept; run the same command again to resume)",
              file=sys.stderr)
        return 130
    except Exception as err:
        return _internal_error(err)


def _internal_error(err: Exception) -> int:
    if os.environ.get("CFC_DEBUG"):
        raise err
    print(f"cfc-ref: internal error: {type(err).__name__}: {_one_line(err)[:300]} (a bug in cfc-ref: please "
          "report it; CFC_DEBUG=1 shows the traceback)", file=sys.stderr)
    return 3
