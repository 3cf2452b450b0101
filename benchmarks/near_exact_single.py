"""Exact log likelihoods and MLEs of single-grouping-factor GLMMs (issue 10's oracle, part 2).

For one grouping factor the likelihood is a product of one-dimensional integrals,

    log L(beta, nu) = sum_j log int N(v; 0, nu) prod_{i: group_i = j} f(y_i | x_i' beta + v) dv,

each by ``near_exact.log_unit_integrals`` (adaptive Gauss-Hermite at the group's mode and
curvature, 100 points, vectorised over groups; the 50- and 100-point values differ by 0 for
BoothHobert and cbpp2 and 2e-7 for murder, 100 and 200 points by 1.4e-9).  As in
``near_exact``, ``constants=False`` (the default) returns the kernel that R glmm and
mcglmm's ``glmm`` report (no log C(n, y), no -log y!); ``constants=True`` adds them.
Parameters are ordered as ``mc.glmm``'s ``coef`` then ``varcomps``.
"""
import numpy as np
from scipy.optimize import minimize

import mcglmm.datasets
from near_exact import cumulant, data_constant, level_codes, log_unit_integrals

SINGLE_FACTOR = {   # model: (mc.glmm's fixed and random formulas, family)
    "BoothHobert": ("y ~ 0 + x1", "0 + z1", "bernoulli"),
    "cbpp2": ("Y ~ period", "0 + herd", "bernoulli"),
    "murder": ("I(y - 1) ~ 0 + race", "0 + id", "poisson"),
}


def single_factor_arrays(model):
    """(y (n,), X (n, p), group (n,) codes, coef names) of a SINGLE_FACTOR model.

    X's columns are those of ``mc.glmm(fixed, random, ...)`` in its order and with its names:
    BoothHobert x1; cbpp2 Intercept, period[T.2..4] (treatment coding); murder race[Black],
    race[White] on Agresti's counts y - 1, one group (``id``) per respondent.
    """
    if model not in SINGLE_FACTOR:
        raise ValueError(f"model must be one of {sorted(SINGLE_FACTOR)}; got {model!r}")
    d = mcglmm.datasets.load(model)
    if model == "BoothHobert":
        group = level_codes(d["z1"].astype(str))
        return d["y"].to_numpy(float), d[["x1"]].to_numpy(float), group, ["x1"]
    if model == "cbpp2":
        period = d["period"].astype(str).to_numpy()
        X = np.column_stack([np.ones(len(d))] + [period == p for p in "234"]).astype(float)
        names = ["Intercept"] + [f"period[T.{p}]" for p in "234"]
        return d["Y"].to_numpy(float), X, level_codes(d["herd"].astype(str)), names
    race = d["race"].astype(str).to_numpy()
    X = np.column_stack([race == "Black", race == "White"]).astype(float)
    return d["y"].to_numpy(float) - 1.0, X, np.arange(len(d)), ["race[Black]", "race[White]"]


def single_factor_loglik(y, eta0, group, nu, family, n_points=100, constants=False):
    """log L = sum_j log int N(v; 0, nu) prod_{i: group_i = j} f(y_i | eta0_i + v) dv.

    y, eta0 = X beta, group : (n,), group codes 0..G-1; each of the G integrals by
    ``n_points``-point adaptive Gauss-Hermite, vectorised over groups (nu = 0: the GLM).
    constants=False gives the kernel (R glmm's value); True adds sum_i a(y_i).
    """
    extra = data_constant(family, y) if constants else 0.0
    if nu == 0:
        return float(np.sum(y * eta0 - cumulant(family, eta0))) + extra
    order = np.argsort(group, kind="stable")
    unit = group[order]
    starts = np.flatnonzero(np.r_[True, np.diff(unit) > 0])
    return float(log_unit_integrals(eta0[order], y[order], unit, starts, nu, family,
                                    n_points).sum()) + extra


def single_factor_exact(model, beta, nu, n_points=100, constants=False):
    """Exact log likelihood of a SINGLE_FACTOR model at (beta (p,), nu), kernel by default."""
    y, X, group, _ = single_factor_arrays(model)
    return single_factor_loglik(y, X @ np.asarray(beta, float), group, float(nu),
                                SINGLE_FACTOR[model][2], n_points, constants)


def fd_hessian(f, theta, h=1e-4):
    """Central-difference Hessian (p, p) of a scalar f at theta (p,), step h per coordinate."""
    steps = h * np.eye(len(theta))
    return np.array([[(f(theta + a + b) - f(theta + a - b) - f(theta - a + b) + f(theta - a - b))
                      / (4 * h * h) for b in steps] for a in steps])


def single_factor_mle(model, n_points=100, constants=False):
    """Maximise ``single_factor_exact`` over (beta, log nu) by BFGS from (0, log 1).

    Returns dict: names, coef (p,), nu, loglik, se (p + 1,) of (beta, nu) from the inverse of
    the central-difference Hessian of log L in (beta, nu), gradient (p + 1,) by central
    differences at the optimum (h = 1e-5; it should be ~0), and scipy's success flag.
    """
    y, X, group, names = single_factor_arrays(model)
    family = SINGLE_FACTOR[model][2]

    def loglik(theta):
        with np.errstate(over="ignore"):
            return single_factor_loglik(y, X @ theta[:-1], group, theta[-1], family, n_points,
                                        constants)

    res = minimize(lambda t: -loglik(np.r_[t[:-1], np.exp(t[-1])]), np.zeros(X.shape[1] + 1),
                   method="BFGS", jac="3-point", options=dict(gtol=1e-6))
    theta = np.r_[res.x[:-1], np.exp(res.x[-1])]
    steps = 1e-5 * np.eye(len(theta))
    grad = np.array([(loglik(theta + e) - loglik(theta - e)) / 2e-5 for e in steps])
    se = np.sqrt(np.diag(np.linalg.inv(-fd_hessian(loglik, theta))))
    return dict(names=names, coef=theta[:-1], nu=theta[-1], loglik=loglik(theta), se=se,
                gradient=grad, success=res.success)
