#!/usr/bin/env python3
"""Write golden/embedded/regression.json: KBPI and mAP of the embedded default at a few points (issue 5).

A REGRESSION PIN, not an independent derivation: the values come from this package's pipeline with the pinned x265,
so that any change anywhere in the pipeline (Q-layer, tiling, codec settings, model, metrics) shows as a failing
test. Regenerate only deliberately, with the reason in the commit message.

    python tools/make_golden_embedded.py --regenerate    # every row again (say why in the commit message)
    python tools/make_golden_embedded.py --extend        # add rows for settings not pinned yet; pinned rows stay
    python tools/make_golden_embedded.py --prune         # drop rows of settings the config no longer has; the kept
                                                         # rows stay as pinned (checked within C-1.2's tolerance)
    python tools/make_golden_embedded.py --main-job --regenerate [--from RUN]
        # golden/embedded/main_job.json: the numbers the README quotes from the main job (Table 1, the curves' KBPI
        # ranges, mAP at QP 47), from a fresh `cfc-ref run` (a few minutes) or a finished run of it in RUN; prints
        # the README's Table 1 rows from it (tests/test_readme_numbers.py checks the README against this pin)
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
    parser.add_argument("--main-job", action="store_true", help="pin the main job's quoted numbers instead")
    parser.add_argument("--from", dest="source", help="with --main-job: a finished `cfc-ref run` directory")
    args = parser.parse_args()
    if args.main_job:
        return pin_main_job(args.regenerate, args.source)
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


def pin_main_job(regenerate: bool, source: str | None) -> None:
    import subprocess

    from cfc_ref import __version__
    from cfc_ref.experiment.regression import MAIN_JOB_PIN, main_job_pin, readme_table1

    out = OUT.parent / MAIN_JOB_PIN
    if out.exists() and not regenerate:
        sys.exit(f"{out} exists; pass --regenerate (and say why in the commit message)")
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(source) if source else Path(tmp) / "run"
        if not source:
            subprocess.run([sys.executable, "-m", "cfc_ref.cli", "run", "--output", str(run_dir), "--quiet"],
                           check=True, stdout=subprocess.DEVNULL)
        config = json.loads((run_dir / "config.json").read_text())
        from cfc_ref.experiment.config import embedded_default

        expected = json.loads(embedded_default(config["output"]).to_json())
        if config != expected:
            sys.exit(f"{run_dir} is not a run of the embedded default (its config.json differs)")
        pin = main_job_pin(run_dir)
    document = {"schema": "cfc-ref-golden/1", "version": 1, "component": "embedded-main-job",
                "comment": "regression pin of the main job's numbers the README quotes (not independent); see "
                           "tools/make_golden_embedded.py --main-job", "encoder": encoder_name("x265"),
                "cfc_ref": __version__, **pin}
    out.write_text(json.dumps(document, indent=1) + "\n")
    print(f"{out}: {len(pin['table1'])} Table 1 rows; the README's table from it:")
    print("\n".join(readme_table1(document)))


if __name__ == "__main__":
    main()
