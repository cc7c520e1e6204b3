#!/usr/bin/env python3
"""Write golden/embedded/regression.json: KBPI and mAP of the embedded default at a few points (issue 5).

A REGRESSION PIN, not an independent derivation: the values come from this package's pipeline with the pinned x265,
so that any change anywhere in the pipeline (Q-layer, tiling, codec settings, model, metrics) shows as a failing
test. Regenerate only deliberately, with the reason in the commit message.

    python tools/make_golden_embedded.py --regenerate    # every row again (say why in the commit message)
    python tools/make_golden_embedded.py --extend        # add rows for settings not pinned yet; pinned rows stay
    python tools/make_golden_embedded.py --prune         # drop rows of settings the config no longer has; the kept
                                                         # rows stay as pinned (checked within C-1.2's tolerance)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from cfc_ref.codecs.hevc import encoder_name
from cfc_ref.experiment.local_engine import run
from cfc_ref.experiment.regression import REGRESSION_IMAGES, regression_config

OUT = Path(__file__).resolve().parent.parent / "golden" / "embedded" / "regression.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--regenerate", action="store_true", help="write every row again")
    mode.add_argument("--extend", action="store_true",
                      help="keep every pinned row as it is and add the settings the regression config has gained")
    mode.add_argument("--prune", action="store_true",
                      help="drop the rows of settings the regression config no longer has; the others stay as pinned")
    args = parser.parse_args()
    if OUT.exists() and not (args.regenerate or args.extend or args.prune):
        sys.exit(f"{OUT} exists; pass --regenerate, --extend or --prune (and say why in the commit message)")
    with tempfile.TemporaryDirectory() as tmp:
        rows = json.loads(run(regression_config(tmp), progress=False).read_text())["rows"]
    if args.prune:
        pinned = json.loads(OUT.read_text())
        fresh = {r["setting"]: r for r in rows}
        kept = [r for r in pinned["rows"] if r["setting"] in fresh]
        for row in kept:  # the kept pins must still hold (spec C-1.2 tolerances), or pruning would hide a change
            now = fresh[row["setting"]]
            if abs(now["kbpi"] - row["kbpi"]) > 1e-3 * row["kbpi"] or any(
                    abs(now[k] - row[k]) > 2e-3 for k in ("map_voc07", "map_all")):
                sys.exit(f"{row['setting']} no longer matches its pin: regenerate deliberately instead")
        if [r["setting"] for r in kept] != [r["setting"] for r in rows]:
            sys.exit("the config has settings that are not pinned: use --extend first")
        dropped = [r["setting"] for r in pinned["rows"] if r["setting"] not in fresh]
        print(f"keeping {len(kept)} pinned rows unchanged, dropping {len(dropped)}: {', '.join(dropped)}")
        rows = kept
    if args.extend:
        pinned = json.loads(OUT.read_text())
        if pinned["encoder"] != encoder_name("x265"):
            sys.exit(f"pinned with {pinned['encoder']}, this is {encoder_name('x265')}: extending would mix encoders")
        kept = {r["setting"]: r for r in pinned["rows"]}
        fresh = [r for r in rows if r["setting"] not in kept]
        rows = [kept.get(r["setting"], r) for r in rows]
        print(f"keeping {len(kept)} pinned rows, adding {len(fresh)}: {', '.join(r['setting'] for r in fresh)}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "schema": "cfc-ref-golden/1", "version": 1, "component": "embedded-regression",
        "comment": "regression pin of the embedded default (not independent); see tools/make_golden_embedded.py",
        "encoder": encoder_name("x265"), "images": REGRESSION_IMAGES,
        "rows": [{k: r[k] for k in ("setting", "kbpi", "map_voc07", "map_all")} for r in rows]}, indent=1) + "\n")
    print(f"{OUT}: {len(rows)} settings")


if __name__ == "__main__":
    main()
