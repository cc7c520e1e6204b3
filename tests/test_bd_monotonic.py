"""The monotonic constrained cubic (spec M-5.8, issue 33): the fit meets its constraints, is the least-squares optimum
under them (checked against an independent optimiser), equals the plain cubic where that one already meets them,
and its BD numbers refuse what the clause refuses."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from cfc_ref.errors import MetricsError
from cfc_ref.metrics.bd import bd_kbpi_map, bd_map, bd_summary
from cfc_ref.metrics.monotonic import MonotonicCubic

spec = pytest.mark.spec

CURVES = st.lists(st.tuples(st.floats(0.5, 500.0), st.floats(0.0, 1.0)), min_size=4, max_size=10,
                  unique_by=lambda p: round(math.log(p[0]), 3))


def _xy(points: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    points = sorted(points)
    return np.log([p[0] for p in points]), np.array([p[1] for p in points])


def _objective(fit: MonotonicCubic, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum((fit(x) - y) ** 2))


@spec("M-5.8")
@settings(max_examples=150, deadline=None)
@given(CURVES)
def test_the_fit_meets_every_constraint_and_is_non_decreasing_and_concave_between_the_points(points):
    x, y = _xy(points)
    fit = MonotonicCubic.fit(x, y)
    grid = np.linspace(x[0], x[-1], 401)
    values = fit(grid)
    scale = max(1.0, float(np.abs(values).max()))
    assert (np.diff(values) >= -1e-9 * scale).all()  # non-decreasing over [x_1, x_n]
    assert (np.diff(values, 2) <= 1e-9 * scale).all()  # concave
    first, last = fit.range
    assert first >= -1e-9 and last <= 1 + 1e-9


@spec("M-5.8")
@settings(max_examples=60, deadline=None)
@given(CURVES)
def test_the_fit_is_the_constrained_optimum_an_independent_optimiser_finds(points):
    """SLSQP from several starts, on the same constraints written independently (raw x, not the scaled u)."""
    x, y = _xy(points)
    fit = MonotonicCubic.fit(x, y)

    def value(c, at):  # noqa: ANN001, ANN202
        return c[0] + c[1] * at + c[2] * at**2 + c[3] * at**3

    constraints = [{"type": "ineq", "fun": lambda c: c[1] + 2 * c[2] * x + 3 * c[3] * x**2},
                   {"type": "ineq", "fun": lambda c: -(2 * c[2] + 6 * c[3] * x)},
                   {"type": "ineq", "fun": lambda c: value(c, x[0])},
                   {"type": "ineq", "fun": lambda c: 1 - value(c, x[-1])}]
    best = math.inf
    for start in ([0.5, 0, 0, 0], [0, 0.1, 0, 0], [float(np.mean(y)), 0.05, -0.01, 0]):
        result = minimize(lambda c: float(np.sum((value(c, x) - y) ** 2)), np.array(start, dtype=float),
                          method="SLSQP", constraints=constraints, options={"ftol": 1e-15, "maxiter": 2000})
        feasible = all((con["fun"](result.x) >= -1e-11).all() for con in constraints)  # strictly: no slipping
        if feasible:
            best = min(best, float(result.fun))
    assume(math.isfinite(best))
    assert _objective(fit, x, y) <= best + 1e-9


@spec("M-5.8")
@settings(max_examples=80, deadline=None)
@given(st.floats(0.1, 0.5), st.floats(0.05, 0.4), st.floats(3.0, 30.0), st.integers(4, 9))
def test_where_the_plain_cubic_meets_the_constraints_the_fit_is_the_plain_cubic(base, gain, span, n):
    """A saturating curve (concave, rising) sampled without noise: the plain least-squares cubic of M-5.5 meets the
    constraints, and the constrained fit is that cubic."""
    rates = np.geomspace(1.0, span, n)
    x = np.log(rates)
    y = base + gain * (1 - np.exp(-x))
    plain = np.polynomial.Polynomial.fit(x, y, 3)
    grid = np.linspace(x[0], x[-1], 200)
    meets = ((plain.deriv()(x) >= 0).all() and (plain.deriv(2)(x) <= 0).all() and plain(x[0]) >= 0
             and plain(x[-1]) <= 1)
    assume(meets)
    fit = MonotonicCubic.fit(x, y)
    assert np.allclose(fit(grid), plain(grid), atol=1e-10)


@spec("M-5.8")
def test_constraints_bend_a_curve_that_falls_back():
    """A measured curve that dips (a higher QP scoring a higher mAP): the fit does not follow the dip."""
    points = [(10.0, 0.50), (20.0, 0.66), (40.0, 0.58), (80.0, 0.70), (160.0, 0.71)]
    x, y = _xy(points)
    plain = np.polynomial.Polynomial.fit(x, y, 3)
    assert (plain.deriv(2)(x) > 0).any()  # the plain cubic turns convex at the points: it would follow the dip
    fit = MonotonicCubic.fit(x, y)
    values = fit(np.linspace(x[0], x[-1], 300))
    assert (np.diff(values) >= -1e-12).all() and (np.diff(values, 2) <= 1e-12).all()
    assert fit(x)[2] > 0.6  # the dip at 40 kbits is not followed
    for m in (0.55, 0.6, 0.65, 0.7):
        assert float(fit(fit.inverse(m))[0]) == pytest.approx(m, abs=1e-12)


@spec("M-5.8")
def test_bd_numbers_and_refusals():
    anchor = [(95.0, 0.6), (160.0, 0.68), (260.0, 0.72), (420.0, 0.745)]
    test = [(30.0, 0.55), (55.0, 0.66), (110.0, 0.71), (240.0, 0.744)]
    rate, metric = bd_kbpi_map(anchor, test, "monotonic"), bd_map(anchor, test, "monotonic")
    assert rate.method == metric.method == "monotonic" and -70 < rate.percent < -40 and 0 < metric.delta < 0.1
    assert rate.percent == pytest.approx((math.exp(rate.log_ratio) - 1) * 100)
    # a curve whose plain cubic meets the constraints: BD-mAP is M-5.5's cubic number
    smooth = [(math.exp(x), 0.3 + 0.2 * x - 0.02 * x**2) for x in np.linspace(0.0, math.log(16.0), 5)]
    shifted = [(r / 2, m) for r, m in smooth]
    assert bd_map(smooth, shifted, "monotonic").delta == pytest.approx(bd_map(smooth, shifted, "cubic").delta,
                                                                        abs=1e-9)
    with pytest.raises(MetricsError, match="monotonic fit is constant"):
        bd_kbpi_map([(r, 0.5) for r in (1, 2, 4, 8)], test, "monotonic")
    with pytest.raises(MetricsError, match="at least 4"):
        bd_map(anchor[:3], test, "monotonic")
    with pytest.raises(MetricsError, match="do not overlap"):
        bd_map(anchor, [(r / 1000, m) for r, m in test], "monotonic")
    summary = bd_summary(anchor, test, "all")
    assert set(summary.cells) == {"cubic", "pchip", "monotonic"} and summary.read("bd_kbpi_percent").method == "cubic"
    assert "monotonic" not in bd_summary(anchor, test, "both").cells
