"""Non-adaptive Gauss-Hermite likelihood of the two- and three-level random-intercept logit.

The engine of lr2/lr3.

Model (Rodriguez's lr3 notes).  Observation i lies in level-2 unit j, which lies
in level-3 unit k; with u_j, v_k independent N(0, 1),

    logit P(y_i = 1 | u, v) = x_i' beta + sigma2 u_j + sigma3 v_k .

Parameterisation: theta = (beta, lambda2, lambda3) with lambda = log(sigma)
(the notes' "log(sigma2)", "log(sigma3)"); a two-level model has
theta = (beta, lambda2).

Quadrature.  With nodes x_a, weights w_a of the K3-point rule for N(0, 1) at
level 3 and x_b, w_b of the K2-point rule at level 2 (``gh_rule``; the notes'
physicists' rule ``gauher`` gives the same sums):

    E_iab     = x_i' beta + sigma3 x_a + sigma2 x_b               (predictor at a node pair)
    l_iab     = y_i E_iab - log(1 + exp(E_iab))                  (Bernoulli log density)
    S_jab     = sum_{i in j} l_iab
    log I_ja  = log sum_b w_b exp(S_jab)                         (level-2 integral given v = x_a)
    T_ka      = sum_{j in k} log I_ja
    log L_k   = log sum_a w_a exp(T_ka)                          (level-3 integral)
    loglik    = sum_k log L_k .

A two-level model is the special case whose level-3 rule is the one-point rule
at 0 with weight 1 and whose level-3 units are its level-2 units (n23 = 1): then
log L_k = log I_k and sigma3 never enters, so its coordinate is dropped.

Derivatives.  With D_iab = dE_iab/dtheta = (x_i, sigma2 x_b, sigma3 x_a),
r = y - expit(E), v = expit(E) expit(-E), posterior node weights
rho_jab = w_b exp(S_jab) / I_ja and pi_ka = w_a exp(T_ka) / L_k:

    grad S_jab    = sum_{i in j} r_iab D_iab
    grad log I_ja = sum_b rho_jab grad S_jab
    grad T_ka     = sum_{j in k} grad log I_ja
    g_k           = sum_a pi_ka grad T_ka,          gradient = sum_k g_k

and, since the Hessian of a log-sum-exp is a weighted mean of (Hessian + outer
product) minus the outer product of the mean,

    Hessian = sum_iab W_iab (-v_iab D D' + r_iab d2E_iab)       (W_iab = pi_{k(i)a} rho_{j(i)ab})
            + sum_jab pi rho grad S grad S'  -  sum_ja pi grad log I grad log I'
            + sum_ka pi grad T grad T'       -  sum_k g_k g_k'

where d2E is zero except d2E/dlambda2^2 = sigma2 x_b and d2E/dlambda3^2 = sigma3 x_a.

Every sum over units is an ``np.add.reduceat`` over the sorted group
boundaries, except the covariate part of grad S, a product with a sparse
(J p, n) matrix built once from the same boundaries: no Python loop runs over
groups or observations.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import logsumexp

from ..exceptions import bad_value
from ..model.families import bernoulli_glmm
from ..parallel import single_threaded_blas
from .quadrature.rules import gh_rule

_POINT_RULE = (np.zeros(1), np.ones(1))


def group_starts(sizes):
    """Row offsets (G,) of G consecutive groups of the given sizes (G,): the reduceat boundaries."""
    return np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.intp)


@dataclass(frozen=True)
class NestedLogitProblem:
    """The arrays the GHQ likelihood needs, checked once.

    y: (n,) 0/1 responses, rows sorted by level-3 then level-2 unit;
    X: (n, p) fixed-effects design; n12: (J,) observations per level-2 unit;
    n23: (C,) level-2 units per level-3 unit (all ones for a two-level model);
    levels: 2 or 3; quad_pts: points of the rule at each random level.
    """

    y: np.ndarray
    X: np.ndarray
    n12: np.ndarray
    n23: np.ndarray
    levels: int
    quad_pts: int

    def __post_init__(self):
        if self.levels not in (2, 3):
            raise ValueError(bad_value("levels", "2 or 3", self.levels))
        if int(self.n12.sum()) != len(self.y) or int(self.n23.sum()) != len(self.n12):
            raise ValueError(bad_value("the group sizes n12, n23",
                                       "sizes that add up to the rows and the level-2 units",
                                       (int(self.n12.sum()), len(self.y),
                                        int(self.n23.sum()), len(self.n12))))

    @property
    def n_params(self):
        """Length of theta: p fixed effects and one log(sigma) per random level."""
        return self.X.shape[1] + self.levels - 1

    @cached_property
    def starts12(self):
        """First row of each level-2 unit, (J,)."""
        return group_starts(self.n12)

    @cached_property
    def starts23(self):
        """First level-2 unit of each level-3 unit, (C,)."""
        return group_starts(self.n23)

    @cached_property
    def X_by_unit(self):
        """Sparse (J p, n) matrix with x_iq in row (j(i), q): sums over each unit of (n, m) arrays.

        ``X_by_unit @ r`` is sum_{i in j} x_iq r_i for every unit j, covariate q and
        column of r; the same boundaries as ``starts12``, without the (n, m, p)
        product that a reduceat of r x' would need.
        """
        n, p = self.X.shape
        rows = np.repeat(np.arange(len(self.n12)), self.n12)[:, None] * p + np.arange(p)
        return sp.csr_matrix((self.X.ravel(), (rows.ravel(), np.repeat(np.arange(n), p))),
                             shape=(len(self.n12) * p, n))

    def rules(self):
        """((x3, w3), (x2, w2)): the level-3 and level-2 rules (level 3 a point for two levels)."""
        rule2 = gh_rule(self.quad_pts)
        return (rule2 if self.levels == 3 else _POINT_RULE), rule2


@dataclass(frozen=True)
class Evaluation:
    """loglik: float; grad: (P,) or None; hess: (P, P) or None (P = problem.n_params)."""

    loglik: float
    grad: np.ndarray | None
    hess: np.ndarray | None


def _unpack(problem, theta):
    """beta (p,), sigma2, sigma3 (sigma3 = 1, unused, for two levels)."""
    p = problem.X.shape[1]
    lam = np.append(theta[p:], 0.0)
    return theta[:p], np.exp(lam[0]), np.exp(lam[1])


def _score_by_unit(problem, r, d3, d2):
    """grad S_jab = sum_{i in j} r_iab D_iab with D_iab = (x_i, d2_b, d3_a): (J, K3, K2, p + 2).

    r: (n, K3, K2) residuals y - expit(E); d3 = sigma3 x_a (K3,); d2 = sigma2 x_b (K2,).
    """
    n, K3, K2 = r.shape
    J, p = len(problem.n12), problem.X.shape[1]
    R = np.add.reduceat(r, problem.starts12, axis=0)
    score_beta = (problem.X_by_unit @ r.reshape(n, -1)).reshape(J, p, K3, K2)
    return np.concatenate([np.moveaxis(score_beta, 1, 3), (R * d2)[..., None],
                           (R * d3[:, None])[..., None]], axis=3)


def _curvature(X, c, Wr, d3, d2):
    """sum_iab c_iab D_iab D_iab' - W_iab r_iab d2E_iab by per-observation moments: (p+2, p+2).

    c = W v and Wr = W r: (n, K3, K2); D_iab = (x_i, d2_b, d3_a); d2E is d2_b on
    the lambda2 diagonal and d3_a on the lambda3 diagonal.
    """
    m0 = c.sum(axis=(1, 2))
    m2 = np.einsum("iab,b->i", c, d2)
    m3 = np.einsum("iab,a->i", c, d3)
    c_ab = c.sum(axis=0)
    p = X.shape[1]
    out = np.empty((p + 2, p + 2))
    out[:p, :p] = (X.T * m0) @ X
    out[:p, p] = out[p, :p] = X.T @ m2
    out[:p, p + 1] = out[p + 1, :p] = X.T @ m3
    out[p, p] = d2 ** 2 @ c_ab.sum(axis=0) - d2 @ Wr.sum(axis=(0, 1))
    out[p + 1, p + 1] = d3 ** 2 @ c_ab.sum(axis=1) - d3 @ Wr.sum(axis=(0, 2))
    out[p, p + 1] = out[p + 1, p] = d3 @ c_ab @ d2
    return out


def _gram(weights, G):
    """sum over leading axes of weights * G G' for weights >= 0 (...,) and G (..., P): (P, P).

    A tall, thin product (J K^2 by P): run it with single-threaded BLAS, as OpenBLAS's
    threads made it 35 times slower (0.69 s against 0.019 s) on a shared 2-core machine.
    """
    Gw = (np.sqrt(weights)[..., None] * G).reshape(-1, G.shape[-1])
    return Gw.T @ Gw


def evaluate(problem, theta, order=2):
    """Log likelihood at theta (P,), with its gradient (order >= 1) and Hessian (order 2)."""
    if order not in (0, 1, 2):
        raise ValueError(bad_value("order", "0 (value), 1 (and gradient) or 2 (and Hessian)", order))
    theta = np.asarray(theta, dtype=float)
    if theta.shape != (problem.n_params,):
        raise ValueError(bad_value("theta", f"a vector of length {problem.n_params}",
                                   f"shape {theta.shape}"))
    beta, sigma2, sigma3 = _unpack(problem, theta)
    (x3, w3), (x2, w2) = problem.rules()
    E = (problem.X @ beta)[:, None, None] + sigma3 * x3[None, :, None] + sigma2 * x2[None, None, :]
    y = problem.y[:, None, None]
    ell = y * E - bernoulli_glmm.cumulant(E)
    a2 = np.log(w2) + np.add.reduceat(ell, problem.starts12, axis=0)
    log_I = logsumexp(a2, axis=2)
    a3 = np.log(w3) + np.add.reduceat(log_I, problem.starts23, axis=0)
    log_L = logsumexp(a3, axis=1)
    if order == 0:
        return Evaluation(float(log_L.sum()), None, None)
    P = problem.n_params
    rho = np.exp(a2 - log_I[..., None])
    pi = np.exp(a3 - log_L[:, None])
    r = y - bernoulli_glmm.mean(E)
    grad_S = _score_by_unit(problem, r, sigma3 * x3, sigma2 * x2)
    grad_log_I = np.einsum("jab,jabp->jap", rho, grad_S)
    grad_T = np.add.reduceat(grad_log_I, problem.starts23, axis=0)
    g = np.einsum("ka,kap->kp", pi, grad_T)
    grad = g.sum(axis=0)[:P]
    if order == 1:
        return Evaluation(float(log_L.sum()), grad, None)
    pi_j = np.repeat(pi, problem.n23, axis=0)
    W = np.repeat(pi_j[:, :, None] * rho, problem.n12, axis=0)
    with single_threaded_blas():
        hess = -_curvature(problem.X, W * bernoulli_glmm.variance(E), W * r, sigma3 * x3,
                           sigma2 * x2)
        hess += _gram(pi_j[:, :, None] * rho, grad_S) - _gram(pi_j, grad_log_I)
        hess += _gram(pi, grad_T) - g.T @ g
    return Evaluation(float(log_L.sum()), grad, hess[:P, :P])


def logit_start(y, X, max_iter=50, tol=1e-10):
    """Ordinary logit MLE by Newton's method (the notes' glm start): beta (p,).

    Stops when the Newton step's largest component is below ``tol`` or after
    ``max_iter`` steps (separated data then give large finite coefficients).
    """
    beta = np.zeros(X.shape[1])
    for _ in range(max_iter):
        eta = X @ beta
        information = (X.T * bernoulli_glmm.variance(eta)) @ X
        step = np.linalg.lstsq(information, X.T @ (y - bernoulli_glmm.mean(eta)), rcond=None)[0]
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    return beta


@dataclass(frozen=True)
class MaximizeResult:
    """theta: (P,) maximiser; evaluation: value, gradient and Hessian there; optimiser's report.

    newton_decrement: g'(-H)^{-1} g at theta (inf where -H is not positive
    definite), the squared distance to the Newton step's target in standard-error
    units.
    """

    theta: np.ndarray
    evaluation: Evaluation
    converged: bool
    n_iter: int
    message: str
    newton_decrement: float


def newton_decrement(evaluation):
    """g'(-H)^{-1} g from an order-2 evaluation; inf unless -H is positive definite."""
    try:
        factor = np.linalg.cholesky(-evaluation.hess)
    except np.linalg.LinAlgError:
        return np.inf
    z = np.linalg.solve(factor, evaluation.grad)
    return float(z @ z)


class _MemoisedEvaluate:
    """One ``evaluate(order=2)`` per distinct theta, shared by the value, gradient and Hessian."""

    def __init__(self, problem):
        self.problem = problem
        self._key = None
        self._last = None

    def __call__(self, theta):
        key = np.asarray(theta, dtype=float).tobytes()
        if key != self._key:
            self._key, self._last = key, evaluate(self.problem, theta, order=2)
        return self._last


def maximize(problem, theta0, trace=False, gtol=1e-7, max_iter=200, decrement_tol=1e-10):
    """Maximise the GHQ log likelihood from theta0 (P,) by scipy's trust-exact on -loglik.

    Newton steps with the analytic Hessian inside a trust region; stops when the
    gradient's norm is below ``gtol``.  The fit counts as converged too when
    trust-exact stops otherwise (near the optimum the changes in the log likelihood
    are rounding error and its ratio test fails) but the Newton decrement is below
    ``decrement_tol``: the estimate is then within sqrt(decrement_tol) standard
    errors of the Newton target.  ``trace`` prints the log likelihood and theta at
    each iteration.
    """
    objective = _MemoisedEvaluate(problem)
    iteration = [0]

    def report(theta):
        iteration[0] += 1
        values = " ".join(f"{t:.6g}" for t in theta)
        print(f"iter {iteration[0]:3d}  logL = {objective(theta).loglik:.10g}  theta: {values}")

    if trace:
        print(f"iter   0  logL = {objective(theta0).loglik:.10g}")
    result = minimize(lambda t: -objective(t).loglik, np.asarray(theta0, dtype=float),
                      jac=lambda t: -objective(t).grad, hess=lambda t: -objective(t).hess,
                      method="trust-exact", callback=report if trace else None,
                      options={"gtol": gtol, "maxiter": max_iter})
    evaluation = objective(result.x)
    decrement = newton_decrement(evaluation)
    return MaximizeResult(theta=result.x, evaluation=evaluation,
                          converged=bool(result.success) or decrement <= decrement_tol,
                          n_iter=int(result.nit), message=str(result.message),
                          newton_decrement=decrement)
