"""What every command shares (spec E-6.3): the ``--json [FILE]`` convention and where notes go."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_json(parser: argparse.ArgumentParser, what: str) -> None:
    """E-6.3: one --json convention for every command that produces results."""
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                        help=f"{what} as JSON: alone, on standard output instead of the text; with FILE, written "
                        "there as well as the text")


def emit(args: argparse.Namespace, document: object, text: str | None) -> None:
    """Print ``text`` and/or write ``document`` as JSON, per --json (E-6.3)."""
    import json

    payload = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    if args.json == "-":
        sys.stdout.write(payload)
        return
    if text is not None:
        print(text)
    if args.json:
        from cfc_ref.fileio import write_atomic

        write_atomic(Path(args.json), payload.encode())


def note(args: argparse.Namespace, text: str) -> None:
    """A line that is not the results: on standard error under --json alone (E-6.3), else standard output."""
    print(text, file=sys.stderr if getattr(args, "json", None) == "-" else sys.stdout)
