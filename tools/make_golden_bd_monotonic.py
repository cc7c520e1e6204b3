#!/usr/bin/env python3
"""Write golden/metrics/bd_monotonic.json: the monotonic constrained cubic BD method (spec M-5.8), exact.

Nothing here imports cfc_ref; everything follows the text of spec/metrics.md M-5.5 and M-5.8. The curve fit is solved
exactly in rational arithmetic (``fractions.Fraction``): each rate is first turned into ``x_i``, the binary64 value
nearest to ``ln KBPI_i`` (the logarithm taken at 60 significant digits with ``decimal``, then rounded once), and from
then on ``x_i`` and ``y_i = mAP_i`` (a binary64 number) are exact rationals. The constrained least-squares problem
is solved by trying every set of at most four of its 2n + 2 constraints as equalities (the KKT system of each set,
solved exactly; a singular system is skipped) and taking the first whose solution meets every constraint exactly and
whose multipliers are all >= 0: for a convex programme that is a certificate of the optimum, and the optimum is
unique (four distinct ``x_i``), so the order of the search does not matter (a binary64 solve of each set only puts
the likely sets first, to save time; it decides nothing). BD-mAP is then an exact rational. The
BD-KBPI-mAP integrals need ``p⁻¹`` (a root of a cubic) and ``exp``: those are computed with ``decimal`` at 60 digits
(roots by bisection to 1e-58 of the interval, then the integration-by-parts formula of M-5.8) and rounded once to
binary64. Every ``expected`` number, coefficient and fitted value is the binary64 value nearest to the exact (or
60-digit) one.

``--check`` recomputes every vector with an independent numerical method in binary64: scipy's SLSQP on the programme
in a centred and scaled variable from six starting points, numpy's ``log``, ``brentq`` for the inverse and ``quad``
for the integral of ``p⁻¹`` taken directly (not by parts); it asserts agreement to 1e-7 (relative to the value or 1)
with SLSQP's answer, and to 1e-11 once SLSQP's nearly active constraints are imposed exactly (a null-space solve).
It also checks that every exact KKT certificate it can find gives the same fit, that where no constraint is active
the fit is numpy's plain least-squares cubic, that 90 digits round to the same binary64 numbers as 60, that each
invalid vector is refused by the numerical method too, and prints the largest disagreements.

    python tools/make_golden_bd_monotonic.py                 # refuses if the manifest exists
    python tools/make_golden_bd_monotonic.py --regenerate    # overwrite; say why in the commit message (spec C-1.2)
    python tools/make_golden_bd_monotonic.py --extend        # add the vectors the tool has gained; pinned ones stay
    python tools/make_golden_bd_monotonic.py --check         # cross-check every vector numerically, write nothing

What the generator had to decide in M-5.8, and what it found (for the lead to make the spec exact):

* Which checks apply.  M-5.8 refuses "when a curve fails M-5.5's checks": fewer than 4 points, a non-positive or
  non-finite value, an mAP outside [0, 1], a repeated KBPI.  Read literally, M-5.3's extra checks for BD-KBPI-mAP
  (mAP increasing with rate, no repeated mAP, rates within [1e-6, 1e9]) do not apply to the monotonic BD-KBPI-mAP;
  the vectors take that reading (a curve whose mAP dips or repeats gets a monotonic BD-KBPI-mAP, the point of the
  method: ``dip``, ``repeated_map``, ``embedded_retrained_12``, ``ceiling``); no vector has a rate outside
  [1e-6, 1e9], so that question stays open.
* Which overlap.  For BD-KBPI-mAP "the ranges" are taken as the fitted mAP ranges ``[p(x_1), p(x_n)]``, and a
  BD-KBPI-mAP whose curves' KBPI ranges are disjoint is not refused (``disjoint_rates``: M-5.5's KBPI-overlap
  check is of two curves together, not of "a curve").  The shares reported are of each fit's mAP range
  (BD-KBPI-mAP) and of each curve's ``ln KBPI`` range (BD-mAP); M-5.8 does not say what the result reports.
* A constant fit.  Resolved in the spec (M-5.8, after this generator's first version): the constant-fit refusal is
  BD-KBPI-mAP's only; BD-mAP of a constant fit is defined and ``bd_monotonic_metric_constant_fit`` holds its value.
  The test ``p(x_1) = p(x_n)`` is exact; a binary64 fit of a falling or flat curve comes out constant only up to
  rounding (c_1..c_3 of order 1e-17), so an implementation needs a rule the spec does not give (a tolerance, or
  recognising the constant optimum structurally).  The vectors' constant fits are clear-cut (mAP falling at every
  step, or equal at every rate).
* The order of refusals when several apply is not stated; no vector here has more than one reason, except that a
  constant fit's BD-KBPI-mAP always has the overlap reason as well.
* A single-point overlap of the fitted mAP ranges cannot be probed robustly (it needs ``p_a(x_n) = p_t(x_1)``
  exactly, and a binary64 fit lands an ulp either side), so only the ``ln KBPI`` single point (a shared KBPI) and
  disjoint fitted mAP ranges are pinned.
* Redundant constraints.  Because ``p''`` is linear, ``p''(x_1) <= 0`` and ``p''(x_n) <= 0`` imply the other
  curvature constraints, and with concavity ``p'(x_n) >= 0`` implies every other slope constraint (``p'`` does not
  increase on ``[x_1, x_n]``).  So the feasible set is cut out by five constraints, and a slope constraint at an
  interior point is active only in a constant fit: a dip in the middle of a curve is never answered by
  ``p'(x_i) = 0`` there, but by the curvature constraints or the slope at the top end (see ``dip``).  The clause's
  sentence "Because p'' is linear and non-positive at x_1 and x_n, p is non-decreasing and concave" is true, but
  non-decreasing follows from ``p'(x_n) >= 0`` together with the concavity, not from ``p''`` alone; a non-constant
  fit is then strictly increasing on ``[x_1, x_n)``, so ``p⁻¹`` is well defined.
* The informative KKT note says "the one" set: in degenerate optima several sets certify the same fit (a straight
  line: any two curvature constraints; a constant: dozens of sets; ``--check`` confirms they agree), sets with
  linearly dependent constraints (three curvature constraints, say) give singular systems and must be skipped, and
  where a multiplier is exactly 0 (``flat``: the plain cubic is already constant) a binary64 test of "feasible with
  multipliers >= 0" needs a tolerance or it may find no set at all.
* Coefficients are given in ``x = ln KBPI`` as M-5.8 writes ``p``; they are ill-conditioned (x up to 7), so compare
  fitted values, not coefficients.  C-1.3's "bit-exactly" cannot hold for BD numbers computed in binary64; a
  binary64 active-set solve reaches about 1e-13 relative here (``--check``'s polished method), raw SLSQP only 1e-8.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction as F
from itertools import combinations, pairwise
from pathlib import Path

import numpy as np

SCHEMA = "cfc-ref-golden/1"
OUT = Path(__file__).resolve().parent.parent / "golden" / "metrics" / "bd_monotonic.json"
DIGITS = 60  # decimal working precision for ln, roots, exp


class Refused(Exception):
    """The clause refuses the input (MetricsError in an implementation); the message says which check."""


# ---------------------------------------------------------------- inputs, M-5.5's checks
def ln_binary64(kbpi: float, digits: int = DIGITS) -> F:
    """x = the binary64 value nearest to ln(kbpi), as an exact rational."""
    with localcontext() as ctx:
        ctx.prec = digits
        return F(float(Decimal(kbpi).ln()))


@dataclass(frozen=True)
class Curve:
    x: tuple[F, ...]  # ln KBPI, binary64, ascending
    y: tuple[F, ...]  # mAP, binary64, in the same order


def curve(points: Sequence[Sequence[float]], digits: int = DIGITS) -> Curve:
    """M-5.5's per-curve checks, then the points sorted by rate."""
    if len(points) < 4:
        raise Refused(f"{len(points)} points, fewer than 4")
    for kbpi, m in points:
        if not (isinstance(kbpi, int | float) and 0 < kbpi < float("inf")):
            raise Refused(f"KBPI {kbpi!r} is not positive and finite")
        if not (isinstance(m, int | float) and 0 <= m <= 1):
            raise Refused(f"mAP {m!r} outside [0, 1]")
    if len({float(k) for k, _ in points}) != len(points):
        raise Refused("a repeated KBPI value")
    ordered = sorted(points, key=lambda p: float(p[0]))
    return Curve(tuple(ln_binary64(float(k), digits) for k, _ in ordered), tuple(F(float(m)) for _, m in ordered))


# ---------------------------------------------------------------- the constrained least-squares fit, exact
@dataclass(frozen=True)
class Constraint:
    name: str  # as M-5.8 writes it, points numbered 1..n in rate order
    a: tuple[F, F, F, F]  # the constraint is a·c + b >= 0
    b: F


def constraints(x: Sequence[F]) -> list[Constraint]:
    n = len(x)
    rows = [Constraint(f"p'(x_{i + 1}) >= 0", (F(0), F(1), 2 * xi, 3 * xi * xi), F(0)) for i, xi in enumerate(x)]
    rows += [Constraint(f"p''(x_{i + 1}) <= 0", (F(0), F(0), F(-2), -6 * xi), F(0)) for i, xi in enumerate(x)]
    x1, xn = x[0], x[-1]
    rows.append(Constraint("p(x_1) >= 0", (F(1), x1, x1 * x1, x1 ** 3), F(0)))
    rows.append(Constraint(f"p(x_{n}) <= 1", (F(-1), -xn, -xn * xn, -(xn ** 3)), F(1)))
    return rows


def solve(matrix: list[list[F]], rhs: list[F]) -> list[F] | None:
    """Exact Gauss–Jordan elimination; None when the matrix is singular."""
    size = len(rhs)
    m = [row[:] + [r] for row, r in zip(matrix, rhs, strict=True)]
    for col in range(size):
        pivot = next((r for r in range(col, size) if m[r][col] != 0), None)
        if pivot is None:
            return None
        m[col], m[pivot] = m[pivot], m[col]
        inv = 1 / m[col][col]
        m[col] = [v * inv for v in m[col]]
        for r in range(size):
            if r != col and m[r][col] != 0:
                factor = m[r][col]
                m[r] = [v - factor * w for v, w in zip(m[r], m[col], strict=True)]
    return [m[r][size] for r in range(size)]


@dataclass(frozen=True)
class Fit:
    c: tuple[F, F, F, F]  # p(x) = c0 + c1 x + c2 x² + c3 x³
    certificate: tuple[str, ...]  # the constraints taken as equalities in the KKT system that proved optimality
    multipliers: tuple[F, ...]
    active: tuple[str, ...]  # every constraint that holds with equality at the optimum

    def __call__(self, x: F) -> F:
        c0, c1, c2, c3 = self.c
        return c0 + x * (c1 + x * (c2 + x * c3))


def normal_equations(cv: Curve) -> tuple[list[list[F]], list[F]]:
    """G = VᵀV and h = Vᵀy of the least-squares problem, V the points' Vandermonde matrix (columns 1, x, x², x³)."""
    powers = [[xi ** k for k in range(4)] for xi in cv.x]
    gram = [[sum((p[j] * p[k] for p in powers), F(0)) for k in range(4)] for j in range(4)]
    return gram, [sum((p[j] * yi for p, yi in zip(powers, cv.y, strict=True)), F(0)) for j in range(4)]


def kkt(normal: tuple[list[list[F]], list[F]], rows: list[Constraint],
        chosen: Sequence[int]) -> tuple[tuple[F, F, F, F], list[F]] | None:
    """min Σ(p(x_i) − y_i)² with the chosen constraints as equalities: [[G, −Aᵀ], [A, 0]] [c; λ] = [h; −b]."""
    gram, h = normal
    size = 4 + len(chosen)
    matrix = [[F(0)] * size for _ in range(size)]
    rhs = h + [-rows[s].b for s in chosen]
    for j in range(4):
        matrix[j][:4] = gram[j]
    for t, s in enumerate(chosen):
        for j in range(4):
            matrix[j][4 + t] = -rows[s].a[j]
            matrix[4 + t][j] = rows[s].a[j]
    sol = solve(matrix, rhs)
    if sol is None:
        return None
    c0, c1, c2, c3 = sol[:4]
    return (c0, c1, c2, c3), sol[4:]


def value(row: Constraint, c: Sequence[F]) -> F:
    return sum((a * ci for a, ci in zip(row.a, c, strict=True)), row.b)


def plausibility(cv: Curve, rows: list[Constraint], chosen: Sequence[int]) -> float:
    """How far a set's binary64 KKT solution is from a certificate (0: looks like one, inf: singular in binary64).

    Only orders the exact search below; it decides nothing."""
    x = np.array([float(v) for v in cv.x])
    vander = np.vander(x, 4, increasing=True)
    a = np.array([[float(v) for v in r.a] for r in rows])
    b = np.array([float(r.b) for r in rows])
    size = 4 + len(chosen)
    matrix = np.zeros((size, size))
    matrix[:4, :4] = vander.T @ vander
    matrix[:4, 4:] = -a[list(chosen)].T
    matrix[4:, :4] = a[list(chosen)]
    rhs = np.concatenate([vander.T @ np.array([float(v) for v in cv.y]), -b[list(chosen)]])
    try:
        sol = np.linalg.solve(matrix, rhs)
    except np.linalg.LinAlgError:
        return float("inf")
    return float(max(0.0, *(-sol[4:]), *(-(a @ sol[:4] + b))))


def certificates(cv: Curve, every: bool = False) -> list[Fit]:
    """Sets of at most four constraints whose equality-constrained optimum is feasible with multipliers >= 0, checked
    exactly: the first found (every set is tried, the binary64-plausible ones first), or with ``every`` each set
    that is plausible to 1e-6 in binary64 (the optimum is unique, so they must all give the same fit)."""
    rows = constraints(cv.x)
    normal = normal_equations(cv)
    sets = [chosen for size in range(5) for chosen in combinations(range(len(rows)), size)]
    score = {chosen: plausibility(cv, rows, chosen) for chosen in sets}
    sets.sort(key=lambda chosen: (score[chosen], len(chosen)))
    found = []
    for chosen in sets:
        if every and score[chosen] > 1e-6:
            break
        solved = kkt(normal, rows, chosen)
        if solved is None:
            continue
        c, lam = solved
        if any(v < 0 for v in lam) or any(value(r, c) < 0 for r in rows):
            continue
        active = tuple(r.name for r in rows if value(r, c) == 0)
        found.append(Fit(c, tuple(rows[s].name for s in chosen), tuple(lam), active))
        if not every:
            break
    if not found:
        raise AssertionError("no KKT certificate: impossible for a feasible convex programme")
    return found


def monotonic_fit(cv: Curve) -> Fit:
    return certificates(cv)[0]


def integral(fit: Fit, lo: F, hi: F) -> F:
    """∫_lo^hi p(x) dx, exact."""
    c0, c1, c2, c3 = fit.c

    def prim(x: F) -> F:
        return x * (c0 + x * (c1 / 2 + x * (c2 / 3 + x * c3 / 4)))
    return prim(hi) - prim(lo)


# ---------------------------------------------------------------- BD-mAP (monotonic), exact
def refuse_constant(fits: dict[str, tuple[Curve, Fit]]) -> None:
    for role, (cv, fit) in fits.items():
        if fit(cv.x[0]) == fit(cv.x[-1]):
            raise Refused(f"the {role} fit is constant over its range")


def bd_metric(fits: dict[str, tuple[Curve, Fit]]) -> tuple[F, F, F]:
    (ca, fa), (ct, ft) = fits["anchor"], fits["test"]
    lo, hi = max(ca.x[0], ct.x[0]), min(ca.x[-1], ct.x[-1])
    if lo >= hi:
        raise Refused("the ln KBPI ranges do not overlap or meet in a single point")
    return (integral(ft, lo, hi) - integral(fa, lo, hi)) / (hi - lo), lo, hi  # a constant fit is a curve too


# ---------------------------------------------------------------- BD-KBPI-mAP (monotonic), 60 digits
def dec(q: F) -> Decimal:
    return Decimal(q.numerator) / Decimal(q.denominator)


def inverse(cv: Curve, fit: Fit, m: F, digits: int = DIGITS) -> Decimal:
    """p⁻¹(m): the x in [x_1, x_n] with p(x) = m (p is increasing there); exact at the ends, else bisection."""
    x1, xn = cv.x[0], cv.x[-1]
    if fit(x1) == m:
        return dec(x1)
    if fit(xn) == m:
        return dec(xn)
    assert fit(x1) < m < fit(xn)
    c = [dec(v) for v in fit.c]
    target = dec(m)
    lo, hi = dec(x1), dec(xn)
    stop = (hi - lo) * Decimal(10) ** -(digits - 2)
    while hi - lo > stop:
        mid = (lo + hi) / 2
        if c[0] + mid * (c[1] + mid * (c[2] + mid * c[3])) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def integral_dec(fit: Fit, lo: Decimal, hi: Decimal) -> Decimal:
    c0, c1, c2, c3 = (dec(v) for v in fit.c)

    def prim(x: Decimal) -> Decimal:
        return x * (c0 + x * (c1 / 2 + x * (c2 / 3 + x * c3 / 4)))
    return prim(hi) - prim(lo)


def bd_rate(fits: dict[str, tuple[Curve, Fit]], digits: int = DIGITS) -> tuple[Decimal, F, F]:
    refuse_constant(fits)
    (ca, fa), (ct, ft) = fits["anchor"], fits["test"]
    m_lo = max(fa(ca.x[0]), ft(ct.x[0]))
    m_hi = min(fa(ca.x[-1]), ft(ct.x[-1]))
    if m_lo >= m_hi:
        raise Refused("the fitted mAP ranges do not overlap or meet in a single point")
    with localcontext() as ctx:
        ctx.prec = digits
        areas = []
        for cv, fit in ((ca, fa), (ct, ft)):
            a, b = inverse(cv, fit, m_lo, digits), inverse(cv, fit, m_hi, digits)  # ∫ p⁻¹ dm by parts (M-5.8)
            areas.append(dec(m_hi) * b - dec(m_lo) * a - integral_dec(fit, a, b))
        gap = (areas[1] - areas[0]) / dec(m_hi - m_lo)
        return (gap.exp() - 1) * 100, m_lo, m_hi


# ---------------------------------------------------------------- the curves
# The cloud-only anchor and the two split curves of golden/metrics/vectors.json (fitted there by the plain cubic).
ANCHOR = [[95.0, 0.6], [160.0, 0.68], [260.0, 0.72], [420.0, 0.745]]
MAX17 = [[30.0, 0.55], [55.0, 0.66], [110.0, 0.71], [240.0, 0.744]]
MAX11 = [[120.0, 0.62], [190.0, 0.69], [330.0, 0.73], [600.0, 0.747]]
# Shaped to put a given constraint at the optimum (the comments of the vectors say which ones are active).
CONCAVE_A = [[10.0, 0.3], [20.0, 0.404], [40.0, 0.482], [80.0, 0.531], [160.0, 0.556]]
CONCAVE_T = [[6.0, 0.31], [12.0, 0.41], [25.0, 0.49], [50.0, 0.535], [100.0, 0.56]]
DIP = [[30.0, 0.55], [55.0, 0.7], [110.0, 0.66], [240.0, 0.74]]
REPEAT = [[30.0, 0.55], [55.0, 0.66], [110.0, 0.66], [240.0, 0.74]]
CONVEX_A = [[1.0, 0.1], [2.0, 0.15], [4.0, 0.25], [8.0, 0.45]]
CONVEX_T = [[1.5, 0.12], [3.0, 0.2], [6.0, 0.33], [12.0, 0.5]]
FLOOR = [[1.0, 0.0], [2.0, 0.02], [4.0, 0.3], [8.0, 0.45], [16.0, 0.5], [32.0, 0.52]]
CEILING_A = [[5.0, 0.8], [10.0, 0.95], [20.0, 0.99], [40.0, 1.0], [80.0, 1.0], [160.0, 1.0]]
CEILING_T = [[3.0, 0.82], [6.0, 0.93], [12.0, 0.975], [24.0, 0.99], [48.0, 0.995]]
ZERO_TO_ONE = [[1.2, 0.0], [6.3, 0.16], [8.2, 0.63], [11.6, 0.7], [22.4, 0.98], [39.3, 0.99]]
# The embedded default's shapes (spec E-11): mAP rising fast, then flat, over 1–350 kbits per image.
JPEG = [[9.0, 0.18], [16.0, 0.37], [30.0, 0.55], [55.0, 0.65], [100.0, 0.695], [190.0, 0.71], [350.0, 0.714]]
MAX17_8BIT = [[1.1, 0.21], [1.9, 0.38], [3.4, 0.52], [6.2, 0.61], [11.0, 0.66], [20.0, 0.69], [37.0, 0.703],
              [68.0, 0.709], [125.0, 0.712], [230.0, 0.713], [350.0, 0.7135]]
MAX11_10BIT = [[3.2, 0.2], [4.5, 0.28], [6.0, 0.37], [8.0, 0.45], [14.0, 0.58], [26.0, 0.65], [48.0, 0.69],
               [90.0, 0.705], [170.0, 0.71], [330.0, 0.712]]
RETRAINED_12 = [[1.0, 0.12], [1.6, 0.25], [2.5, 0.39], [4.0, 0.47], [6.3, 0.56], [10.0, 0.6], [16.0, 0.64],
                [25.0, 0.655], [40.0, 0.67], [63.0, 0.668], [100.0, 0.676], [160.0, 0.674]]
HIGH_RATE = [[150.0, 0.69], [200.0, 0.698], [250.0, 0.705], [320.0, 0.71], [400.0, 0.715], [520.0, 0.718],
             [700.0, 0.72], [950.0, 0.7212], [1200.0, 0.722]]
LOW_RATE = [[5.0, 0.58], [10.0, 0.67], [20.0, 0.715], [40.0, 0.74]]
ABOVE = [[420.0, 0.75], [500.0, 0.76], [600.0, 0.765], [900.0, 0.77]]
FALLING = [[100.0, 0.75], [200.0, 0.71], [300.0, 0.7], [400.0, 0.66]]
FLAT = [[100.0, 0.7], [200.0, 0.7], [300.0, 0.7], [400.0, 0.7]]

# (name, anchor, test, operations, what the pair probes); each operation gives one vector
PAIRS = [
    ("max17_default", ANCHOR, MAX17, "both", "golden/metrics/vectors.json's max17_default curves: 4 points each, "
     "the plain cubic through them turns convex at the top end"),
    ("max11_default", ANCHOR, MAX11, "both", "golden/metrics/vectors.json's max11_default curves"),
    ("concave_unconstrained", CONCAVE_A, CONCAVE_T, "both", "5 points each whose plain least-squares cubic is "
     "already increasing and concave: the fit is the M-5.5 cubic"),
    ("dip", ANCHOR, DIP, "bd_rate", "a test curve whose mAP falls between its 2nd and 3rd points (M-5.3 refuses "
     "the cubic BD-KBPI-mAP; the monotonic fit smooths the dip)"),
    ("dip", ANCHOR, DIP, "bd_metric", "a test curve whose mAP falls between its 2nd and 3rd points"),
    ("repeated_map", ANCHOR, REPEAT, "bd_rate", "a test curve with two equal mAP values (M-5.3 refuses the cubic "
     "BD-KBPI-mAP; M-5.8 applies only M-5.5's checks)"),
    ("convex_linear", CONVEX_A, CONVEX_T, "both", "two convex curves: the best concave cubic is a straight line "
     "(p'' = 0 everywhere, a degenerate active set: every p''(x_i) <= 0 holds with equality)"),
    ("floor", FLOOR, CONVEX_T, "both", "an anchor starting at mAP 0 whose plain cubic dips below 0 at x_1"),
    ("ceiling", CEILING_A, CEILING_T, "both", "curves saturating near mAP 1; the anchor's fit would pass 1 at x_n"),
    ("zero_to_one", ZERO_TO_ONE, FLOOR, "both", "an anchor whose fit is the straight line from (x_1, 0) to "
     "(x_n, 1): four constraints in the KKT system"),
    ("embedded_max17_8bit", JPEG, MAX17_8BIT, "both", "the embedded default's shapes: a cloud-only JPEG anchor "
     "(7 points) against an 11-point split curve, mAP rising fast then flat over 1–350 kbits"),
    ("embedded_max11_10bit", JPEG, MAX11_10BIT, "both", "the embedded default's shapes: JPEG anchor against a "
     "10-point split curve"),
    ("embedded_retrained_12", JPEG, RETRAINED_12, "both", "a 12-point test curve with two small dips, as a "
     "re-trained split's curve measured on few images"),
    ("poor_overlap", JPEG, HIGH_RATE, "both", "a 9-point test curve that covers only the top of the "
     "anchor's ranges (M-5.6's poor overlap: the share of the anchor's range is below one half)"),
    ("unsorted", ANCHOR[::-1], [MAX17[2], MAX17[0], MAX17[3], MAX17[1]], "both", "max17_default's points given "
     "out of rate order: the fit sorts them first, so the numbers equal bd_monotonic_*_max17_default's"),
    ("disjoint_rates", ANCHOR, LOW_RATE, "both", "the test's KBPI range (5–40) lies below the anchor's (95–420) "
     "while the fitted mAP ranges overlap: BD-KBPI-mAP is defined, BD-mAP is refused (no ln KBPI overlap)"),
    ("touching", ANCHOR, ABOVE, "bd_metric", "the KBPI ranges meet in one point, 420: refused"),
    ("above", ANCHOR, ABOVE, "bd_rate", "the test's fitted mAP range lies above the anchor's: no overlap, refused"),
    ("constant_fit", ANCHOR, FALLING, "both", "a test curve whose mAP falls at every step: the best non-decreasing "
     "fit is the constant mean; BD-KBPI-mAP is refused (no rate is a function of a constant mAP), BD-mAP is "
     "defined (M-5.8: the constant-fit refusal is BD-KBPI-mAP's only)"),
    ("flat", ANCHOR, FLAT, "bd_rate", "a test curve of one mAP value at every rate: the plain cubic is already the "
     "constant, refused"),
    ("reject_3_points", ANCHOR, MAX17[:3], "both", "fewer than 4 points (M-5.5's check)"),
    ("reject_repeated_rate", ANCHOR, [[30.0, 0.55], [55.0, 0.66], [55.0, 0.7], [240.0, 0.744]], "bd_rate",
     "two points with the same KBPI (M-5.5's check)"),
    ("reject_zero_rate", ANCHOR, [[0.0, 0.55], [55.0, 0.66], [110.0, 0.71], [240.0, 0.744]], "bd_rate",
     "a rate of 0 (M-5.5's check)"),
    ("reject_map_above_one", ANCHOR, [[30.0, 0.55], [55.0, 0.66], [110.0, 0.71], [240.0, 1.5]], "bd_metric",
     "an mAP of 1.5 (M-5.5's check)"),
]


# ---------------------------------------------------------------- the vectors
def b64(q: F | Decimal) -> float:
    """The binary64 value nearest to an exact rational or a 60-digit decimal (both conversions round once)."""
    return float(q)


def fit_record(cv: Curve, fit: Fit) -> dict:
    return {"ln_kbpi": [b64(x) for x in cv.x], "coefficients": [b64(c) for c in fit.c],
            "fitted": [b64(fit(x)) for x in cv.x], "active": list(fit.active)}


def describe(fit: Fit) -> str:
    return ", ".join(fit.active) if fit.active else "none"


def flags_of(v: dict, fits: dict[str, tuple[Curve, Fit]] | None) -> list[str]:
    flags = ["monotonic"]
    if v["operation"] == "bd_metric":
        flags.append("bd-metric")
    if v["result"] == "invalid":
        flags.append("invalid")
    if any([float(p[0]) for p in v[r]] != sorted(float(p[0]) for p in v[r]) for r in ("anchor", "test")):
        flags.append("unsorted")
    if fits is None:
        return flags
    actives = [fit.active for _, fit in fits.values()]
    if all(not a for a in actives):
        flags.append("constraint-inactive")
    else:
        flags.append("constraint-active")
    constant = any(fit(cv.x[0]) == fit(cv.x[-1]) for cv, fit in fits.values())
    if any(name.startswith("p'(") for a in actives for name in a):
        flags.append("slope-constraint")
    if any(name.startswith("p''(") for a in actives for name in a):
        flags.append("curvature-constraint")
    if any(name.startswith("p(") for a in actives for name in a):
        flags.append("range-constraint")
    if not constant and any(fit.c[2] == 0 and fit.c[3] == 0 for _, fit in fits.values()):
        flags.append("linear-fit")
    if constant:
        flags.append("constant-fit")
    if any(any(b <= a for a, b in pairwise(cv.y)) for cv, _ in fits.values()):
        flags.append("non-monotonic-points")
    if any(abs(fit(x) - y) > F(2, 100) for cv, fit in fits.values() for x, y in zip(cv.x, cv.y, strict=True)):
        flags.append("poor-fit")
    if v["result"] == "valid" and v["overlap"]["share"]["anchor"] < 0.5:
        flags.append("poor-overlap")
    return flags


def vector(name: str, anchor: list, test: list, operation: str, probe: str) -> dict:
    kind = "rate" if operation == "bd_rate" else "metric"
    v: dict = {"id": f"bd_monotonic_{kind}_{name}", "section": "M-5.8", "operation": operation,
               "method": "monotonic", "anchor": anchor, "test": test}
    fits = None
    try:
        curves = {"anchor": curve(anchor), "test": curve(test)}
        fits = {role: (cv, monotonic_fit(cv)) for role, cv in curves.items()}
        v["fit"] = {role: fit_record(cv, fit) for role, (cv, fit) in fits.items()}
        if operation == "bd_metric":
            number, lo, hi = bd_metric(fits)
            spans = {role: cv.x[-1] - cv.x[0] for role, (cv, _) in fits.items()}
            key = "ln_kbpi"
        else:
            rate, lo, hi = bd_rate(fits)
            spans = {role: fit(cv.x[-1]) - fit(cv.x[0]) for role, (cv, fit) in fits.items()}
            key = "map"
        v.update(result="valid", expected=b64(rate if operation == "bd_rate" else number),
                 overlap={key: [b64(lo), b64(hi)], "share": {r: b64((hi - lo) / s) for r, s in spans.items()}})
    except Refused as why:
        v.update(result="invalid", error="MetricsError")
        reason = f"; refused: {why}"
    else:
        reason = ""
    comment = probe
    if fits is not None:
        comment += (f". Active at the optimum: anchor {describe(fits['anchor'][1])}; "
                    f"test {describe(fits['test'][1])}")
    v["comment"] = comment + reason + "."
    v["flags"] = flags_of(v, fits)
    order = ["id", "section", "flags", "operation", "result", "error", "comment", "method", "anchor", "test",
             "expected", "overlap", "fit"]
    return {k: v[k] for k in order if k in v}


def all_vectors() -> list[dict]:
    out = []
    for name, anchor, test, operations, probe in PAIRS:
        for operation in (("bd_rate", "bd_metric") if operations == "both" else (operations,)):
            out.append(vector(name, anchor, test, operation, probe))
    return out


# ---------------------------------------------------------------- --check: a second, numerical method
def numeric_fit(points: Sequence[Sequence[float]],
                polish: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """SLSQP on M-5.8's programme in t = (x − centre) / half-width, from several starts (the fitted curve is the same
    in t: a positive scaling and a shift of x keep the signs of p' and p''). Returns x, the coefficients in t, the
    fitted values and the spread of the fitted values over the starts that converged. With ``polish``, the
    constraints SLSQP leaves within 1e-8 of equality are then imposed exactly (a null-space least-squares solve in
    binary64), which takes SLSQP's answer from about 1e-9 to binary64's own accuracy."""
    from scipy.linalg import null_space
    from scipy.optimize import minimize

    k = np.array(sorted(float(p[0]) for p in points))
    y = np.array([float(p[1]) for p in sorted(points, key=lambda p: float(p[0]))])
    x = np.log(k)
    centre, half = (x[0] + x[-1]) / 2, (x[-1] - x[0]) / 2
    t = (x - centre) / half
    vander = np.vander(t, 4, increasing=True)
    rows = [[0, 1, 2 * ti, 3 * ti * ti] for ti in t] + [[0, 0, -2, -6 * ti] for ti in t]
    rows += [list(vander[0]), list(-vander[-1])]
    a = np.array(rows, dtype=float)
    b = np.zeros(len(rows))
    b[-1] = 1.0
    plain = np.linalg.lstsq(vander, y, rcond=None)[0]
    rng = np.random.default_rng(2024)
    starts = [plain, np.zeros(4), np.array([y.mean(), 0, 0, 0])] + [rng.normal(0, 0.3, 4) for _ in range(3)]
    found = []
    for start in starts:
        res = minimize(lambda d: 0.5 * np.sum((vander @ d - y) ** 2), start, jac=lambda d: vander.T @ (vander @ d - y),
                       method="SLSQP", constraints=[{"type": "ineq", "fun": lambda d: a @ d + b, "jac": lambda d: a}],
                       options={"ftol": 1e-16, "maxiter": 2000})
        if np.min(a @ res.x + b) > -1e-12:
            found.append((float(res.fun), res.x))
    assert found, f"SLSQP found no feasible point for {points}"
    best = min(found, key=lambda f: f[0])[1]
    spread = max(float(np.max(np.abs(vander @ d - vander @ best))) for _, d in found)
    if polish:
        active = np.abs(a @ best + b) < 1e-8
        base = np.linalg.lstsq(a[active], -b[active], rcond=None)[0] if active.any() else np.zeros(4)
        free = null_space(a[active]) if active.any() else np.eye(4)
        polished = base + free @ np.linalg.lstsq(vander @ free, y - vander @ base, rcond=None)[0]
        if np.min(a @ polished + b) > -1e-12:
            best = polished
    return x, best, vander @ best, spread


def numeric_bd(v: dict, polish: bool = False) -> float | None:
    """BD-mAP by quad of the fits' difference, BD-KBPI-mAP by quad of p_t⁻¹ − p_a⁻¹ (brentq), or None if refused."""
    from scipy.integrate import quad
    from scipy.optimize import brentq

    curves = {}
    for role in ("anchor", "test"):
        x, d, fitted, _ = numeric_fit(v[role], polish)
        centre, half = (x[0] + x[-1]) / 2, (x[-1] - x[0]) / 2

        def p(xx: float, d: np.ndarray = d, centre: float = centre, half: float = half) -> float:
            t = (xx - centre) / half
            return float(d[0] + t * (d[1] + t * (d[2] + t * d[3])))
        curves[role] = (x, p, fitted)
    (xa, pa, fa), (xt, pt, ft) = curves["anchor"], curves["test"]
    if min(np.ptp(fa), np.ptp(ft)) < 1e-9:
        return None
    if v["operation"] == "bd_metric":
        lo, hi = max(xa[0], xt[0]), min(xa[-1], xt[-1])
        if hi - lo < 1e-12:
            return None
        area = quad(lambda s: pt(s) - pa(s), lo, hi, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
        return area / (hi - lo)
    m_lo, m_hi = max(fa[0], ft[0]), min(fa[-1], ft[-1])
    if m_hi - m_lo < 1e-12:
        return None

    def inv(p: Callable[[float], float], x: np.ndarray, m: float) -> float:
        if m <= p(x[0]):
            return float(x[0])
        if m >= p(x[-1]):
            return float(x[-1])
        return float(brentq(lambda s: p(s) - m, x[0], x[-1], xtol=1e-15, rtol=1e-15))
    area = quad(lambda m: inv(pt, xt, m) - inv(pa, xa, m), m_lo, m_hi, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
    return float(np.expm1(area / (m_hi - m_lo)) * 100)


def check(vectors: list[dict]) -> None:
    """Every vector against the numerical method, raw SLSQP (to 1e-7) and polished (to 1e-11, relative to the value
    or 1); exact uniqueness of the certified optimum; the plain cubic where no constraint is active; 90 digits give
    the same binary64 numbers as 60; the unsorted vectors equal the sorted ones."""
    worst = {"bd_rate": [0.0, 0.0], "bd_metric": [0.0, 0.0], "fitted": [0.0, 0.0], "spread": [0.0], "plain": [0.0]}
    log_ulps = 0
    by_id = {v["id"]: v for v in vectors}
    for v in vectors:
        if "fit" not in v:  # refused on its inputs: M-5.5's list, checked again with numpy
            pts = [np.array(v[role], dtype=float) for role in ("anchor", "test")]
            assert any(len(c) < 4 or np.any(c[:, 0] <= 0) or np.any((c[:, 1] < 0) | (c[:, 1] > 1))
                       or len(np.unique(c[:, 0])) < len(c) for c in pts), v["id"]
            assert v["result"] == "invalid", v["id"]
            continue
        for polish, bound in ((False, 1e-7), (True, 1e-11)):
            ours = numeric_bd(v, polish)
            if v["result"] == "invalid":
                assert ours is None, f"{v['id']}: refused here, the numerical method gives {ours}"
                continue
            assert ours is not None, f"{v['id']}: the numerical method refuses it"
            diff = abs(ours - v["expected"])
            assert diff <= bound * max(1.0, abs(v["expected"])), f"{v['id']}: {ours} against {v['expected']}"
            worst[v["operation"]][polish] = max(worst[v["operation"]][polish], diff)
            for role in ("anchor", "test"):
                record = v["fit"][role]
                x, _, fitted, spread = numeric_fit(v[role], polish)
                worst["fitted"][polish] = max(worst["fitted"][polish],
                                              float(np.max(np.abs(fitted - record["fitted"]))))
                worst["spread"][0] = max(worst["spread"][0], spread)
                assert worst["fitted"][polish] <= bound and spread <= 1e-7, v["id"]
                log_ulps += (not polish) * sum(a != b for a, b in zip(x.tolist(), record["ln_kbpi"], strict=True))
        for role in ("anchor", "test"):
            record = v["fit"][role]
            exact = certificates(curve(v[role]), every=True)
            assert len({f.c for f in exact}) == 1, f"{v['id']}: two different certified optima"
            if not record["active"]:
                ys = [p[1] for p in sorted(v[role], key=lambda p: p[0])]
                plain = np.polyval(np.polyfit(record["ln_kbpi"], ys, 3), record["ln_kbpi"])
                worst["plain"][0] = max(worst["plain"][0], float(np.max(np.abs(plain - record["fitted"]))))
                assert worst["plain"][0] <= 1e-9, v["id"]
        if v["result"] == "invalid":
            continue
        fits = {role: (curve(v[role], 90), monotonic_fit(curve(v[role], 90))) for role in ("anchor", "test")}
        again = bd_rate(fits, 90)[0] if v["operation"] == "bd_rate" else bd_metric(fits)[0]
        assert b64(again) == v["expected"], f"{v['id']}: 90 digits give {b64(again)}"
    for kind in ("rate", "metric"):
        a, b = by_id[f"bd_monotonic_{kind}_unsorted"], by_id[f"bd_monotonic_{kind}_max17_default"]
        assert a["expected"] == b["expected"] and a["fit"] == b["fit"]
    for name, col in (("SLSQP", 0), ("SLSQP polished", 1)):
        print(f"largest disagreement, {name}: BD-KBPI-mAP {worst['bd_rate'][col]:.3g} (percent points), "
              f"BD-mAP {worst['bd_metric'][col]:.3g}, fitted values {worst['fitted'][col]:.3g}")
    print(f"SLSQP's spread over its starts {worst['spread'][0]:.3g}; unconstrained fits against numpy.polyfit "
          f"{worst['plain'][0]:.3g}; numpy.log differs from the correctly rounded ln in {log_ulps} x_i; "
          f"{sum(v['result'] == 'valid' for v in vectors)} valid and {sum(v['result'] == 'invalid' for v in vectors)} "
          "invalid vectors agree")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--regenerate", action="store_true", help="overwrite the existing manifest")
    mode.add_argument("--extend", action="store_true", help="keep every pinned vector, add the new ones")
    mode.add_argument("--check", action="store_true", help="cross-check every vector numerically; write nothing")
    args = parser.parse_args()
    if args.check:
        check(all_vectors())
        return
    if OUT.exists() and not (args.regenerate or args.extend):
        sys.exit(f"{OUT} exists; pass --regenerate or --extend (and say why in the commit message)")
    body: dict = {"schema": SCHEMA, "version": 1, "component": "metrics", "spec": "spec/metrics.md",
            "generator": "tools/make_golden_bd_monotonic.py: the M-5.8 fit solved exactly in rational arithmetic "
                         "(x_i = ln KBPI_i first rounded to the nearest binary64, then taken as exact rationals; every "
                         "set of at most four constraints tried as the KKT system, the first exact certificate taken), "
                         "BD-mAP exact, BD-KBPI-mAP's inverses and exp at 60 decimal digits, each number rounded once "
                         "to binary64; cross-checked by SLSQP (--check); independent of cfc_ref/",
            "vectors": all_vectors()}
    if args.extend:
        pinned = json.loads(OUT.read_text())
        kept = {v["id"]: v for v in pinned["vectors"]}
        fresh = [v for v in body["vectors"] if v["id"] not in kept]
        body = dict(pinned, vectors=pinned["vectors"] + fresh)
        print(f"keeping {len(kept)} pinned vectors, adding {len(fresh)}: {', '.join(v['id'] for v in fresh)}")
    ids = [v["id"] for v in body["vectors"]]
    assert len(ids) == len(set(ids)), "duplicate vector ids"
    OUT.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n")
    print(f"{OUT}: {len(ids)} vectors")


if __name__ == "__main__":
    main()
