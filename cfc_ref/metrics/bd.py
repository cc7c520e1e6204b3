"""BD-KBPI-mAP: Bjøntegaard delta rate with mAP as the quality axis (spec M-5; VCEG-M33), and BD-mAP, the delta
metric at equal bits (M-5.5).

    result = bd_kbpi_map(anchor=[(kbpi, map), …], test=[(kbpi, map), …])     # result.percent < 0: test saves bits
    gain = bd_map(anchor, test)                                            # gain.delta > 0: test detects better
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

from cfc_ref.errors import MetricsError

METHODS = ("cubic", "pchip")


@dataclass(frozen=True)
class BdResult:
    percent: float
    low: float  # overlap of the mAP ranges (M-5.2)
    high: float
    anchor_share: float  # overlap / the anchor's mAP range
    test_share: float
    method: str


def _sorted_points(points: list[tuple[float, float]], name: str) -> tuple[np.ndarray, np.ndarray]:
    """The checks M-5.3 and M-5.5 share: at least 4 points, finite, rates > 0; returns (rate, mAP) sorted by rate."""
    if len(points) < 4:
        raise MetricsError(f"{name} curve has {len(points)} points; BD needs at least 4")
    rate = np.array([p[0] for p in points], dtype=np.float64)
    quality = np.array([p[1] for p in points], dtype=np.float64)
    if not (np.isfinite(rate).all() and np.isfinite(quality).all()) or (rate <= 0).any():
        raise MetricsError(f"{name} curve has a non-finite value or a rate <= 0")
    if ((quality < 0) | (quality > 1)).any():
        raise MetricsError(f"{name} curve has an mAP outside [0, 1]")
    order = np.argsort(rate, kind="stable")
    return rate[order], quality[order]


def _curve(points: list[tuple[float, float]], name: str) -> tuple[np.ndarray, np.ndarray]:
    """M-5.3 checks; returns (ln rate, mAP) sorted by rate."""
    rate, quality = _sorted_points(points, name)
    if len(np.unique(quality)) != len(quality):
        raise MetricsError(f"{name} curve repeats an mAP value; the rate is not a function of mAP")
    if (np.diff(quality) <= 0).any() or (np.diff(rate) <= 0).any():
        raise MetricsError(f"{name} curve is not monotonic: mAP must increase with the rate")
    return np.log(rate), quality


def _area(x: np.ndarray, y: np.ndarray, low: float, high: float, method: str) -> float:
    """∫ y(x) dx over [low, high], y fitted over x: a least-squares cubic (M-5.1) or a pchip interpolant."""
    if method == "cubic":
        antiderivative = np.polynomial.Polynomial.fit(x, y, 3).convert().integ()
        return float(antiderivative(high) - antiderivative(low))
    return float(PchipInterpolator(x, y).integrate(low, high))


def _mean_gap(anchor: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], method: str,
              axis: str) -> tuple[float, float, float, float, float]:
    """The Bjøntegaard step both deltas share: over the overlap of the curves' x ranges, the mean of
    ``y_test(x) − y_anchor(x)``; returns (mean gap, low, high, overlap share of the anchor, of the test)."""
    if method not in METHODS:
        raise MetricsError(f"method must be one of {METHODS}, got {method!r}")
    (xa, ya), (xt, yt) = anchor, test
    low, high = max(xa.min(), xt.min()), min(xa.max(), xt.max())
    if not high > low:
        shown = (lambda v: f"{math.exp(v):.4g}") if axis == "KBPI" else (lambda v: f"{v:.4f}")  # x is ln KBPI there
        raise MetricsError(f"the curves' {axis} ranges do not overlap ({shown(xa.min())}–{shown(xa.max())} vs "
                           f"{shown(xt.min())}–{shown(xt.max())})")
    gap = (_area(xt, yt, low, high, method) - _area(xa, ya, low, high, method)) / (high - low)
    return gap, float(low), float(high), float((high - low) / (xa.max() - xa.min())), float(
        (high - low) / (xt.max() - xt.min()))


def bd_kbpi_map(anchor: list[tuple[float, float]], test: list[tuple[float, float]], method: str = "cubic"
                ) -> BdResult:
    """M-5.1, M-5.2: average rate difference of ``test`` against ``anchor`` at equal mAP, in percent."""
    ra, qa = _curve(anchor, "anchor")
    rt, qt = _curve(test, "test")
    gap, low, high, anchor_share, test_share = _mean_gap((qa, ra), (qt, rt), method, "mAP")  # ln rate over mAP
    return BdResult((math.exp(gap) - 1.0) * 100.0, low, high, anchor_share, test_share, method)


@dataclass(frozen=True)
class BdMetricResult:
    delta: float  # average mAP difference, test − anchor, at equal KBPI (M-5.5)
    low_kbpi: float  # overlap of the KBPI ranges
    high_kbpi: float
    anchor_share: float  # overlap / the anchor's ln-KBPI range
    test_share: float
    method: str


def _rate_curve(points: list[tuple[float, float]], name: str) -> tuple[np.ndarray, np.ndarray]:
    """M-5.5 checks; returns (ln rate, mAP) sorted by rate."""
    rate, quality = _sorted_points(points, name)
    if (np.diff(rate) <= 0).any():
        raise MetricsError(f"{name} curve repeats a KBPI value; mAP is not a function of the rate")
    return np.log(rate), quality


def bd_map(anchor: list[tuple[float, float]], test: list[tuple[float, float]], method: str = "cubic"
           ) -> BdMetricResult:
    """M-5.5: average mAP difference of ``test`` against ``anchor`` at equal KBPI (BD-PSNR with mAP)."""
    ra, qa = _rate_curve(anchor, "anchor")
    rt, qt = _rate_curve(test, "test")
    gap, low, high, anchor_share, test_share = _mean_gap((ra, qa), (rt, qt), method, "KBPI")  # mAP over ln rate
    return BdMetricResult(float(gap), math.exp(low), math.exp(high), anchor_share, test_share, method)


def bd_summary(anchor: list[tuple[float, float]], test: list[tuple[float, float]], method: str = "both") -> dict:
    """Both BD numbers for each method (M-5.5), a refusal as its reason: what ``cfc-ref metrics bd`` prints."""
    if method not in (*METHODS, "both"):
        raise MetricsError(f"method must be one of {METHODS} or both, got {method!r}")
    out: dict[str, dict] = {}
    for name in METHODS if method == "both" else (method,):
        cell: dict[str, object] = {}
        try:
            rate = bd_kbpi_map(anchor, test, name)
            cell.update(bd_kbpi_percent=rate.percent, map_overlap=[rate.low, rate.high],
                        map_overlap_share=[rate.anchor_share, rate.test_share])
        except MetricsError as err:
            cell.update(bd_kbpi_percent=None, bd_kbpi_error=str(err))
        try:
            metric = bd_map(anchor, test, name)
            cell.update(bd_map=metric.delta, kbpi_overlap=[metric.low_kbpi, metric.high_kbpi],
                        kbpi_overlap_share=[metric.anchor_share, metric.test_share])
        except MetricsError as err:
            cell.update(bd_map=None, bd_map_error=str(err))
        out[name] = cell
    if all(c["bd_kbpi_percent"] is None and c["bd_map"] is None for c in out.values()):
        first = next(iter(out.values()))
        raise MetricsError(str(first["bd_kbpi_error"]))  # nothing could be computed: the curves are the problem
    if method == "both":
        out["read"] = {key: read_bd(out, key) for key in ("bd_kbpi_percent", "bd_map")}
    return out


LOG_RATE_DISAGREEMENT = math.log(2.0)  # M-5.6: one method's rate ratio more than twice the other's
MAP_DISAGREEMENT = 0.02
POOR_OVERLAP = 0.5


def read_bd(cells: dict, key: str) -> dict:
    """M-5.6: which method's number to read, its value and the caveats, from ``bd_summary``'s cubic and pchip cells
    (``key``: ``bd_kbpi_percent`` or ``bd_map``; the overlap's shares are those of the cell read).

    ``{"method": "cubic" | "pchip" | None, "value": float | None, "caveats": [str, …]}``"""
    cubic, pchip = cells["cubic"][key], cells["pchip"][key]
    caveats: list[str] = []
    if cubic is not None and pchip is not None:
        if key == "bd_kbpi_percent":
            gap = abs(math.log1p(cubic / 100.0) - math.log1p(pchip / 100.0))
            disagree = gap > LOG_RATE_DISAGREEMENT
            why = (f"cubic {cubic:+.2f} % and pchip {pchip:+.2f} % disagree (rate ratios {math.exp(gap):.1f}× "
                   "apart): the cubic fit is unstable here, read pchip")
        else:
            disagree = abs(cubic - pchip) > MAP_DISAGREEMENT
            why = (f"cubic {cubic:+.4f} and pchip {pchip:+.4f} disagree by {abs(cubic - pchip):.4f} mAP: the cubic "
                   "fit is unstable here, read pchip")
        method = "pchip" if disagree else "cubic"
        if disagree:
            caveats.append(why)
    elif cubic is not None or pchip is not None:
        method = "cubic" if cubic is not None else "pchip"
        other = "pchip" if method == "cubic" else "cubic"
        error = cells[other][key.replace("_percent", "") + "_error"]
        caveats.append(f"only {method} gives a number ({other}: {error})")
    else:
        return {"method": None, "value": None,
                "caveats": [f"no number: {cells['cubic'][key.replace('_percent', '') + '_error']}"]}
    shares = cells[method]["map_overlap_share" if key == "bd_kbpi_percent" else "kbpi_overlap_share"]
    if shares[0] < POOR_OVERLAP:
        axis = "mAP" if key == "bd_kbpi_percent" else "ln KBPI"
        caveats.append(f"poor overlap: the curves overlap over {100 * shares[0]:.0f} % of the anchor's {axis} range "
                       f"({100 * shares[1]:.0f} % of the test's); the number describes only that part")
    return {"method": method, "value": cells[method][key], "caveats": caveats}
