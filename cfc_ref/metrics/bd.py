"""BD-KBPI-mAP: Bjøntegaard delta rate with mAP as the quality axis (spec M-5; VCEG-M33), and BD-mAP, the delta
metric at equal bits (M-5.5).

    result = bd_kbpi_map(anchor=[(kbpi, map), …], test=[(kbpi, map), …])     # result.percent < 0: test saves bits
    gain = bd_map(anchor, test)                                            # gain.delta > 0: test detects better
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.interpolate import PchipInterpolator

from cfc_ref.errors import MetricsError
from cfc_ref.metrics.monotonic import MonotonicCubic

METHODS = ("cubic", "pchip")  # what ``_area`` fits; the reading of M-5.6 chooses between these two
ALL_METHODS = (*METHODS, "monotonic")  # M-5.8's constrained cubic is shown beside them


MIN_RATE, MAX_RATE = 1e-6, 1e9  # M-5.3: kilobits per image a curve's rate may take (a bit per million images to
# 125 GB per image); beyond, every number of binary64 the fit needs stays far from overflow and underflow


@dataclass(frozen=True)
class BdResult:
    percent: float
    low: float  # overlap of the mAP ranges (M-5.2)
    high: float
    anchor_share: float  # overlap / the anchor's mAP range
    test_share: float
    method: str
    log_ratio: float  # the mean ln-rate gap behind ``percent`` (exp(log_ratio) − 1, in percent), kept exact


def _sorted_points(points: list[tuple[float, float]], name: str) -> tuple[np.ndarray, np.ndarray]:
    """The checks M-5.3 and M-5.5 share: at least 4 points, finite, rates > 0; returns (rate, mAP) sorted by rate."""
    if len(points) < 4:
        raise MetricsError(f"{name} curve has {len(points)} points; BD needs at least 4")
    rate = np.array([p[0] for p in points], dtype=np.float64)
    quality = np.array([p[1] for p in points], dtype=np.float64)
    if not (np.isfinite(rate).all() and np.isfinite(quality).all()) or (rate <= 0).any():
        raise MetricsError(f"{name} curve has a non-finite value or a rate <= 0")
    if ((rate < MIN_RATE) | (rate > MAX_RATE)).any():
        raise MetricsError(f"{name} curve has a rate outside [{MIN_RATE:g}, {MAX_RATE:g}] kilobits per image "
                           f"({rate.min():.3g}–{rate.max():.3g})")
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
    """M-5.1, M-5.2: average rate difference of ``test`` against ``anchor`` at equal mAP, in percent; with
    ``method="monotonic"``, through the constrained cubics of M-5.8."""
    if method == "monotonic":
        return _monotonic_rate(anchor, test)
    ra, qa = _curve(anchor, "anchor")
    rt, qt = _curve(test, "test")
    gap, low, high, anchor_share, test_share = _mean_gap((qa, ra), (qt, rt), method, "mAP")  # ln rate over mAP
    return BdResult((math.exp(gap) - 1.0) * 100.0, low, high, anchor_share, test_share, method, gap)


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
    """M-5.5: average mAP difference of ``test`` against ``anchor`` at equal KBPI (BD-PSNR with mAP); with
    ``method="monotonic"``, between the constrained cubics of M-5.8."""
    if method == "monotonic":
        return _monotonic_metric(anchor, test)
    ra, qa = _rate_curve(anchor, "anchor")
    rt, qt = _rate_curve(test, "test")
    gap, low, high, anchor_share, test_share = _mean_gap((ra, qa), (rt, qt), method, "KBPI")  # mAP over ln rate
    return BdMetricResult(float(gap), math.exp(low), math.exp(high), anchor_share, test_share, method)


def _fits(anchor: list[tuple[float, float]], test: list[tuple[float, float]]
          ) -> tuple[MonotonicCubic, MonotonicCubic]:
    """M-5.8: each curve's constrained cubic, after M-5.5's checks."""
    return (MonotonicCubic.fit(*_rate_curve(anchor, "anchor")), MonotonicCubic.fit(*_rate_curve(test, "test")))


def _monotonic_metric(anchor: list[tuple[float, float]], test: list[tuple[float, float]]) -> BdMetricResult:
    """M-5.8: BD-mAP between the fitted curves over the overlap of their ln KBPI ranges."""
    fa, ft = _fits(anchor, test)
    low, high = max(fa.low, ft.low), min(fa.high, ft.high)
    if not high > low:
        raise MetricsError(f"the curves' KBPI ranges do not overlap ({math.exp(fa.low):.4g}–{math.exp(fa.high):.4g} "
                           f"vs {math.exp(ft.low):.4g}–{math.exp(ft.high):.4g})")
    gap = (ft.integral(low, high) - fa.integral(low, high)) / (high - low)
    return BdMetricResult(float(gap), math.exp(low), math.exp(high), (high - low) / (fa.high - fa.low),
                          (high - low) / (ft.high - ft.low), "monotonic")


CONSTANT_FIT = 1e-12  # M-5.8: a fit whose mAP range is no wider than this is constant


def _monotonic_rate(anchor: list[tuple[float, float]], test: list[tuple[float, float]]) -> BdResult:
    """M-5.8: BD-KBPI-mAP between the fitted curves' inverses over the overlap of their fitted mAP ranges."""
    fa, ft = _fits(anchor, test)
    ranges = []
    for fit, name in ((fa, "anchor"), (ft, "test")):
        first, last = fit.range
        if last - first <= CONSTANT_FIT:
            raise MetricsError(f"the {name} curve's monotonic fit is constant ({first:.4f}): no rate is a function of "
                               "mAP")
        ranges.append((first, last))
    low, high = max(ranges[0][0], ranges[1][0]), min(ranges[0][1], ranges[1][1])
    if not high > low:
        raise MetricsError(f"the fitted curves' mAP ranges do not overlap ({ranges[0][0]:.4f}–{ranges[0][1]:.4f} vs "
                           f"{ranges[1][0]:.4f}–{ranges[1][1]:.4f})")

    def inverse_area(fit: MonotonicCubic) -> float:  # ∫ p⁻¹(m) dm over [low, high], by parts
        x_low, x_high = fit.inverse(low), fit.inverse(high)
        return high * x_high - low * x_low - fit.integral(x_low, x_high)

    gap = (inverse_area(ft) - inverse_area(fa)) / (high - low)
    return BdResult((math.exp(gap) - 1.0) * 100.0, low, high, (high - low) / (ranges[0][1] - ranges[0][0]),
                    (high - low) / (ranges[1][1] - ranges[1][0]), "monotonic", gap)


Quantity = Literal["bd_kbpi_percent", "bd_map"]  # BD-KBPI-mAP (M-5.1) and BD-mAP (M-5.5)
QUANTITIES: tuple[Quantity, ...] = ("bd_kbpi_percent", "bd_map")
QUANTITY_NAMES = {"bd_kbpi_percent": "BD-KBPI-mAP", "bd_map": "BD-mAP"}


def format_value(quantity: Quantity, value: float) -> str:
    """How a BD number is shown: a rate change in percent with two decimals, an mAP change with four."""
    return f"{value:+.2f} %" if quantity == "bd_kbpi_percent" else f"{value:+.4f}"


@dataclass(frozen=True)
class BdCell:
    """One fitting method's two numbers (M-5.5), each with its overlap, or the reason it could not be computed."""

    method: str
    rate: BdResult | None
    rate_error: str | None
    metric: BdMetricResult | None
    metric_error: str | None

    def value(self, quantity: Quantity) -> float | None:
        if quantity == "bd_kbpi_percent":
            return None if self.rate is None else self.rate.percent
        return None if self.metric is None else self.metric.delta

    def error(self, quantity: Quantity) -> str | None:
        return self.rate_error if quantity == "bd_kbpi_percent" else self.metric_error

    def shares(self, quantity: Quantity) -> tuple[float, float]:
        """The overlap as a share of the anchor's and of the test's range, on that number's axis."""
        result = self.rate if quantity == "bd_kbpi_percent" else self.metric
        assert result is not None, "shares of a number that was not computed"
        return result.anchor_share, result.test_share

    def to_json(self) -> dict:
        """The cell as ``cfc-ref metrics bd --json`` and ``table1.json`` write it."""
        cell: dict[str, object] = {}
        if self.rate is not None:
            cell.update(bd_kbpi_percent=self.rate.percent, map_overlap=[self.rate.low, self.rate.high],
                        map_overlap_share=[self.rate.anchor_share, self.rate.test_share])
        else:
            cell.update(bd_kbpi_percent=None, bd_kbpi_error=self.rate_error)
        if self.metric is not None:
            cell.update(bd_map=self.metric.delta, kbpi_overlap=[self.metric.low_kbpi, self.metric.high_kbpi],
                        kbpi_overlap_share=[self.metric.anchor_share, self.metric.test_share])
        else:
            cell.update(bd_map=None, bd_map_error=self.metric_error)
        return cell


@dataclass(frozen=True)
class Reading:
    """M-5.6: which method's number to read, its value, and the caveats that go with it."""

    method: str | None
    value: float | None
    caveats: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"method": self.method, "value": self.value, "caveats": list(self.caveats)}


@dataclass(frozen=True)
class BdSummary:
    """Both BD numbers for each method asked for and, when both methods ran, the reading of each (M-5.6)."""

    cells: dict[str, BdCell]  # by method, in METHODS order
    readings: dict[Quantity, Reading] | None = None

    def read(self, quantity: Quantity) -> Reading:
        assert self.readings is not None, "a reading needs both methods"
        return self.readings[quantity]

    def to_json(self) -> dict:
        out: dict[str, dict] = {method: cell.to_json() for method, cell in self.cells.items()}
        if self.readings is not None:
            out["read"] = {quantity: reading.to_json() for quantity, reading in self.readings.items()}
        return out

    def lines(self) -> list[str]:
        """The summary as ``cfc-ref metrics bd`` prints it: each method's numbers, then the numbers to read."""
        lines = []
        for method, cell in self.cells.items():
            lines.append(f"BD-KBPI-mAP ({method}): " + (
                f"{format_value('bd_kbpi_percent', cell.rate.percent)}   over mAP {cell.rate.low:.4f}–"
                f"{cell.rate.high:.4f}" if cell.rate is not None else f"n/a ({cell.rate_error})"))
            lines.append(f"BD-mAP ({method}): " + (
                f"{format_value('bd_map', cell.metric.delta)}   over KBPI {cell.metric.low_kbpi:.4g}–"
                f"{cell.metric.high_kbpi:.4g}" if cell.metric is not None else f"n/a ({cell.metric_error})"))
        for quantity, reading in (self.readings or {}).items():
            shown = "none" if reading.value is None else format_value(quantity, reading.value)
            lines.append(f"read {QUANTITY_NAMES[quantity]}: {shown}"
                         + (f" ({reading.method})" if reading.method else "")
                         + "".join(f"\n  caveat: {c}" for c in reading.caveats))
        return lines


def _cell(anchor: list[tuple[float, float]], test: list[tuple[float, float]], method: str) -> BdCell:
    rate = metric = None
    rate_error = metric_error = None
    try:
        rate = bd_kbpi_map(anchor, test, method)
    except MetricsError as err:
        rate_error = str(err)
    try:
        metric = bd_map(anchor, test, method)
    except MetricsError as err:
        metric_error = str(err)
    return BdCell(method, rate, rate_error, metric, metric_error)


SUMMARIES = {"both": METHODS, "all": ALL_METHODS}  # a summary of several methods, with the reading of M-5.6


def bd_summary(anchor: list[tuple[float, float]], test: list[tuple[float, float]], method: str = "both"
               ) -> BdSummary:
    """Both BD numbers for each method (M-5.5, M-5.8), a refusal as its reason: what ``cfc-ref metrics bd`` prints.
    ``method``: one of ``ALL_METHODS``, ``both`` (cubic and pchip, and the number to read) or ``all`` (those and
    the monotonic cubic beside them). When neither number could be computed by any method, the curves are the
    problem: a MetricsError."""
    if method not in (*ALL_METHODS, *SUMMARIES):
        raise MetricsError(f"method must be one of {', '.join((*ALL_METHODS, *SUMMARIES))}, got {method!r}")
    cells = {name: _cell(anchor, test, name) for name in SUMMARIES.get(method, (method,))}
    if all(c.rate is None and c.metric is None for c in cells.values()):
        raise MetricsError(str(next(iter(cells.values())).rate_error))
    readings = {q: read_bd(cells, q) for q in QUANTITIES} if method in SUMMARIES else None
    return BdSummary(cells, readings)


LOG_RATE_DISAGREEMENT = math.log(2.0)  # M-5.6: one method's rate ratio more than twice the other's
MAP_DISAGREEMENT = 0.02
POOR_OVERLAP = 0.5


def _apart(quantity: Quantity, first: BdCell, second: BdCell) -> float | None:
    """M-5.6: how far two methods' numbers are apart — the rate ratio between them (compared by their exact ln
    gaps, so a change of nearly −100 % compares as well as any) or the mAP difference — when it exceeds the bound;
    None when they agree well enough."""
    if quantity == "bd_kbpi_percent":
        gap = abs(first.rate.log_ratio - second.rate.log_ratio)  # type: ignore[union-attr]
        return math.exp(gap) if gap > LOG_RATE_DISAGREEMENT else None
    difference = abs(first.value(quantity) - second.value(quantity))  # type: ignore[operator]
    return difference if difference > MAP_DISAGREEMENT else None


def _disagreement(quantity: Quantity, cells: dict[str, BdCell]) -> str | None:
    """M-5.6: why cubic and pchip disagree too much to read cubic, or None."""
    apart = _apart(quantity, cells["cubic"], cells["pchip"])
    if apart is None:
        return None
    cubic, pchip = (format_value(quantity, cells[m].value(quantity)) for m in ("cubic", "pchip"))  # type: ignore[arg-type]
    how = f"rate ratios {apart:.1f}× apart" if quantity == "bd_kbpi_percent" else f"by {apart:.4f} mAP"
    if quantity == "bd_kbpi_percent":
        return f"cubic {cubic} and pchip {pchip} disagree ({how}): the cubic fit is unstable here, read pchip"
    return f"cubic {cubic} and pchip {pchip} disagree {how}: the cubic fit is unstable here, read pchip"


def read_bd(cells: dict[str, BdCell], quantity: Quantity) -> Reading:
    """M-5.6: which method's number to read (cubic unless the methods disagree beyond the bounds above, or only one
    gives a number), its value and the caveats; the overlap's shares are those of the cell read."""
    cubic, pchip = cells["cubic"].value(quantity), cells["pchip"].value(quantity)
    caveats: list[str] = []
    if cubic is not None and pchip is not None:
        why = _disagreement(quantity, cells)
        method = "cubic" if why is None else "pchip"
        caveats += [why] if why else []
    elif cubic is not None or pchip is not None:
        method = "cubic" if cubic is not None else "pchip"
        other = "pchip" if method == "cubic" else "cubic"
        caveats.append(f"only {method} gives a number ({other}: {cells[other].error(quantity)})")
    else:
        return Reading(None, None, (f"no number: {cells['cubic'].error(quantity)}",))
    monotonic = cells["monotonic"].value(quantity) if "monotonic" in cells else None
    if monotonic is not None and _apart(quantity, cells[method], cells["monotonic"]) is not None:
        caveats.append(f"the monotonic cubic (M-5.8) gives {format_value(quantity, monotonic)}, far from the "
                       f"{method} number read")
    anchor_share, test_share = cells[method].shares(quantity)
    if anchor_share < POOR_OVERLAP:
        axis = "mAP" if quantity == "bd_kbpi_percent" else "ln KBPI"
        caveats.append(f"poor overlap: the curves overlap over {100 * anchor_share:.0f} % of the anchor's {axis} "
                       f"range ({100 * test_share:.0f} % of the test's); the number describes only that part")
    return Reading(method, cells[method].value(quantity), tuple(caveats))
