"""The conditional mode of the random effects: the one penalised Newton of the package's MCLA side.

With A = diag(a) (a_j = sigma of column j's variance component) and u = A s, the
penalised log likelihood is

    h(beta, s) = sum_i w_i (y_i eta_i - c(eta_i)) - s's / 2,    eta = X beta + Z A s,

concave for canonical families.  ``conditional_mode`` maximises it over s (beta
held: the mode of u given y at (beta, nu), the centre of the MCLA's per-block
proposals) or over (beta, s) jointly (PQL's inner problem).  The Newton systems
are sparse: H_ss = A Z'WZ A + I (W = w c''(eta)) is factorised by an
``engines.fixed_pattern.FactorPlan`` (a Schur complement past a factor's diagonal block,
else sparse LU), and
beta's step comes from the p x p Schur complement.  A step is halved by
``optim.linesearch.halve_step`` until the value is finite and not below the current one;
if 40 halvings find no such point the search stops where it is (never accepting a worse
or non-finite point).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..optim.linesearch import halve_step
from .fixed_pattern import FactorPlan

TOL = 1e-12
MAXIT = 100
ROUNDING = 1e-9         # a predicted increase step halving may fail to realise
POLISH_SLACK = 1e-12    # relative fall of h a polish step may show: h's rounding (n = 1e5: 1e-13)


@dataclass(frozen=True)
class Mode:
    """beta: (p,); s: (q,) with u = a s; eta: (n,); factor: of H_ss at (beta, s) (its
    ``logdet`` and ``solve``, engines.spd_factor);
    value: h(beta, s); converged: False if MAXIT steps or step halving were not enough."""

    beta: np.ndarray
    s: np.ndarray
    eta: np.ndarray
    factor: object
    value: float
    converged: bool

    def u(self, a):
        """The random effects u = a s (q,)."""
        return a * self.s


def penalised(design, family, beta, s, a):
    """(h, eta, w (y - c'), w c'') at (beta, s); a: (q,) diag of A."""
    eta = design.X @ beta + design.Z @ (a * s)
    c, c1, c2 = family.cumulant_derivs(eta, design.ntrials)
    w = design.weights
    value = w @ (design.y * eta - c) - 0.5 * s @ s
    return value, eta, w * (design.y - c1), w * c2


def newton_step(design, gram, a, resid, W, s, free_beta, plan):
    """Newton step (step_beta, step_s), its predicted increase g'step / 2, and H_ss's factor
    (by ``plan``, an ``engines.fixed_pattern.FactorPlan`` of ``gram``).

    The information is [[X'WX, X'WZA], [AZ'WX, H_ss]] when beta is free, H_ss alone
    when it is held (step_beta = 0); a numerically singular Schur complement for beta (a
    covariate kept by ``asis`` that separates the response) gives the least-squares step.
    """
    factor = plan.factorise(gram(W, a).data)
    g_s = a * (design.Z.T @ resid) - s
    if not free_beta:
        step_s = factor.solve(g_s)
        return np.zeros(design.p), step_s, 0.5 * g_s @ step_s, factor
    X = design.X
    H_sb = a[:, None] * (design.Z.T @ (X * W[:, None]))
    g_b = X.T @ resid
    solved = factor.solve(np.column_stack([H_sb, g_s]))
    schur = X.T @ (X * W[:, None]) - H_sb.T @ solved[:, :-1]
    rhs = g_b - H_sb.T @ solved[:, -1]
    try:
        step_b = np.linalg.solve(schur, rhs)
    except np.linalg.LinAlgError:   # singular where W -> 0 on the rows a covariate separates
        step_b = np.linalg.lstsq(schur, rhs, rcond=None)[0]
    step_s = solved[:, -1] - solved[:, :-1] @ step_b
    return step_b, step_s, 0.5 * (g_b @ step_b + g_s @ step_s), factor


def conditional_mode(design, family, gram, a, beta, s, free_beta=False, tol=TOL, maxit=MAXIT,
                     plan=None, polish=None):
    """Maximise h over s (and beta when ``free_beta``) from (beta, s); returns a Mode
    (H_ss factorised by ``plan``, built from ``gram`` when not given; see ``newton_step``).

    Stops when the Newton step's predicted increase is below tol (1 + |h|), before
    taking it, so the factor at the returned point comes back too (for log det H_ss);
    after maxit steps the factor is that of the last iterate, returned unconverged.
    With ``polish`` (below tol), a step predicting between polish and tol (1 + |h|) is
    still taken, once: log det H_ss moves to first order with the mode, and the next
    Newton step predicts about that one's square (to the rounding floor); h's rounding
    being larger than that gain, the step is kept unless h falls by over
    POLISH_SLACK (1 + |h|).
    """
    plan = FactorPlan.build(gram, design.vc_index) if plan is None else plan
    beta, s = np.asarray(beta, dtype=float), np.asarray(s, dtype=float)
    value, eta, resid, W = penalised(design, family, beta, s, a)
    for iteration in range(maxit + 1):
        step_b, step_s, predicted, factor = newton_step(design, gram, a, resid, W, s, free_beta,
                                                          plan)
        slack = 0.0
        if predicted < tol * (1.0 + abs(value)):
            if polish is None or predicted < polish * (1.0 + abs(value)):
                return Mode(beta, s, eta, factor, value, True)
            polish, slack = None, POLISH_SLACK * (1.0 + abs(value))   # h's rounding hides the gain
        if iteration == maxit:
            return Mode(beta, s, eta, factor, value, False)
        found = halve_step(lambda t: penalised(design, family, beta + t * step_b,
                                               s + t * step_s, a), value, slack=slack)
        if found is None:
            # rounding can hide an increase this small; anything larger is a failure
            small = bool(predicted < ROUNDING * (1.0 + abs(value)))
            return Mode(beta, s, eta, factor, value, small)
        t, (value, eta, resid, W) = found
        beta, s = beta + t * step_b, s + t * step_s
