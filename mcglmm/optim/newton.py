"""Newton-Raphson maximiser for the quadrature and Laplace log likelihoods.

Each iteration first *refreshes* the objective at the current theta (for
adaptive quadrature this re-centres the nodes: the adaptive parameters are held
fixed while a step is taken, as in Stata's meglm): ``refresh(theta, final)``
returns a ``Criterion``, the function maximised until the next refresh, with
``value_grad(t) -> (value, grad)`` and, when the objective has one, an exact
``hessian(t) -> (P, P)``.  Then Newton takes the step

    delta = (-H)^-1 g,   H by differences of the analytic gradient (BFGS-updated
                         between difference Hessians),

with step halving (``linesearch.halve_step``) until the log likelihood does not
decrease (to rounding, 1e-10 of its size).  Where -H is not
positive definite ("not concave") its eigenvalues are floored before solving.
Convergence: concave and g'(-H)^-1 g < nrtol (Stata's nrtolerance) and the
relative change in the log likelihood below ``tolerance``.

A trial point whose log likelihood or gradient is not finite is a rejected step; when
step halving finds no acceptable point (with the real curvature) the maximiser stops
unconverged and says so in the result's ``message``.  The start must be finite.
The result is an ``optim.result.OptimizeResult`` whose ``path`` holds one ``Iterate``
per iteration (its ``line`` is the log line printed with ``log=True``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..exceptions import bad_value
from .linesearch import halve_step
from .result import CONVERGED, ITERATION_LIMIT, STALLED as STATUS_STALLED, OptimizeResult


@dataclass(frozen=True)
class Criterion:
    """What Newton maximises between two refreshes.

    value_grad: t (P,) -> (value, grad (P,)); hessian: t -> (P, P) exact second
    derivatives, or None (Newton then differences the gradient).
    """

    value_grad: Callable
    hessian: Callable | None = None


@dataclass(frozen=True)
class Iterate:
    """One Newton iteration: x where it started, the value there, whether -H was PD."""

    x: np.ndarray
    value: float
    concave: bool
    number: int

    @property
    def line(self):
        """Stata's log line: 'Iteration 3: Log likelihood = -123.45678 (not concave)'."""
        text = f"Iteration {self.number}: Log likelihood = {self.value:.8g}"
        return text + ("" if self.concave else " (not concave)")


def fd_hessian(f, theta, central=False):
    """Hessian (k, k) of f(theta) -> (value, grad) by differences of the gradient, symmetrised."""
    k = len(theta)
    H = np.empty((k, k))
    g0 = None if central else f(theta)[1]
    for j in range(k):
        h = 1e-5 * max(1.0, abs(theta[j]))
        e = np.zeros(k)
        e[j] = h
        if central:
            H[:, j] = (f(theta + e)[1] - f(theta - e)[1]) / (2 * h)
        else:
            H[:, j] = (f(theta + e)[1] - g0) / h
    return 0.5 * (H + H.T)


def _ascent_direction(g, H):
    """(direction, concave): Newton direction on -H, eigenvalues floored where not concave;
    the gradient direction (at most unit length) where H is not finite."""
    if not np.all(np.isfinite(H)):
        return g / max(1.0, float(np.linalg.norm(g))), False
    lam, V = np.linalg.eigh(-H)
    concave = bool(lam.min() > 0)
    floor = max(1e-8, 1e-6 * np.abs(lam).max()) if len(lam) else 1.0
    lam_mod = np.where(lam > floor, lam, np.maximum(np.abs(lam), floor))
    return V @ ((V.T @ g) / lam_mod), concave


def _bfgs_update(H, s, dg):
    """BFGS update of the Hessian approximation H of a maximised function.

    s is the step, dg the change of the gradient along it.
    """
    B, y = -H, -dg
    ys = float(y @ s)
    if ys <= 1e-12 * np.linalg.norm(y) * np.linalg.norm(s):
        return H
    Bs = B @ s
    return -(B + np.outer(y, y) / ys - np.outer(Bs, Bs) / float(s @ Bs))


def _line_search(f, theta, step, value, lower):
    """Largest t in 1, 1/2, ..., 2^-33 with f(max(theta + t step, lower)) >= f(theta) (to
    roundoff: ``SLACK`` of |f(theta)|), by ``halve_step``; a non-finite value counts as lower.

    Returns the accepted point, or None when no t is accepted.  Bounded coordinates
    heading down while already within PROBE of their bound are first tried at the bound
    itself (a variance that is zero at the maximum, which Newton steps on the log scale
    approach only slowly).
    """
    slack = SLACK * abs(value)
    near = (step < 0) & np.isfinite(lower) & (theta < lower + PROBE)
    if near.any():
        probe = np.maximum(theta + step, lower)
        probe[near] = lower[near]
        if halve_step(lambda t: (f(probe)[0],), value, 0, slack) is not None:
            return probe
    found = halve_step(lambda t: (f(np.maximum(theta + t * step, lower))[0],), value,
                       HALVINGS, slack)
    return None if found is None else np.maximum(theta + found[0] * step, lower)


HALVINGS = 33     # t down to 2^-33 = 1.2e-10
SLACK = 1e-10     # relative decrease taken as rounding


def _finite(value, grad):
    """Whether a log likelihood and its gradient are finite."""
    return bool(np.isfinite(value) and np.all(np.isfinite(grad)))


def _free_direction(g, H, active):
    """Ascent direction with the active bounds held fixed, and whether -H is PD on the rest."""
    step = np.zeros_like(g)
    free = ~active
    step[free], concave = _ascent_direction(g[free], H[np.ix_(free, free)])
    return step, concave


def _curvature(crit, theta, central=False):
    """The criterion's exact Hessian at theta when it has one, else gradient differences."""
    if crit.hessian is not None:
        return crit.hessian(theta)
    return fd_hessian(crit.value_grad, theta, central)


PROBE = 9.0   # with log-sd bounds at -12: probe once the sd is below exp(-3) = 0.05


STALLED = ("step halving found no point with a finite log likelihood at least as high as the "
           "current one")


def _step(refresh, crit, theta, step, value, lower):
    """(new theta, the criterion refreshed there, value, grad) after the line search along
    ``step``, or None when it accepts no point or the refreshed log likelihood there is
    not finite."""
    new = _line_search(crit.value_grad, theta, step, value, lower)
    if new is None:
        return None
    crit_new = refresh(new, False)
    new_value, new_g = crit_new.value_grad(new)
    return (new, crit_new, new_value, new_g) if _finite(new_value, new_g) else None


def _start(refresh, theta0, lower):
    """(theta, lower, criterion, value, grad) at the checked start, projected onto the bounds."""
    theta = np.asarray(theta0, dtype=float).copy()
    if not np.all(np.isfinite(theta)):
        raise ValueError(bad_value("the start value", "finite", theta.tolist()))
    lower = np.full(len(theta), -np.inf) if lower is None else np.asarray(lower, dtype=float)
    theta = np.maximum(theta, lower)
    crit = refresh(theta, False)
    value, g = crit.value_grad(theta)
    if not _finite(value, g):
        raise ValueError(bad_value("the start value", "a point where the log likelihood and its "
                                   "gradient are finite", f"log likelihood {value}"))
    return theta, lower, crit, value, g


def newton_maximize(refresh, theta0, iterate=100, tolerance=1e-8, nrtol=1e-10, log=False,
                    printer=print, quasi=True, lower=None):
    """Maximise; ``refresh(theta, final)`` returns the ``Criterion`` centred at theta.

    ``final`` is True for the last refresh, at the returned estimate, where an adaptive
    objective should settle its adaptation fully.

    The first Hessian is a difference of gradients; with ``quasi`` later ones are BFGS
    updates, replaced by a fresh difference Hessian after a short step and before
    convergence is declared (so the convergence test always uses the real curvature).
    A criterion with an exact Hessian gets plain Newton.
    ``lower`` (dim,) bounds theta from below (projected Newton: a coordinate at its bound
    with the gradient pointing out of the region is held there and left out of the test).
    A start where theta, the log likelihood or its gradient is not finite is refused
    (ValueError).  Returns an ``OptimizeResult`` (hess: the exact Hessian, or central
    differences of the gradient, at x).
    """
    theta, lower, crit, value, g = _start(refresh, theta0, lower)
    H, exact = _curvature(crit, theta), True
    path, prev, it = [], -np.inf, 0
    status, message = ITERATION_LIMIT, f"the iteration limit ({iterate}) was reached"
    for it in range(iterate + 1):
        active = (theta <= lower) & (g <= 0)
        step, concave = _free_direction(g, H, active)
        small = abs(value - prev) <= tolerance * (abs(value) + 1.0)
        if concave and float(g @ step) < nrtol and small and not exact:
            H, exact = _curvature(crit, theta), True
            step, concave = _free_direction(g, H, active)
        path.append(Iterate(theta.copy(), value, concave, it))
        if log:
            printer(path[-1].line)
        if concave and float(g @ step) < nrtol and small:
            status, message = CONVERGED, "converged"
            break
        if it == iterate:
            break
        moved = _step(refresh, crit, theta, step, value, lower)
        if moved is None and exact:
            status, message = STATUS_STALLED, STALLED
            break
        if moved is None:
            H, exact = _curvature(crit, theta), True
            continue
        new, crit, new_value, new_g = moved
        long_step = np.linalg.norm(new - theta) > 0.1 * np.linalg.norm(step)
        if quasi and long_step and crit.hessian is None:
            H, exact = _bfgs_update(H, new - theta, new_g - g), False
        else:
            H, exact = _curvature(crit, new), True
        prev, theta, value, g = value, new, new_value, new_g
    crit = refresh(theta, True)
    value, g = crit.value_grad(theta)
    return OptimizeResult(theta, value, g, _curvature(crit, theta, central=True),
                          status == CONVERGED, status, message, it, tuple(path))


__all__ = ["Criterion", "Iterate", "STALLED", "fd_hessian", "newton_maximize"]
