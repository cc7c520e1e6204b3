#!/usr/bin/env python3
"""List every normative clause of spec/ with the tests that cite it; exit 1 if any is uncited (spec C-4.1)."""

import sys
from pathlib import Path

from cfc_ref.conformance.spec_coverage import report

if __name__ == "__main__":
    lines, missing = report(Path(__file__).resolve().parent.parent)
    print("\n".join(lines))
    print(f"\n{len(lines) - len(missing)} of {len(lines)} normative clauses cited"
          + (f"; uncited: {', '.join(missing)}" if missing else ""))
    sys.exit(1 if missing else 0)
