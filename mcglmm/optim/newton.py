"""Newton-Raphson maximiser for the quadrature and Laplace log likelihoods, with Stata's
maximize options (``optim.techniques``).

Each iteration first *refreshes* the objective at the current theta (for
adaptive quadrature this re-centres the nodes: the adaptive parameters are held
fixed while a step is taken, as in Stata's meglm): ``refresh(theta, final)``
returns a ``Criterion``, the function maximised until the next refresh, with
``value_grad(t) -> (value, grad)``, when the objective has one an exact
``hessian(t) -> (P, P)``, and when it has them per-top-level-group ``scores(t) -> (G, P)``
(for BHHH).  Then Newton takes the step

    delta = (-H)^-1 g,   H the technique's curvature (``techniques``; for nr: the exact
                         Hessian, or differences of the analytic gradient, BFGS-updated
                         between difference Hessians),

with step halving (``linesearch.halve_step``) until the log likelihood does not
decrease (to rounding, 1e-10 of its size).  Where -H is not positive definite ("not
concave") the step is modified (``techniques.ascent_direction``; ``difficult`` chooses
the split Newton / steepest-ascent step).  Convergence: Stata's rules
(``techniques.Stopping``), always tested with the real curvature.

A trial point whose log likelihood or gradient is not finite is a rejected step; when
step halving finds no acceptable point (with the real curvature) the maximiser stops
unconverged and says so in the result's ``message``.  The start must be finite.
The result is an ``optim.result.OptimizeResult`` whose ``path`` holds one ``Iterate``
per iteration (its ``line`` is the log line printed with ``log=True``) and whose
``technique`` is the schedule's techniques (Stata's e(technique), e.g. "bhhh nr").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..exceptions import bad_value
from .linesearch import halve_step
from .result import CONVERGED, ITERATION_LIMIT, STALLED as STATUS_STALLED, OptimizeResult
from .techniques import (Stopping, ascent_direction, check_display, outer_product,
                         parse_technique, quasi_update, refuse_bhhh, technique_at)


@dataclass(frozen=True)
class Criterion:
    """What Newton maximises between two refreshes.

    value_grad: t (P,) -> (value, grad (P,)); hessian: t -> (P, P) exact second
    derivatives, or None (Newton then differences the gradient); scores: t -> (G, P)
    per-top-level-group scores summing to the gradient, or None (no BHHH).
    """

    value_grad: Callable
    hessian: Callable | None = None
    scores: Callable | None = None


@dataclass(frozen=True)
class Iterate:
    """One Newton iteration: x where it started, the value there, whether -H was PD, the
    technique of its step and the showtolerance text (or "")."""

    x: np.ndarray
    value: float
    concave: bool
    number: int
    technique: str = "nr"
    tolerance: str = ""

    @property
    def line(self):
        """Stata's log line: 'Iteration 3: Log likelihood = -123.45678 (not concave)'."""
        text = f"Iteration {self.number}: Log likelihood = {self.value:.8g}"
        return text + ("" if self.concave else " (not concave)") + self.tolerance


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


def _line_search(f, theta, step, value, lower, say=None):
    """Largest t in 1, 1/2, ..., 2^-33 with f(max(theta + t step, lower)) >= f(theta) (to
    roundoff: ``SLACK`` of |f(theta)|), by ``halve_step``; a non-finite value counts as lower.

    Returns the accepted point, or None when no t is accepted.  Bounded coordinates
    heading down while already within PROBE of their bound are first tried at the bound
    itself (a variance that is zero at the maximum, which Newton steps on the log scale
    approach only slowly).  ``say`` (Stata's showstep) prints each trial.
    """
    if say is not None:
        f = _shown_trials(f, theta, say)
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


def _shown_trials(f, theta, say):
    """f, printing each trial point's log likelihood and its distance from theta (showstep)."""
    count = [0]

    def shown(t):
        out = f(t)
        count[0] += 1
        say(f"  Step {count[0]}: |step| = {float(np.linalg.norm(t - theta)):.6g}, "
            f"log likelihood = {out[0]:.8g}")
        return out
    return shown


def _free_direction(g, H, active, difficult=False):
    """Ascent direction with the active bounds held fixed, and whether -H is PD on the rest."""
    step = np.zeros_like(g)
    free = ~active
    step[free], concave = ascent_direction(g[free], H[np.ix_(free, free)], difficult)
    return step, concave


def _curvature(crit, theta, central=False):
    """The criterion's exact Hessian at theta when it has one, else gradient differences."""
    if crit.hessian is not None:
        return crit.hessian(theta)
    return fd_hessian(crit.value_grad, theta, central)


PROBE = 9.0   # with log-sd bounds at -12: probe once the sd is below exp(-3) = 0.05


STALLED = ("step halving found no point with a finite log likelihood at least as high as the "
           "current one")


def _step(refresh, crit, theta, step, value, lower, say=None):
    """(new theta, the criterion refreshed there, value, grad) after the line search along
    ``step``, or None when it accepts no point or the refreshed log likelihood there is
    not finite."""
    new = _line_search(crit.value_grad, theta, step, value, lower, say)
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


def _technique(schedule, it, alg, crit, theta, H, exact, fresh, say):
    """(technique, H, exact) for iteration ``it``: Stata's "(setting/switching technique to
    ...)" lines for a schedule of several; the BHHH matrix at theta after an accepted step;
    the real curvature where nr, dfp or bfgs take over from another technique."""
    name = technique_at(schedule, it)
    if name != alg and say is not None and len(schedule) > 1:
        say(f"({'setting' if alg is None else 'switching'} technique to {name})")
    if name == "bhhh" and fresh:
        return name, -outer_product(crit.scores(theta)), False
    if alg is not None and name != alg:
        return name, _curvature(crit, theta), True
    return name, H, exact


def _updated(name, quasi, crit, H, theta, new, g, new_g, step):
    """(H, exact) after the accepted step theta -> new: dfp/bfgs update H; nr differences
    the gradient again after a short step (else BFGS-updates it, with ``quasi``) or takes
    the exact Hessian; bhhh recomputes at the next iteration."""
    if name in ("dfp", "bfgs"):
        return quasi_update(name, H, new - theta, new_g - g), False
    if name == "bhhh":
        return H, False
    long_step = np.linalg.norm(new - theta) > 0.1 * np.linalg.norm(step)
    if quasi and long_step and crit.hessian is None:
        return quasi_update("bfgs", H, new - theta, new_g - g), False
    return _curvature(crit, new), True


def _show(say, display, theta, g, H, names):
    """Stata's trace, gradient and hessian displays after an iteration line."""
    labels = list(names) if names is not None and len(names) == len(theta) else \
        [f"theta[{j}]" for j in range(len(theta))]
    width = max([len(s) for s in labels] + [8])
    if "trace" in display:
        say("Parameter vector:")
        for label, v in zip(labels, theta):
            say(f"  {label:>{width}}  {v: .8g}")
    if "gradient" in display:
        say(f"Gradient vector (length = {float(np.linalg.norm(g)):.6g}):")
        for label, v in zip(labels, g):
            say(f"  {label:>{width}}  {v: .8g}")
    if "hessian" in display:
        say("Negative Hessian:")
        for label, row in zip(labels, -H):
            say(f"  {label:>{width}}  " + "  ".join(f"{v: .6g}" for v in row))


def newton_maximize(refresh, theta0, iterate=100, tolerance=1e-8, nrtol=1e-10, log=False,
                    printer=print, quasi=True, lower=None, *, ltolerance=1e-8,
                    nonrtolerance=False, technique="nr", difficult=False, display=(),
                    names=None):
    """Maximise; ``refresh(theta, final)`` returns the ``Criterion`` centred at theta.

    ``final`` is True for the last refresh, at the returned estimate, where an adaptive
    objective should settle its adaptation fully.

    nr: the first Hessian is a difference of gradients; with ``quasi`` later ones are
    BFGS updates, replaced by a fresh difference Hessian after a short step and before
    convergence is declared (so the convergence test always uses the real curvature).
    A criterion with an exact Hessian gets plain Newton.  ``technique`` (Stata's
    algorithm_spec, "nr", "bhhh 5 nr 10", ...), ``difficult``, ``tolerance`` (coefficients),
    ``ltolerance`` (log likelihood), ``nrtol`` and ``nonrtolerance``: ``optim.techniques``.
    ``display``: any of "trace", "gradient", "showstep", "hessian", "showtolerance"
    (printed with ``log``; ``names`` label the vectors).
    ``lower`` (dim,) bounds theta from below (projected Newton: a coordinate at its bound
    with the gradient pointing out of the region is held there and left out of the test).
    A start where theta, the log likelihood or its gradient is not finite is refused
    (ValueError).  Returns an ``OptimizeResult`` (hess: the exact Hessian, or central
    differences of the gradient, at x).
    """
    schedule, display = parse_technique(technique), check_display(display)
    stop = Stopping(tolerance, ltolerance, nrtol, nonrtolerance)
    say = printer if log else None
    theta, lower, crit, value, g = _start(refresh, theta0, lower)
    if crit.scores is None:
        refuse_bhhh(technique, "this objective")
    H, exact = _curvature(crit, theta), True
    path, prev, prev_theta, it, name, fresh = [], -np.inf, None, 0, None, True
    status, message = ITERATION_LIMIT, f"the iteration limit ({iterate}) was reached"
    for it in range(iterate + 1):
        name, H, exact = _technique(schedule, it, name, crit, theta, H, exact, fresh, say)
        active = (theta <= lower) & (g <= 0)
        step, concave = _free_direction(g, H, active, difficult)
        measures = stop.measures(theta, prev_theta, value, prev, float(g @ step))
        if stop.met(concave, measures) and not exact:
            H, exact = _curvature(crit, theta), True
            step, concave = _free_direction(g, H, active, difficult)
            measures = stop.measures(theta, prev_theta, value, prev, float(g @ step))
        shown = stop.shown(measures) if "showtolerance" in display else ""
        path.append(Iterate(theta.copy(), value, concave, it, name, shown))
        if say is not None:
            say(path[-1].line)
            _show(say, display, theta, g, H, names)
        if stop.met(concave, measures):
            status, message = CONVERGED, "converged"
            break
        if it == iterate:
            break
        moved = _step(refresh, crit, theta, step, value, lower,
                      say if "showstep" in display else None)
        fresh = moved is not None
        if moved is None and exact:
            status, message = STATUS_STALLED, STALLED
            break
        if moved is None:
            H, exact = _curvature(crit, theta), True
            continue
        new, crit, new_value, new_g = moved
        H, exact = _updated(name, quasi, crit, H, theta, new, g, new_g, step)
        prev, prev_theta, theta, value, g = value, theta, new, new_value, new_g
    crit = refresh(theta, True)
    value, g = crit.value_grad(theta)
    return OptimizeResult(theta, value, g, _curvature(crit, theta, central=True),
                          status == CONVERGED, status, message, it, tuple(path),
                          technique=" ".join(n for n, _ in schedule))


__all__ = ["Criterion", "Iterate", "STALLED", "fd_hessian", "newton_maximize"]
