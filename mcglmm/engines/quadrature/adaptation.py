"""The adaptation state of adaptive quadrature, passed in and returned (never cached).

Adaptive quadrature has inputs besides theta: each group's node centre and scale
(``nodes.Adapt``: mu, C, B per level).  ``Adaptation`` holds them together with the
last joint mode of the random effects (the warm start of the next mode search, for
mode-curvature adaptation and the Laplace approximation).  The functions here take a
state and return the next one:

- ``curvature``: nodes at the joint mode with the conditional curvatures (Stata's
  mcaghermite and pcaghermite, and the start of mvaghermite);
- ``mv_adapt``: mean-variance adaptation (Stata's mvaghermite), replacing (mu, C, B) by
  the posterior moments until an update moves the nodes by less than ``tol``;
- ``refreshed``: the state the optimiser's next step holds fixed at theta.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .laplace import curvature_adapt
from .nodes import Adapt
from .pinheiro_chao import pc_curvature_adapt

MAX_SCALE_CHANGE = 10.0
MODE_CURVATURE = {"pcaghermite": pc_curvature_adapt}   # else the full-Hessian curvature_adapt


@dataclass(frozen=True)
class Adaptation:
    """adapt: ``nodes.Adapt`` (None: none yet, or infeasible at the last theta); mode: the
    last joint mode (q,) or None."""

    adapt: Adapt | None = None
    mode: np.ndarray | None = None


def curvature(model, theta, state, intmethod="mcaghermite"):
    """The mode-curvature adaptation at theta, warm-started from ``state.mode`` (by the
    Pinheiro-Chao decomposition for pcaghermite)."""
    adapt, mode = MODE_CURVATURE.get(intmethod, curvature_adapt)(model, theta, state.mode)
    return Adaptation(adapt, mode)


def _scale_jump(old, new):
    """Largest |log|C_new| - log|C_old|| over groups and levels."""
    def logdet(C):
        return np.log(np.abs(np.diagonal(C, axis1=1, axis2=2))).sum(axis=1)
    return max(float(np.max(np.abs(logdet(a) - logdet(b)))) for a, b in zip(old.C, new.C))


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


def refreshed(model, intmethod, theta, state, evaluate, known=None, final=False):
    """The state to hold fixed for the next step from theta.

    mcaghermite and pcaghermite re-find the mode and curvature at every refresh; mvaghermite
    starts from them and then takes one mean-variance update per refresh (iterated to 1e-6 at the
    start and for the final estimate, ``final``), restarting from the mode when the
    nodes stop covering the posterior.  ``evaluate(adapt)`` is the quadrature at theta;
    ``known`` its result for ``state.adapt`` when the caller has it.
    """
    first = state.adapt is None
    if intmethod in ("mcaghermite", "pcaghermite") or first:
        state = curvature(model, theta, state, intmethod)
        known = None
    if intmethod != "mvaghermite" or state.adapt is None:
        return state
    settle = final or first
    adapt = mv_adapt(evaluate, state.adapt, known, tol=1e-6 if settle else 1e-4,
                     max_iter=50 if settle else 1)
    if adapt is None:
        state = curvature(model, theta, state, intmethod)
        adapt = state.adapt and (mv_adapt(evaluate, state.adapt) or state.adapt)
    return replace(state, adapt=adapt)


__all__ = ["Adaptation", "MAX_SCALE_CHANGE", "curvature", "mv_adapt", "refreshed"]
