"""The monotonic constrained cubic of spec M-5.8 (Wang et al., PCS 2024; CompressAI-Vision's curve fitting): mAP as
a cubic of ln KBPI, fitted by least squares under the constraints that it does not fall (p' ≥ 0) and grows ever more
slowly (p'' ≤ 0) at every point, and stays within [0, 1] at the ends.

    fit = MonotonicCubic.fit(ln_rates, maps)        # the fitted curve (non-decreasing and concave over the points)
    fit(x), fit.integral(low, high), fit.inverse(m)

The programme is solved exactly, as M-5.8 says: the optimum satisfies the Karush–Kuhn–Tucker conditions with a set
of at most four active constraints (as many as coefficients), so every such set is tried, smallest first, and the
first whose equality-constrained least-squares solution is feasible with non-negative multipliers is the optimum (a
strictly convex programme has one). The curve is written in ``u = (x − centre) / half-width``, which leaves the
constraints and the fit unchanged (a positive scaling of x) and keeps the normal equations well conditioned.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from cfc_ref.errors import MetricsError

TOLERANCE = 1e-12  # a constraint met or a multiplier non-negative to within this (after scaling to order one)


def _basis(u: np.ndarray, derivative: int = 0) -> np.ndarray:
    """Rows of [1, u, u², u³] or their first or second derivatives at every u."""
    u = np.asarray(u, dtype=np.float64)
    columns = {0: (np.ones_like(u), u, u**2, u**3), 1: (0 * u, np.ones_like(u), 2 * u, 3 * u**2),
               2: (0 * u, 0 * u, 2 * np.ones_like(u), 6 * u)}[derivative]
    return np.stack(columns, axis=1)


@dataclass(frozen=True)
class MonotonicCubic:
    """p(x) = q((x − centre) / scale) with q's coefficients ``coef`` (ascending powers); valid on [low, high]."""

    coef: np.ndarray
    centre: float
    scale: float
    low: float  # x of the first and last points
    high: float

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray) -> MonotonicCubic:
        """M-5.8's fit to points sorted by x (at least four distinct x, checked by the caller)."""
        centre, scale = (float(x[0]) + float(x[-1])) / 2, (float(x[-1]) - float(x[0])) / 2
        u = (np.asarray(x, dtype=np.float64) - centre) / scale
        design = _basis(u)
        # constraints A c ≥ b: p'(x_i) ≥ 0, −p''(x_i) ≥ 0, p(x_1) ≥ 0, −p(x_n) ≥ −1
        rows = np.concatenate([_basis(u, 1), -_basis(u, 2), design[:1], -design[-1:]])
        bounds = np.concatenate([np.zeros(2 * len(u) + 1), [-1.0]])
        hessian, gradient = 2 * design.T @ design, 2 * design.T @ np.asarray(y, dtype=np.float64)
        for size in range(5):
            for active in combinations(range(len(rows)), size):
                solved = _solve(hessian, gradient, rows[list(active)], bounds[list(active)])
                if solved is None:
                    continue
                coef, multipliers = solved
                if (rows @ coef >= bounds - TOLERANCE).all() and (multipliers >= -TOLERANCE).all():
                    return cls(coef, centre, scale, float(x[0]), float(x[-1]))
        raise MetricsError("the monotonic constrained cubic has no solution here (degenerate points)")

    def __call__(self, x: float | np.ndarray) -> np.ndarray:
        return _basis(np.atleast_1d((np.asarray(x, dtype=np.float64) - self.centre) / self.scale)) @ self.coef

    def integral(self, low: float, high: float) -> float:
        """∫ p(x) dx over [low, high], exactly (the antiderivative of q, times the scale)."""
        antiderivative = np.polynomial.Polynomial(self.coef).integ()
        a, b = ((v - self.centre) / self.scale for v in (low, high))
        return float((antiderivative(b) - antiderivative(a)) * self.scale)

    @property
    def range(self) -> tuple[float, float]:
        """The fitted mAP at the first and last points (p is non-decreasing between them)."""
        first, last = self(np.array([self.low, self.high]))
        return float(first), float(last)

    def inverse(self, m: float) -> float:
        """The x in [low, high] where p(x) = m (p is strictly increasing there unless constant), by bisection to
        the last bit."""
        low, high = self.low, self.high
        for _ in range(200):
            middle = (low + high) / 2
            if middle in (low, high):
                break
            if float(self(middle)[0]) < m:
                low = middle
            else:
                high = middle
        return high


def _solve(hessian: np.ndarray, gradient: np.ndarray, rows: np.ndarray, bounds: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray] | None:
    """The KKT system of ``min ½cᵀHc − gᵀc`` with ``rows · c = bounds``: (c, multipliers), or None when singular."""
    k = len(rows)
    system = np.block([[hessian, -rows.T], [rows, np.zeros((k, k))]]) if k else hessian
    right = np.concatenate([gradient, bounds]) if k else gradient
    if np.linalg.matrix_rank(system) < len(system):
        return None
    solution = np.linalg.solve(system, right)
    return solution[:4], solution[4:]
