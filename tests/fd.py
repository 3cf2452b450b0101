"""The one finite-difference helper of the test suite (central differences).

``central_gradient(f, x, h)`` differentiates a scalar function, ``central_jacobian(g, x, h)``
a vector function (a gradient, giving a Hessian). Steps are relative to max(|x_j|, 1).
"""
import numpy as np


def _steps(x, h):
    return h * np.maximum(np.abs(x), 1.0)


def central_jacobian(g, x, h=1e-6):
    """J: (k, P) with J[:, j] = (g(x + h_j e_j) - g(x - h_j e_j)) / (2 h_j); g: (P,) -> (k,)."""
    x = np.asarray(x, dtype=float)
    steps = _steps(x, h)
    columns = []
    for j, step in enumerate(steps):
        e = np.zeros_like(x)
        e[j] = step
        columns.append((np.atleast_1d(g(x + e)) - np.atleast_1d(g(x - e))) / (2 * step))
    return np.stack(columns, axis=-1)


def central_gradient(f, x, h=1e-6):
    """(P,) central-difference gradient of a scalar function f: (P,) -> float."""
    return central_jacobian(lambda t: np.array([f(t)]), x, h)[0]


def relative_error(approx, exact):
    """max |approx - exact| / max(max |exact|, 1): one scale for a whole array."""
    approx, exact = np.asarray(approx, float), np.asarray(exact, float)
    return np.max(np.abs(approx - exact)) / max(np.max(np.abs(exact)), 1.0)
