"""Newton-Raphson maximiser for the quadrature and Laplace log likelihoods.

Each iteration first *refreshes* the objective at the current theta (for
adaptive quadrature this re-centres the nodes: the adaptive parameters are held
fixed while a step is taken, as in Stata's meglm), then takes the Newton step

    delta = (-H)^-1 g,   H by differences of the analytic gradient (BFGS-updated
                         between difference Hessians),

with step halving until the log likelihood does not decrease.  Where -H is not
positive definite ("not concave") its eigenvalues are floored before solving.
Convergence: concave and g'(-H)^-1 g < nrtol (Stata's nrtolerance) and the
relative change in the log likelihood below ``tolerance``.

A trial point whose log likelihood or gradient is not finite is a rejected step; when
step halving finds no acceptable point (with the real curvature) the maximiser stops
unconverged and says so in ``NewtonResult.message``.  The start must be finite.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exceptions import bad_value


@dataclass(frozen=True)
class NewtonResult:
    """theta; value; grad; hess (observed, at theta); converged; iterations; log lines;
    message: why it stopped."""

    theta: np.ndarray
    value: float
    grad: np.ndarray
    hess: np.ndarray
    converged: bool
    iterations: int
    log: tuple
    message: str


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
    roundoff), a non-finite value counting as lower.

    Returns the accepted point, or None when no t is accepted.  Bounded coordinates
    heading down while already within PROBE of their bound are first tried at the bound
    itself (a variance that is zero at the maximum, which Newton steps on the log scale
    approach only slowly).
    """
    near = (step < 0) & np.isfinite(lower) & (theta < lower + PROBE)
    if near.any():
        probe = np.maximum(theta + step, lower)
        probe[near] = lower[near]
        trial = f(probe)[0]
        if np.isfinite(trial) and trial >= value - 1e-10 * abs(value):
            return probe
    t = 1.0
    while t > 1e-10:
        new = np.maximum(theta + t * step, lower)
        trial = f(new)[0]
        if np.isfinite(trial) and trial >= value - 1e-10 * abs(value):
            return new
        t *= 0.5
    return None


def _finite(value, grad):
    """Whether a log likelihood and its gradient are finite."""
    return bool(np.isfinite(value) and np.all(np.isfinite(grad)))


def _free_direction(g, H, active):
    """Ascent direction with the active bounds held fixed, and whether -H is PD on the rest."""
    step = np.zeros_like(g)
    free = ~active
    step[free], concave = _ascent_direction(g[free], H[np.ix_(free, free)])
    return step, concave


def _curvature(f, theta, central=False):
    """f.hessian(theta) for an objective with an exact Hessian, else gradient differences."""
    exact = getattr(f, "hessian", None)
    return exact(theta) if exact is not None else fd_hessian(f, theta, central)


PROBE = 9.0   # with log-sd bounds at -12: probe once the sd is below exp(-3) = 0.05


STALLED = ("step halving found no point with a finite log likelihood at least as high as the "
           "current one")


def _step(refresh, f, theta, step, value, lower):
    """(new theta, f refreshed there, value, grad) after the line search along ``step``, or
    None when it accepts no point or the refreshed log likelihood there is not finite."""
    new = _line_search(f, theta, step, value, lower)
    if new is None:
        return None
    f_new = refresh(new, False)
    new_value, new_g = f_new(new)
    return (new, f_new, new_value, new_g) if _finite(new_value, new_g) else None


def newton_maximize(refresh, theta0, iterate=100, tolerance=1e-8, nrtol=1e-10, log=False,
                    printer=print, quasi=True, lower=None):
    """Maximise; ``refresh(theta, final)`` returns f with f(t) -> (value, grad) centred at theta.

    ``final`` is True for the last refresh, at the returned estimate, where an adaptive
    objective should settle its adaptation fully.

    The first Hessian is a difference of gradients; with ``quasi`` later ones are BFGS
    updates, replaced by a fresh difference Hessian after a short step and before
    convergence is declared (so the convergence test always uses the real curvature).
    An objective f with an exact Hessian (attribute ``f.hessian``) gets plain Newton.
    ``lower`` (dim,) bounds theta from below (projected Newton: a coordinate at its bound
    with the gradient pointing out of the region is held there and left out of the test).
    A start where theta, the log likelihood or its gradient is not finite is refused
    (ValueError).
    """
    theta = np.asarray(theta0, dtype=float).copy()
    if not np.all(np.isfinite(theta)):
        raise ValueError(bad_value("the start value", "finite", theta.tolist()))
    lower = np.full(len(theta), -np.inf) if lower is None else np.asarray(lower, dtype=float)
    theta = np.maximum(theta, lower)
    f = refresh(theta, False)
    value, g = f(theta)
    if not _finite(value, g):
        raise ValueError(bad_value("the start value", "a point where the log likelihood and its "
                                   "gradient are finite", f"log likelihood {value}"))
    H, exact = _curvature(f, theta), True
    lines, converged, prev, it = [], False, -np.inf, 0
    message = f"the iteration limit ({iterate}) was reached"
    for it in range(iterate + 1):
        active = (theta <= lower) & (g <= 0)
        step, concave = _free_direction(g, H, active)
        small = abs(value - prev) <= tolerance * (abs(value) + 1.0)
        if concave and float(g @ step) < nrtol and small and not exact:
            H, exact = _curvature(f, theta), True
            step, concave = _free_direction(g, H, active)
        line = f"Iteration {it}: Log likelihood = {value:.8g}"
        line += "" if concave else " (not concave)"
        lines.append(line)
        if log:
            printer(line)
        if concave and float(g @ step) < nrtol and small:
            converged, message = True, "converged"
            break
        if it == iterate:
            break
        moved = _step(refresh, f, theta, step, value, lower)
        if moved is None and exact:
            message = STALLED
            break
        if moved is None:
            H, exact = _curvature(f, theta), True
            continue
        new, f, new_value, new_g = moved
        long_step = np.linalg.norm(new - theta) > 0.1 * np.linalg.norm(step)
        if quasi and long_step and getattr(f, "hessian", None) is None:
            H, exact = _bfgs_update(H, new - theta, new_g - g), False
        else:
            H, exact = _curvature(f, new), True
        prev, theta, value, g = value, new, new_value, new_g
    f = refresh(theta, True)
    value, g = f(theta)
    return NewtonResult(theta, value, g, _curvature(f, theta, central=True), converged, it,
                        tuple(lines), message)
