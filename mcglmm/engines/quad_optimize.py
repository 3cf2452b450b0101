"""Newton-Raphson maximiser for the quadrature and Laplace log likelihoods.

Each iteration first *refreshes* the objective at the current theta (for
adaptive quadrature this re-centres the nodes: the adaptive parameters are held
fixed while a step is taken, as in Stata's meglm), then takes the Newton step

    delta = (-H)^-1 g,   H by differences of the analytic gradient,

with step halving until the log likelihood does not decrease.  Where -H is not
positive definite ("not concave") its eigenvalues are floored before solving.
Convergence: concave and g'(-H)^-1 g < nrtol (Stata's nrtolerance) and the
relative change in the log likelihood below ``tolerance``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NewtonResult:
    """theta; value; grad; hess (observed, at theta); converged; iterations; log lines."""

    theta: np.ndarray
    value: float
    grad: np.ndarray
    hess: np.ndarray
    converged: bool
    iterations: int
    log: tuple


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
    """(direction, concave): Newton direction on -H, eigenvalues floored where not concave."""
    lam, V = np.linalg.eigh(-H)
    concave = bool(lam.min() > 0)
    floor = max(1e-8, 1e-6 * np.abs(lam).max()) if len(lam) else 1.0
    lam_mod = np.where(lam > floor, lam, np.maximum(np.abs(lam), floor))
    return V @ ((V.T @ g) / lam_mod), concave


def newton_maximize(refresh, theta0, iterate=100, tolerance=1e-8, nrtol=1e-7, log=False,
                    printer=print):
    """Maximise; ``refresh(theta)`` returns f with f(t) -> (value, grad) centred at theta."""
    theta = np.asarray(theta0, dtype=float).copy()
    lines, converged, it = [], False, 0
    prev = -np.inf
    for it in range(iterate + 1):
        f = refresh(theta)
        value, g = f(theta)
        H = fd_hessian(f, theta)
        step, concave = _ascent_direction(g, H)
        line = f"Iteration {it}: Log likelihood = {value:.8g}" + ("" if concave else " (not concave)")
        lines.append(line)
        if log:
            printer(line)
        crit = float(g @ step)
        if concave and crit < nrtol and abs(value - prev) <= tolerance * (abs(value) + 1.0):
            converged = True
            break
        if it == iterate:
            break
        prev = value
        t = 1.0
        while t > 1e-10:
            trial = f(theta + t * step)[0]
            if np.isfinite(trial) and trial >= value - 1e-10 * abs(value):
                break
            t *= 0.5
        theta = theta + t * step
    f = refresh(theta)
    value, g = f(theta)
    H = fd_hessian(f, theta, central=True)
    return NewtonResult(theta, value, g, H, converged, it, tuple(lines))
