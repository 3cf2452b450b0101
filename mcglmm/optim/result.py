"""The one result type of every maximiser in ``optim`` (trust region, Newton, constrained Newton).

Fields follow scipy's ``OptimizeResult``: the argument ``x`` (P,) reached, the objective's
``value``, gradient ``grad`` (P,) and Hessian ``hess`` (P, P) there, ``converged``, an
integer ``status`` (0 converged, 1 iteration limit, 2 no acceptable step: see STATUS),
a ``message`` saying why it stopped, the iteration count ``nit`` and ``path``, the
per-iteration record (``trust.Step`` or ``newton.Iterate``).  ``evaluation`` is what the
objective returned at x when it returns more than value, gradient and Hessian (the MCLA's
effective sample size), else None.  ``technique`` is the maximisation technique
(Stata's e(technique): "nr", or the techniques of a schedule such as "bhhh nr"), None for
the trust region.  The names the callers used before stay as read-only
aliases: ``argument`` and ``theta`` (x), ``gradient`` (grad), ``hessian`` (hess),
``iterations`` (nit), ``argpath`` and ``log``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONVERGED, ITERATION_LIMIT, STALLED = 0, 1, 2
STATUS = {CONVERGED: "converged", ITERATION_LIMIT: "iteration limit reached",
          STALLED: "no acceptable step"}


@dataclass(frozen=True)
class OptimizeResult:
    """x (P,); value; grad (P,); hess (P, P); converged; status (see STATUS); message; nit;
    path: per-iteration records; evaluation: the objective's own return at x, or None;
    technique: Stata's e(technique) for Newton, else None."""

    x: np.ndarray
    value: float
    grad: np.ndarray
    hess: np.ndarray
    converged: bool
    status: int
    message: str
    nit: int
    path: tuple = ()
    evaluation: object = None
    technique: str | None = None

    @property
    def argument(self):
        """x (the trust region's name)."""
        return self.x

    @property
    def theta(self):
        """x (the quadrature fronts' name)."""
        return self.x

    @property
    def gradient(self):
        return self.grad

    @property
    def hessian(self):
        return self.hess

    @property
    def iterations(self):
        return self.nit

    @property
    def argpath(self):
        """(nit + 1, P): the argument at the start of each iteration, then x."""
        return np.array([s.x for s in self.path] + [self.x])

    @property
    def log(self):
        """The iteration log, one line per record of ``path``."""
        return tuple(s.line for s in self.path)


__all__ = ["OptimizeResult", "STATUS", "CONVERGED", "ITERATION_LIMIT", "STALLED"]
