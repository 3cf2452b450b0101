"""Penalized quasi-likelihood starting values, as R glmm computes them.

With A = diag(sigma) expanded to the q columns of Z (sigma_t for the columns of
variance component t) and u = A s, the inner problem maximises over (beta, s)

    h(beta, s) = l(eta) - s's / 2,   eta = X beta + Z A s,   l = sum_i w_i (y_i eta_i - c(eta_i)),

by Newton's method (``engines.modes.conditional_mode`` with beta free; the
objective is concave for canonical families).  The outer problem minimises over
tau = log sigma, by the quasi-Newton L-BFGS-B from sigma = 1,

    F(tau) = 1/2 log det H - h(beta~, s~),   H = A Z' W Z A + I,   W = diag(w c''(eta~)),

the Laplace approximation to minus the log likelihood with the PQL mode (beta~, s~).
(glmm's code uses the previous sigma's s~ in the penalty term; here it is the
current one, which makes F a function of sigma alone.)  The results are
beta* = beta~, nu* = sigma^2 and u* = A s~.

F's gradient is exact.  With P_t the columns of component t, r = w (y - c'(eta)) and
e_t = Z A P_t s~ (d eta / d tau_t at a fixed (beta, s)), the envelope theorem gives
d h~ / d tau_t = s~' P_t A Z' r, and

    d log det H / d tau_t = 2 sum_{j in t} (1 - (H^-1)_jj) + sum_i w_i c'''(eta_i) v_i deta_it,
    v_i = z_i' A H^-1 A z_i,   deta_t = X dbeta_t + Z A ds_t + e_t,

where (dbeta_t, ds_t) solves the implicit-function system J (dbeta_t, ds_t) =
(-X' W e_t, P_t A Z' r - A Z' W e_t), J = [[X'WX, X'WZA], [AZ'WX, H]] (the Newton
information).  H^-1 is needed only on the pattern of Z'Z (v) and its diagonal: the
selected inverse of ``engines.fixed_pattern``, whose plan (fixed once per fit) also
factorises every Newton step's H.  Each inner solve starts from the previous mode moved
along the same derivatives (u + du/dtau dtau, beta + dbeta/dtau dtau), so an outer step
costs two or three Newton steps.  The inner problem's tolerance is INNER_TOL.  Where the
plan has no Schur complement and H^-1 on the pattern would cost more than LU_SELECTED_MAX
solves (``FactorPlan.cheap_selected``), L-BFGS-B takes F's gradient by forward differences
(step FD_STEP in log sigma) instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from ...design.gram import WeightedGram
from ..fixed_pattern import FactorPlan
from ..modes import conditional_mode

LOG_SIGMA_MIN, LOG_SIGMA_MAX = np.log(1e-4), np.log(1e3)   # nu from 1e-8 (at 0) to 1e6
# The inner mode to a Newton step predicting 1e-15 relative, that step taken too unless it
# predicts below 1e-20 (``conditional_mode``'s polish): log det H moves to first order with
# the mode (murder: by 1e-6 between two starts at 1e-15 alone), F and its exact gradient
# are those of the mode to rounding.
INNER_TOL, POLISH = 1e-15, 1e-20
FTOL = 1e-10        # L-BFGS-B's relative decrease of F (scaled to about 1); 1e-12 gives the same
                    # nu to 1e-8 on the benchmarks, nearer F's rounding floor (1e-13 at n = 1e5)
GTOL = 1e-9         # and its projected gradient (of the scaled F)
FD_STEP = 1e-4      # forward differences in log sigma, where the selected inverse is dear


@dataclass(frozen=True)
class PQLStart:
    """beta: (p,); nu: (T,) = sigma^2; u: (q,) = A s; sigma: (T,) as found; converged flag."""

    beta: np.ndarray
    nu: np.ndarray
    u: np.ndarray
    sigma: np.ndarray
    converged: bool


@dataclass(frozen=True)
class OuterPoint:
    """F and its gradient (T,) at log_sigma (T,); the mode beta (p,), u (q,) and their
    derivatives dbeta (p, T), du (q, T) in log sigma; the inner solve's converged flag."""

    log_sigma: np.ndarray
    value: float
    gradient: np.ndarray
    beta: np.ndarray
    u: np.ndarray
    dbeta: np.ndarray
    du: np.ndarray
    converged: bool


def implicit_derivatives(design, family, a, mode):
    """(deta (n, T), dbeta (p, T), du (q, T), w c3 (n,), r (n,)) at ``mode`` (PQL's inner
    mode at a = sigma[vc_index] (q,)): the mode's derivatives in log sigma by the implicit
    function (module docstring; deta includes e_t, du = A (ds_t + P_t s~)), the weights
    w c3 = w c'''(eta) that turn deta into dW, and the residual r = w (y - c')."""
    X, Z, w, T = design.X, design.Z, design.weights, design.T
    _, c1, c2 = family.cumulant_derivs(mode.eta, design.ntrials)
    W, resid = w * c2, w * (design.y - c1)
    member = design.vc_index[:, None] == np.arange(T)               # P_t as columns (q, T)
    e = Z @ np.where(member, (a * mode.s)[:, None], 0.0)              # (n, T)
    AZ_We = a[:, None] * (Z.T @ (W[:, None] * e))                      # A Z' W e_t (q, T)
    rhs_s = np.where(member, (a * (Z.T @ resid))[:, None], 0.0) - AZ_We
    rhs_b = -X.T @ (W[:, None] * e)
    H_sb = a[:, None] * (Z.T @ (X * W[:, None]))
    solved = mode.factor.solve(np.column_stack([H_sb, rhs_s]))
    p = design.p
    schur = X.T @ (X * W[:, None]) - H_sb.T @ solved[:, :p]
    dbeta = np.linalg.lstsq(schur, rhs_b - H_sb.T @ solved[:, p:], rcond=None)[0]
    ds = solved[:, p:] - solved[:, :p] @ dbeta
    deta = X @ dbeta + Z @ (a[:, None] * ds) + e
    du = a[:, None] * (ds + np.where(member, mode.s[:, None], 0.0))
    return deta, dbeta, du, w * family.third(c1, c2, design.ntrials), resid


def outer_point(design, family, gram, plan, log_sigma, beta, u, exact=True):
    """The OuterPoint at log_sigma (T,), the inner Newton started from (beta (p,), u (q,));
    ``gram`` a WeightedGram of Z and ``plan`` its FactorPlan.  ``exact=False``: F alone
    (gradient None, derivatives 0)."""
    log_sigma = np.asarray(log_sigma, dtype=float)
    a = np.exp(log_sigma)[design.vc_index]
    mode = conditional_mode(design, family, gram, a, beta, u / a, free_beta=True,
                            tol=INNER_TOL, plan=plan, polish=POLISH)
    value = 0.5 * mode.factor.logdet - mode.value
    if not exact:
        return OuterPoint(log_sigma, value, None, mode.beta, a * mode.s,
                          np.zeros((design.p, design.T)), np.zeros((design.q, design.T)),
                          mode.converged)
    gradient, dbeta, du = _gradient(design, family, gram, plan, a, mode)
    return OuterPoint(log_sigma, value, gradient, mode.beta, a * mode.s, dbeta, du,
                      mode.converged)


def _gradient(design, family, gram, plan, a, mode):
    """(dF/dtau (T,), dbeta (p, T), du (q, T)) at ``mode`` (module docstring)."""
    deta, dbeta, du, w_c3, resid = implicit_derivatives(design, family, a, mode)
    values, diag = plan.selected(mode.factor)
    scaled = values * a[plan.indices] * a[plan.cols]                  # A H^-1 A on Z'Z's pattern
    v = np.bincount(gram.rows, weights=gram.products * scaled[gram.target], minlength=design.n)
    T = design.T
    d_logdet = (2.0 * np.bincount(design.vc_index, weights=1.0 - diag, minlength=T)
                + (w_c3 * v) @ deta)
    d_h = np.bincount(design.vc_index, weights=mode.s * a * (design.Z.T @ resid), minlength=T)
    return 0.5 * d_logdet - d_h, dbeta, du


class WarmOuter:
    """F (and its gradient) for L-BFGS-B, each inner solve started where the derivatives at
    the previous point predict.  ``latest``: the last OuterPoint, replaced at each new
    log_sigma (the outer loop's one piece of state, held here rather than in a closure)."""

    def __init__(self, design, family, gram, plan):
        self.design, self.family, self.gram, self.plan = design, family, gram, plan
        self.exact = plan.cheap_selected
        self.latest = outer_point(design, family, gram, plan, np.zeros(design.T),
                                  np.zeros(design.p), np.ones(design.q), self.exact)
        self.scale = 1.0 + abs(self.latest.value)     # F scaled to about 1 for FTOL and GTOL

    def __call__(self, log_sigma):
        """F / scale, with its gradient / scale when exact, at log_sigma (T,)."""
        last = self.latest
        if not np.array_equal(log_sigma, last.log_sigma):
            move = log_sigma - last.log_sigma
            self.latest = outer_point(self.design, self.family, self.gram, self.plan, log_sigma,
                                      last.beta + last.dbeta @ move, last.u + last.du @ move,
                                      self.exact)
        if not self.exact:
            return self.latest.value / self.scale
        return self.latest.value / self.scale, self.latest.gradient / self.scale


def pql_start(design, family):
    """PQLStart for ``design`` (a GLMMDesign) and ``family`` (a CanonicalFamily)."""
    gram = WeightedGram.build(design.Z)
    plan = FactorPlan.build(gram, design.vc_index)
    with plan.blas():                # one BLAS thread where S is small (fixed_pattern)
        outer = WarmOuter(design, family, gram, plan)
        res = minimize(outer, np.zeros(design.T), jac=outer.exact, method="L-BFGS-B",
                       bounds=[(LOG_SIGMA_MIN, LOG_SIGMA_MAX)] * design.T,
                       options={"ftol": FTOL, "gtol": GTOL, "eps": FD_STEP,
                                "maxfun": 200 * design.T})
        outer(res.x)
    best = outer.latest
    sigma = np.exp(best.log_sigma)
    return PQLStart(beta=best.beta, nu=sigma ** 2, u=best.u, sigma=sigma,
                    converged=bool(res.success) and best.converged)
