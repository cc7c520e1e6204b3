"""The bjontegaard package (PyPI): bd_rate and bd_psnr with mAP as the quality, no minimum overlap (M-5.2)."""

from importlib.metadata import version

import bjontegaard

PROFILES = ("metrics.bd",)
VERSION = f"bjontegaard {version('bjontegaard')}"
OPTIONS = {"require_matching_points": False, "min_overlap": 0}


def _columns(points):
    return [p[0] for p in points], [p[1] for p in points]


def bd_rate(anchor, test, method):
    return float(bjontegaard.bd_rate(*_columns(anchor), *_columns(test), method=method, **OPTIONS))


def bd_metric(anchor, test, method):
    return float(bjontegaard.bd_psnr(*_columns(anchor), *_columns(test), method=method, **OPTIONS))
