"""What the optimiser sees: a quadrature or Laplace log likelihood, its adaptation explicit.

Two objects, one per stage, sharing no hidden state:

- ``StartSearch``: the log likelihood at candidate start values (the start grid and
  Stata's startgrid), with the mode-curvature adaptation at each candidate and no
  mean-variance loop.  Its state is the last joint mode, a warm start for the next
  candidate; ``state`` hands it to the fit.
- ``Objective``: the fit.  ``refresh(theta, final)`` computes the adaptation to hold
  fixed at theta (``adaptation.refreshed``: mean-variance adaptation takes one update of
  the posterior moments per refresh, reusing the evaluation at theta that the line search
  already made, and is iterated to its fixed point (1e-6) at the start and for the final
  estimate; mode-curvature adaptation re-finds the joint mode at every refresh) and
  returns the ``optim.newton.Criterion`` with it held fixed, so each Newton step works on
  one smooth function.  The criterion gives the exact Hessian wherever the engine has one
  (nested quadrature, adaptive or not).  The last evaluation is remembered so that no
  point is evaluated twice in a row.

``nonadaptive(model, k)`` is the plain map theta -> ``engines.base.Evaluation`` (value,
gradient, exact Hessian) of non-adaptive Gauss-Hermite quadrature, for lr2/lr3.
"""
from __future__ import annotations

import numpy as np

from ...optim.newton import Criterion
from ..base import Evaluation
from .adaptation import Adaptation, curvature, mv_adapt, refreshed
from .hessian import supports_exact_hessian
from .laplace import laplace
from .nested import aghq
from .pinheiro_chao import pc_laplace

LAPLACE = {"laplace": laplace, "pclaplace": pc_laplace}   # the Laplace evaluator of intmethod


def _finite(ev):
    """(value, grad) with a non-finite value reported as -inf (an infeasible point)."""
    return (ev.value if np.isfinite(ev.value) else -np.inf), ev.gradient


def _infeasible(t):
    """(value, grad) at a theta without an adaptation (the joint mode's h is not finite)."""
    return -np.inf, np.full(len(t), np.nan)


def _method(intmethod, k):
    """One node has no posterior variance to adapt to: mvaghermite with k = 1 is mcaghermite."""
    return "mcaghermite" if intmethod == "mvaghermite" and k == 1 else intmethod


def nonadaptive(model, k):
    """theta -> Evaluation (value, gradient, Hessian) of k-point non-adaptive quadrature."""
    def evaluate(theta):
        ev = aghq(model, theta, None, k, hessian=True)
        value = ev.value if np.isfinite(ev.value) else -np.inf
        return Evaluation(value, ev.gradient, ev.hessian)
    return evaluate


class StartSearch:
    """Log likelihood at candidate start values; ``value(theta)`` -> float."""

    def __init__(self, model, intmethod, k):
        self.model, self.intmethod, self.k = model, _method(intmethod, k), k
        self.state = Adaptation()

    def value(self, theta):
        """Log likelihood at a candidate (curvature adaptation, no mean-variance loop)."""
        if self.intmethod in LAPLACE:
            ev = LAPLACE[self.intmethod](self.model, theta, self.state.mode, gradient=False)
            self.state = Adaptation(None, ev.mode)
            return ev.value
        if self.intmethod == "ghermite":
            return aghq(self.model, theta, None, self.k).value
        self.state = curvature(self.model, theta, self.state, self.intmethod)
        if self.state.adapt is None:
            return -np.inf
        return aghq(self.model, theta, self.state.adapt, self.k).value


class Objective:
    """Log likelihood of ``model`` by ``intmethod`` with k points, for ``newton_maximize``.

    ``state``: the adaptation to start from (``StartSearch.state``: its warm-start mode).
    The only mutable attributes: the current adaptation state and the last evaluation.
    """

    def __init__(self, model, intmethod, k, state=None):
        self.model, self.intmethod, self.k = model, _method(intmethod, k), k
        self.state = Adaptation(None, None if state is None else state.mode)
        self.last = None

    def _evaluate(self, t, adapt, scores=False):
        ev = aghq(self.model, t, adapt, self.k, scores=scores)
        self.last = (np.array(t, copy=True), adapt, ev)
        return ev

    def _known(self, theta):
        """The last evaluation if it was at theta with the current adaptation, else None."""
        last = self.last
        if last is not None and last[1] is self.state.adapt and np.array_equal(last[0], theta):
            return last[2]
        return None

    def refresh(self, theta, final=False):
        """The Criterion at theta: value and gradient with the adaptation re-centred there."""
        if self.intmethod in LAPLACE:
            return Criterion(self._laplace)
        if self.intmethod == "ghermite":
            return self._nonadaptive()
        self.state = refreshed(self.model, self.intmethod, theta, self.state,
                               lambda a: self._evaluate(theta, a), self._known(theta), final)
        adapt = self.state.adapt
        if adapt is None:
            return Criterion(_infeasible)

        def value_grad(t):
            last = self.last
            if last is not None and last[1] is adapt and np.array_equal(last[0], t):
                return _finite(last[2])
            return _finite(self._evaluate(t, adapt))
        if not supports_exact_hessian(self.model):
            return Criterion(value_grad)
        return Criterion(value_grad, lambda t: aghq(self.model, t, adapt, self.k,
                                                    hessian=True).hessian)

    def _nonadaptive(self):
        model, k = self.model, self.k
        if not supports_exact_hessian(model, adaptive=False):
            return Criterion(lambda t: _finite(aghq(model, t, None, k)))
        return Criterion(lambda t: _finite(aghq(model, t, None, k)),
                         lambda t: aghq(model, t, None, k, hessian=True).hessian)

    def _laplace(self, t):
        last = self.last
        if last is not None and last[1] == "laplace" and np.array_equal(last[0], t):
            return last[2].value, last[2].gradient
        ev = LAPLACE[self.intmethod](self.model, t, self.state.mode)
        self.state = Adaptation(None, ev.mode)
        self.last = (np.array(t, copy=True), "laplace", ev)
        return ev.value, ev.gradient

    def scores(self, theta):
        """Per top-level-group scores at theta (G_1, dim), with the adaptation settled there."""
        if self.intmethod == "ghermite":
            return aghq(self.model, theta, None, self.k, scores=True).scores
        self.refresh(theta, final=True)
        return self._evaluate(theta, self.state.adapt, scores=True).scores


__all__ = ["Objective", "StartSearch", "nonadaptive", "mv_adapt"]
