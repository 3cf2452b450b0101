"""A trust-region maximiser with exact subproblem solves (the method of Geyer's ``trust``).

``maximize(fun, theta0, ...)`` needs ``fun(theta)`` returning an object with attributes
``value``, ``gradient`` (P,) and ``hessian`` (P, P) (``engines.base.Evaluation``, or the
MCLA's); a value of -inf marks theta as infeasible, and such a trial step is simply
rejected (the radius shrinks).  It returns an ``optim.result.OptimizeResult`` whose
``evaluation`` is what ``fun`` returned at the end.  Each iteration solves

    max_s  g's + s'Hs/2   subject to  |s| <= r

exactly by an eigendecomposition of B = -H (More & Sorensen; Nocedal & Wright,
sec. 4.3), including the indefinite and "hard" cases.  With rho the ratio of
actual to predicted increase: rho < 1/4 shrinks r to r/4; rho > 3/4 on the
boundary doubles r (up to ``rmax``); the step is accepted when rho > 1/4.
A step whose predicted increase is below ``mterm`` is accepted unless the objective fell
by more than ``fterm`` (the prediction is then rounding, and so is rho).  Iteration stops
after an accepted step whose predicted increase was below ``mterm`` or whose actual change
was below ``fterm`` (``converged=True``; that last, usually Newton, step is taken, so the
gradient at the end is far smaller than the tolerances suggest), or after ``iterlim``
iterations or when the radius has collapsed (``converged=False``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from ..exceptions import bad_value
from .result import CONVERGED, ITERATION_LIMIT, STALLED, OptimizeResult

EPS = np.finfo(float).eps


@dataclass(frozen=True)
class Step:
    """One iteration: where it was (x, value), what it tried and what happened."""

    x: np.ndarray
    value: float
    trial: np.ndarray
    trial_value: float
    radius: float
    rho: float
    predicted: float
    accepted: bool
    kind: str                # "newton", "boundary" or "hard"
    number: int = 0          # iterations before this one

    @property
    def argument(self):
        """x (glmm's name)."""
        return self.x

    @property
    def line(self):
        """One line of the iteration log."""
        verdict = "accepted" if self.accepted else "rejected"
        return (f"value {self.value:.10g}  radius {self.radius:.4g}  {self.kind} step "
                f"{verdict} (rho {self.rho:.3g})")


def solve_subproblem(g, H, r):
    """Step s maximising g's + s'Hs/2 on |s| <= r. g: (P,), H: (P, P). Returns (s, kind)."""
    B = -0.5 * (H + H.T)
    lam, Q = np.linalg.eigh(B)
    gt = Q.T @ g
    lam_min = lam[0]
    tol = 1e-12 * max(1.0, np.abs(lam).max())

    def norm_at(mu):
        return np.linalg.norm(gt / (lam + mu))

    if lam_min > 0:
        s = Q @ (gt / lam)
        if np.linalg.norm(s) <= r:
            return s, "newton"
        low = 0.0
    else:
        low = -lam_min + tol
        if norm_at(low) <= r:
            # The step cannot reach the boundary by shrinking mu: the "hard case"
            # (g has no component on the lowest eigenvector) moves along that vector.
            s = Q @ np.where(lam <= lam_min + tol, 0.0, gt / (lam + low))
            tau = np.sqrt(max(r * r - s @ s, 0.0))
            return s + tau * Q[:, 0], "hard"
    high = max(low, np.linalg.norm(g) / r - lam_min) * 2 + 1.0
    while norm_at(high) > r:
        high *= 2.0
    mu = brentq(lambda mu: norm_at(mu) - r, low, high, xtol=1e-14, rtol=4 * EPS, maxiter=200)
    return Q @ (gt / (lam + mu)), "boundary"


def _check_options(rinit, rmax, iterlim):
    if not (np.isfinite(rinit) and rinit > 0):
        raise ValueError(bad_value("rinit", "a positive number", rinit))
    if not (np.isfinite(rmax) and rmax >= rinit):
        raise ValueError(bad_value("rmax", f"a number >= rinit ({rinit})", rmax))
    if isinstance(iterlim, bool) or not isinstance(iterlim, (int, np.integer)) or iterlim < 1:
        raise ValueError(bad_value("iterlim", "a positive integer", iterlim))


def maximize(fun, theta0, rinit=10.0, rmax=1000.0, iterlim=1000, fterm=np.sqrt(EPS),
             mterm=np.sqrt(EPS), callback=None):
    """Maximise ``fun`` from ``theta0``; returns an OptimizeResult. ``callback(step)`` per iteration."""
    _check_options(rinit, rmax, iterlim)
    theta = np.asarray(theta0, dtype=float).copy()
    current = fun(theta)
    if not np.isfinite(current.value):
        raise ValueError(bad_value("the starting point", "a point where the objective is finite",
                                   theta.tolist()))
    r = float(rinit)
    path = []
    converged, status = False, ITERATION_LIMIT
    message = "iteration limit reached"
    for _ in range(iterlim):
        s, kind = solve_subproblem(current.gradient, current.hessian, r)
        predicted = current.gradient @ s + 0.5 * s @ current.hessian @ s
        trial = theta + s
        new = fun(trial)
        change = new.value - current.value if np.isfinite(new.value) else -np.inf
        tiny = abs(predicted) < mterm
        # a predicted increase below mterm is rounding: accept unless the value fell by fterm
        rho = change / predicted if predicted > 0 and not tiny else \
            (1.0 if tiny and change >= -fterm else -np.inf)
        accepted = bool(rho > 0.25)
        path.append(Step(theta.copy(), current.value, trial, new.value, r, rho, predicted,
                         accepted, kind, len(path)))
        if callback is not None:
            callback(path[-1])
        if rho < 0.25:
            r = r / 4.0
        elif rho > 0.75 and kind != "newton":
            r = min(2.0 * r, rmax)
        if accepted:
            theta, current = trial, new
            if tiny or abs(change) < fterm:
                converged, status = True, CONVERGED
                message = "predicted increase below mterm" if tiny else "value change below fterm"
                break
        if r < 1e-3 * EPS * max(1.0, np.linalg.norm(theta)):
            status = STALLED
            message = "trust radius collapsed: the model predicts an increase the objective lacks"
            break
    return OptimizeResult(theta, current.value, current.gradient, current.hessian, converged,
                          status, message, len(path), tuple(path), current)
