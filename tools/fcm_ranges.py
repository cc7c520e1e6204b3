#!/usr/bin/env python3
"""FCM's fixed ranges (spec E-14.3): the min and max of each coded tensor over the first 200 training images.

    python tools/fcm_ranges.py                      # the embedded default's, printed as a config's "fcm_ranges"
    python tools/fcm_ranges.py CONFIG.json          # a VOC config's (its dataset's trainval images)
    python tools/fcm_ranges.py --write              # pin the embedded default's in cfc_ref/zoo/fcm_ranges.json

``--write`` is a deliberate act, like regenerating a golden file: say why in the commit message
(tests/test_fcm_quantizer.py recomputes the pinned ranges and fails when they differ).
"""

from __future__ import annotations

import argparse
import json
import sys


def main() -> int:
    from cfc_ref.experiment.config import embedded_default, load_config
    from cfc_ref.experiment.fcm_ranges import RANGE_IMAGES, dataset_ranges, ranges_document
    from cfc_ref.zoo import fcm_ranges_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", help="an experiment config (default: the embedded default)")
    parser.add_argument("--images", type=int, default=RANGE_IMAGES)
    parser.add_argument("--write", action="store_true", help="pin the embedded default's ranges in cfc_ref/zoo")
    args = parser.parse_args()
    if args.write and args.config:
        parser.error("--write pins the embedded default's ranges only")
    config = load_config(args.config) if args.config else embedded_default("/nonexistent-output")
    ranges = dataset_ranges(config, args.images)
    if args.write:
        fcm_ranges_path().write_text(ranges_document(ranges, args.images))
        print(f"wrote {fcm_ranges_path()}")
    print(json.dumps({"fcm_ranges": {name: list(pair) for name, pair in ranges.items()}}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
