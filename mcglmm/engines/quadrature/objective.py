"""The objective the optimiser sees: a quadrature or Laplace log likelihood with its adaptation.

Adaptive quadrature has inputs besides theta (each group's node centre and scale).
``Objective.refresh(theta, final)`` re-centres them at theta and returns f(t) ->
(value, grad) with them held fixed, so each Newton step works on one smooth
function.  Mean-variance adaptation (Stata's mvaghermite) takes one update of the
posterior moments per refresh (none when it would move the nodes by less than
1e-4), reusing the evaluation at theta that the line search already made, and is
iterated to its fixed point (1e-6) at the start and for the final estimate.
Mode-curvature adaptation re-finds the joint mode at every refresh.
The last evaluation is remembered so that no point is evaluated twice in a row.
"""
from __future__ import annotations

import numpy as np

from .laplace import curvature_adapt, laplace
from .hessian import supports_exact_hessian
from .nested import aghq


def _finite(ev):
    """(value, grad) with a non-finite value reported as -inf (an infeasible point)."""
    return (ev.value if np.isfinite(ev.value) else -np.inf), ev.grad


def _infeasible(t):
    """(value, grad) at a theta without an adaptation (the joint mode's h is not finite)."""
    return -np.inf, np.full(len(t), np.nan)


def mv_adapt(evaluate, adapt, known=None, tol=1e-6, max_iter=50):
    """Mean-variance adaptation: replace (mu, C) by the posterior means and variances.

    ``evaluate(adapt)`` is the quadrature at theta; ``known`` its result for ``adapt``
    when already computed.  Stops after ``max_iter`` updates or when an update would
    move the nodes by less than ``tol``, returning the adaptation last evaluated.
    Returns None when an update would shrink or widen some group's nodes by more than
    a factor MAX_SCALE_CHANGE: the nodes no longer cover the posterior (the moments
    computed from them are then unreliable and cannot recover), so the caller restarts
    from the mode and curvature.
    """
    ev = known if known is not None else evaluate(adapt)
    for _ in range(max_iter):
        new = ev.adapt_next
        if _scale_jump(adapt, new) > np.log(MAX_SCALE_CHANGE):
            return None
        change = max(np.max(np.abs(a - b)) for old, upd in zip(
            (adapt.mu, adapt.C, adapt.B), (new.mu, new.C, new.B)) for a, b in zip(old, upd)
            if a.size)
        if change < tol:
            break
        adapt = new
        ev = evaluate(adapt)
    return adapt


MAX_SCALE_CHANGE = 10.0


def _scale_jump(old, new):
    """Largest |log|C_new| - log|C_old|| over groups and levels."""
    def logdet(C):
        return np.log(np.abs(np.diagonal(C, axis1=1, axis2=2))).sum(axis=1)
    return max(float(np.max(np.abs(logdet(a) - logdet(b)))) for a, b in zip(old.C, new.C))


class Objective:
    """Log likelihood of ``model`` by ``intmethod`` with k points, for ``newton_maximize``.

    The only mutable state of a fit: the current adaptation, the last joint mode (a
    warm start) and the last evaluation.
    """

    def __init__(self, model, intmethod, k):
        if intmethod == "mvaghermite" and k == 1:
            intmethod = "mcaghermite"   # one node has no posterior variance to adapt to
        self.model, self.intmethod, self.k = model, intmethod, k
        self.adapt, self.mode, self.last = None, None, None
        self.starts = {}

    def _evaluate(self, t, adapt, scores=False):
        ev = aghq(self.model, t, adapt, self.k, scores=scores)
        self.last = (np.array(t, copy=True), adapt, ev)
        return ev

    def _curvature(self, theta):
        adapt, self.mode = curvature_adapt(self.model, theta, self.mode)
        return adapt

    def start_value(self, theta):
        """Log likelihood at a candidate start (curvature adaptation, no mean-variance loop)."""
        if self.intmethod == "laplace":
            ev = laplace(self.model, theta, self.mode, gradient=False)
            self.mode = ev.mode
            return ev.value
        if self.intmethod == "ghermite":
            return aghq(self.model, theta, None, self.k).value
        adapt = self._curvature(theta)
        if adapt is None:
            return -np.inf
        self.starts[np.asarray(theta).tobytes()] = adapt
        return self._evaluate(theta, adapt).value

    def refresh(self, theta, final=False):
        """f(t) -> (value, grad) with the adaptation re-centred at theta."""
        if self.intmethod == "laplace":
            return self._laplace
        if self.intmethod == "ghermite":
            return lambda t: _finite(aghq(self.model, t, None, self.k))
        first = self.adapt is None
        if self.intmethod == "mcaghermite" or first:
            self.adapt = self.starts.get(np.asarray(theta).tobytes()) or self._curvature(theta)
        if self.intmethod == "mvaghermite" and self.adapt is not None:
            last = self.last
            known = (last[2] if last is not None and last[1] is self.adapt
                     and np.array_equal(last[0], theta) else None)
            settle = final or first
            adapt = mv_adapt(lambda a: self._evaluate(theta, a), self.adapt, known,
                             tol=1e-6 if settle else 1e-4, max_iter=50 if settle else 1)
            if adapt is None:
                start = self._curvature(theta)
                adapt = start and (mv_adapt(lambda a: self._evaluate(theta, a), start) or start)
            self.adapt = adapt
        adapt = self.adapt
        if adapt is None:
            return _infeasible

        def f(t):
            last = self.last
            if last is not None and last[1] is adapt and np.array_equal(last[0], t):
                return _finite(last[2])
            return _finite(self._evaluate(t, adapt))
        if supports_exact_hessian(self.model):
            f.hessian = lambda t: aghq(self.model, t, adapt, self.k, hessian=True).hess
        return f

    def _laplace(self, t):
        ev = laplace(self.model, t, self.mode)
        self.mode = ev.mode
        return ev.value, ev.grad

    def scores(self, theta):
        """Per top-level-group scores at theta (G_1, dim), with the adaptation settled there."""
        if self.intmethod == "ghermite":
            return aghq(self.model, theta, None, self.k, scores=True).scores
        self.refresh(theta, final=True)
        return self._evaluate(theta, self.adapt, scores=True).scores
