"""What every command shares (spec E-6.3): the ``--json [FILE]`` convention and where notes go."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cfc_ref.fileio import check_output, write_output


def add_json(parser: argparse.ArgumentParser, what: str) -> None:
    """E-6.3: one --json convention for every command that produces results."""
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                        help=f"{what} as JSON: alone, on standard output instead of the text; with FILE, written "
                        "there as well as the text")


def check_json(args: argparse.Namespace, run_directories: tuple[str | Path, ...] = ()) -> None:
    """E-6.3: refuse a --json FILE that cannot be written before any work is done (an empty name, a run
    directory's own file: ``run_directories`` are the directories the command is about to make or use)."""
    if getattr(args, "json", None) is not None:
        check_output(args.json, "--json", run_directories)


def emit(args: argparse.Namespace, document: object, text: str | None, run_directories: tuple[str | Path, ...] = ()
         ) -> None:
    """Print ``text`` and/or write ``document`` as JSON, per --json (E-6.3; FILE through ``write_output``)."""
    import json

    payload = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    if args.json == "-":
        sys.stdout.write(payload)
        return
    if text is not None:
        print(text)
    if args.json is not None:
        write_output(args.json, payload.encode(), "--json", run_directories)


def note(args: argparse.Namespace, text: str) -> None:
    """A line that is not the results: on standard error under --json alone (E-6.3), else standard output."""
    print(text, file=sys.stderr if getattr(args, "json", None) == "-" else sys.stdout)
