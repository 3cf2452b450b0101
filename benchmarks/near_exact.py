"""Near-exact GLMM log likelihoods, computed independently of mcglmm's engines (issue 10).

The oracle that MCLA fits are judged against.  Only numpy, scipy and ``mcglmm.datasets``
(to load the data) are used; nothing here imports mcglmm's design, families or engines.

Model (canonical link).  Observation i has linear predictor and log density

    eta_i = x_i' beta + u_{F(i)} + v_{M(i)},      u_j ~ N(0, nu_F),  v_k ~ N(0, nu_M),
    log f(y_i | eta_i) = y_i eta_i - c(eta_i) + a(y_i),

c(eta) = log(1 + e^eta), a = 0 for the Bernoulli logit; c(eta) = e^eta, a(y) = -log y! for
the Poisson log.  The *kernel* drops a(y) (and log C(n, y) of a binomial): R glmm reports the
kernel, and so does mcglmm's ``glmm`` front; every function here has ``constants=False`` by
default to match it.  ``constants=True`` adds sum_i a(y_i) (what Stata's meglm reports).

Two building blocks:

* ``log_unit_integrals``: for scalar random effects with conditionally independent units,
  log int N(v; 0, nu) prod_{i in unit} f(y_i | eta0_i + v) dv per unit, by adaptive
  Gauss-Hermite at each unit's mode and curvature, vectorised over units and any leading
  axes (draws).  Used for the single-factor models (``near_exact_single``) and for the males
  of a salamander block given its female effects.
* ``crossed_loglik``: two crossed factors.  The design splits into independent blocks (the
  connected components of the graph linking the levels that share an observation).  Within a
  block, given the sampled factor's effects u (d-vector) the other factor's levels are
  conditionally independent, so

      L_b = int N(u; 0, nu_F I) prod_k L_k(u) du,   L_k(u) = int N(v; 0, nu_M) prod f dv,

  with L_k(u) by adaptive Gauss-Hermite and the outer d-dimensional integral by importance
  sampling from a heavy-tailed proposal q at the block's joint Laplace mode and curvature:
  L_b ~ (1/n) sum_s w_s, w_s = N(u_s; 0, nu_F I) prod_k L_k(u_s) / q(u_s).  The Monte Carlo
  standard error of log L_b is the delta-method sd(w) / (sqrt(n) mean(w)); block variances add.
"""
from __future__ import annotations

import numpy as np
from numpy.polynomial.hermite import hermgauss
from scipy.optimize import minimize
from scipy.linalg import cho_factor, cho_solve, cholesky, solve_triangular
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.special import expit, gammaln, logsumexp

import mcglmm.datasets

FAMILIES = ("bernoulli", "poisson")
SALAMANDER_COEF = ["Cross[R/R]", "Cross[R/W]", "Cross[W/R]", "Cross[W/W]"]
SINGLE_FACTOR = {   # model: (mc.glmm's fixed and random formulas, family)
    "BoothHobert": ("y ~ 0 + x1", "0 + z1", "bernoulli"),
    "cbpp2": ("Y ~ period", "0 + herd", "bernoulli"),
    "murder": ("I(y - 1) ~ 0 + race", "0 + id", "poisson"),
}


def cumulant(family, eta):
    """c(eta), of eta's shape: log(1 + e^eta) (Bernoulli) or e^eta (Poisson)."""
    if family == "bernoulli":
        return np.logaddexp(0.0, eta)
    if family == "poisson":
        return np.exp(eta)
    raise ValueError(f"family must be one of {FAMILIES}; got {family!r}")


def cumulants(family, eta):
    """(c, c', c'') of the canonical family, each of eta's shape."""
    if family == "bernoulli":
        mu = expit(eta)
        return np.logaddexp(0.0, eta), mu, mu * (1.0 - mu)
    c = cumulant(family, eta)
    return c, c, c


def data_constant(family, y):
    """sum_i a(y_i): 0 for the Bernoulli, -sum log y_i! for the Poisson."""
    return 0.0 if family == "bernoulli" else -float(np.sum(gammaln(np.asarray(y) + 1.0)))


def _segment_sum(a, starts):
    """Sum over the last axis within consecutive segments beginning at ``starts``."""
    return np.add.reduceat(a, starts, axis=-1)


def unit_modes(eta0, y, unit, starts, nu, family, max_iter=60, tol=1e-12):
    """Modes and curvatures of g_k(v) = sum_{i in k} [y_i eta_i - c(eta_i)] - v^2 / (2 nu).

    eta0 : (..., n) offsets eta0_i, observations sorted by unit; eta_i = eta0_i + v_{unit(i)}.
    unit : (n,) unit index of each observation (non-decreasing); starts : (K,) first index.
    Returns v_hat (..., K) and h (..., K) = -g_k''(v_hat) = sum c''(eta_i) + 1/nu, by Newton
    steps clipped to length 1 (g_k is strictly concave, so this converges from v = 0).
    """
    v = np.zeros(eta0.shape[:-1] + (len(starts),))
    for _ in range(max_iter):
        _, c1, c2 = cumulants(family, eta0 + v[..., unit])
        h = _segment_sum(c2, starts) + 1.0 / nu
        step = np.clip((_segment_sum(y - c1, starts) - v / nu) / h, -1.0, 1.0)
        v = v + step
        if np.max(np.abs(step), initial=0.0) < tol:
            break
    _, _, c2 = cumulants(family, eta0 + v[..., unit])
    return v, _segment_sum(c2, starts) + 1.0 / nu


def log_unit_integrals(eta0, y, unit, starts, nu, family, n_points=16):
    """log int N(v; 0, nu) exp(sum_{i in k} [y_i (eta0_i + v) - c(eta0_i + v)]) dv per unit k.

    Adaptive Gauss-Hermite: with the mode v_hat, sigma = h^(-1/2) and the rule (x_j, w_j) for
    int e^(-x^2) g(x) dx, v_j = v_hat + sqrt(2) sigma x_j and
        log I_k = log(sqrt(2) sigma) + logsumexp_j(log w_j + x_j^2 + g_k(v_j) + log N(v_j; 0, nu)).
    Shapes as ``unit_modes``; returns (..., K).  Exact for a Gaussian integrand.
    """
    v_hat, h = unit_modes(eta0, y, unit, starts, nu, family)
    x, w = hermgauss(n_points)
    scale = np.sqrt(2.0 / h)[..., None, :]                       # (..., 1, K)
    v = v_hat[..., None, :] + scale * x[:, None]                 # (..., J, K)
    eta = eta0[..., None, :] + v[..., unit]                      # (..., J, n)
    log_prior = -v**2 / (2.0 * nu) - 0.5 * np.log(2.0 * np.pi * nu)
    g = _segment_sum(y * eta - cumulant(family, eta), starts) + log_prior
    return np.log(scale[..., 0, :]) + logsumexp(g + (np.log(w) + x**2)[:, None], axis=-2)


def crossed_blocks(a, b):
    """Block label (n,) of each observation: connected components of the level graph.

    a, b : (n,) integer codes of the two factors; levels are linked when they share a row.
    Blocks are numbered in order of their first row, so the labels do not depend on which
    factor is passed as ``a``.
    """
    na, n = a.max() + 1, len(a)
    graph = coo_matrix((np.ones(n), (a, na + b)), shape=(na + b.max() + 1,) * 2)
    label = connected_components(graph, directed=False)[1][a]
    _, first = np.unique(label, return_index=True)
    rank = np.empty(len(first), dtype=int)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[label]


def block_laplace(y, eta0, a, b, nu_a, nu_b, family, max_iter=100, tol=1e-11):
    """Joint mode and negative Hessian of the block's log integrand over (u, v).

    y, eta0, a, b : (n,) with a in 0..da-1, b in 0..db-1; eta = eta0 + u_a + v_b.
    Maximises l(u, v) = sum [y eta - c(eta)] - |u|^2/(2 nu_a) - |v|^2/(2 nu_b) by Newton with
    step halving.  Returns mode (da + db,), H = Z' diag(c'') Z + D^-1 (da + db, da + db) and
    the Laplace approximation of log L_b: l(mode) - (da log nu_a + db log nu_b + log|H|) / 2.
    """
    da, db = a.max() + 1, b.max() + 1
    Z = np.zeros((len(y), da + db))
    Z[np.arange(len(y)), a] = 1.0
    Z[np.arange(len(y)), da + b] = 1.0
    dinv = np.r_[np.full(da, 1.0 / nu_a), np.full(db, 1.0 / nu_b)]

    def objective(r):
        eta = eta0 + Z @ r
        return np.sum(y * eta - cumulant(family, eta)) - 0.5 * np.sum(dinv * r**2)

    r = np.zeros(da + db)
    for _ in range(max_iter):
        _, c1, c2 = cumulants(family, eta0 + Z @ r)
        H = Z.T @ (c2[:, None] * Z) + np.diag(dinv)
        step = cho_solve(cho_factor(H), Z.T @ (y - c1) - dinv * r)
        t, base = 1.0, objective(r)
        while objective(r + t * step) < base and t > 1e-8:
            t /= 2
        r = r + t * step
        if np.max(np.abs(t * step)) < tol:
            break
    _, _, c2 = cumulants(family, eta0 + Z @ r)
    H = Z.T @ (c2[:, None] * Z) + np.diag(dinv)
    logdet = 2.0 * np.sum(np.log(np.diag(cholesky(H))))
    laplace = objective(r) - 0.5 * (da * np.log(nu_a) + db * np.log(nu_b) + logdet)
    return r, H, laplace


def log_mvt(u, mean, chol, df):
    """log density (n,) at u (n, d) of the multivariate t_df(mean, L L'), L = chol (lower)."""
    d = len(mean)
    maha = np.sum(solve_triangular(chol, (u - mean).T, lower=True) ** 2, axis=0)
    logdet = np.sum(np.log(np.diag(chol)))
    if df == np.inf:
        return -0.5 * maha - 0.5 * d * np.log(2 * np.pi) - logdet
    return (gammaln((df + d) / 2) - gammaln(df / 2) - 0.5 * d * np.log(df * np.pi) - logdet
            - 0.5 * (df + d) * np.log1p(maha / df))


def draw_proposal(rng, mean, cov, n, proposal="mix", df=4.0, inflate=1.0):
    """n draws (n, d) and their log proposal density (n,).

    "mix": 1/2 N(mean, cov) + 1/2 t_df(mean, inflate^2 cov) (a defensive mixture);
    "t": t_df(mean, inflate^2 cov).  cov is the Laplace curvature inverse of the block.
    """
    chol = cholesky(cov, lower=True)
    d = len(mean)
    z = rng.standard_normal((n, d))
    radial = inflate * np.sqrt(df / rng.chisquare(df, size=n))
    if proposal == "mix":
        radial = np.where(rng.random(n) < 0.5, 1.0, radial)
    elif proposal != "t":
        raise ValueError(f"proposal must be one of ('mix', 't'); got {proposal!r}")
    u = mean + radial[:, None] * (z @ chol.T)
    logq = log_mvt(u, mean, inflate * chol, df)
    if proposal == "mix":
        logq = np.logaddexp(np.log(0.5) + log_mvt(u, mean, chol, np.inf), np.log(0.5) + logq)
    return u, logq


def block_log_weights(u, logq, y, eta0, a, b, nu_a, nu_b, family, n_points, chunk=2000):
    """log w_s = log N(u_s; 0, nu_a I) + sum_k log L_k(u_s) - log q(u_s), (n_draws,).

    u : (n_draws, da) draws of the sampled factor; the other factor (codes b) is integrated by
    ``log_unit_integrals``.  Vectorised over draws, in chunks of ``chunk`` draws (memory
    chunk * n_points * n doubles).
    """
    order = np.argsort(b, kind="stable")
    y, eta0, a, b = y[order], eta0[order], a[order], b[order]
    starts = np.flatnonzero(np.r_[True, np.diff(b) > 0])
    log_prior = (-0.5 * np.sum(u**2, axis=1) / nu_a - 0.5 * u.shape[1] * np.log(2 * np.pi * nu_a))
    inner = np.concatenate([
        log_unit_integrals(eta0 + u[s:s + chunk][:, a], y, b, starts, nu_b, family,
                           n_points).sum(axis=1)
        for s in range(0, len(u), chunk)])
    return log_prior + inner - logq


def summarise_log_weights(logw):
    """(log mean w, delta-method MC standard error of it, effective sample size)."""
    w = np.exp(logw - logw.max())
    mean = w.mean()
    se = w.std(ddof=1) / (np.sqrt(len(w)) * mean)
    return np.log(mean) + logw.max(), se, w.sum() ** 2 / np.sum(w**2)


def crossed_loglik(y, eta0, a, b, nu_a, nu_b, family="bernoulli", n_draws=100_000, seed=0,
                   n_points=16, proposal="mix", df=4.0, inflate=1.0, constants=False, blocks=None):
    """Log likelihood of a two-crossed-factor GLMM, block by block (see the module docstring).

    y, eta0 = X beta : (n,); a, b : (n,) integer codes of the sampled and the quadrature factor.
    Block k (``crossed_blocks`` numbering) draws from the k-th child of SeedSequence(seed);
    ``blocks`` (default all) restricts the sum to those blocks.  Returns dict: value, mc_se
    (floats) and per evaluated block (arrays) block_value, block_se, block_ess, block_laplace.
    """
    y, eta0 = np.asarray(y, float), np.asarray(eta0, float)
    label = crossed_blocks(a, b)
    children = np.random.SeedSequence(seed).spawn(label.max() + 1)
    rows = []
    for k in range(label.max() + 1) if blocks is None else blocks:
        rng, at = np.random.default_rng(children[k]), label == k
        ak, bk = _codes(a[at]), _codes(b[at])
        mode, H, laplace = block_laplace(y[at], eta0[at], ak, bk, nu_a, nu_b, family)
        da = ak.max() + 1
        cov = np.linalg.inv(H)[:da, :da]
        u, logq = draw_proposal(rng, mode[:da], cov, n_draws, proposal, df, inflate)
        logw = block_log_weights(u, logq, y[at], eta0[at], ak, bk, nu_a, nu_b, family, n_points)
        rows.append(summarise_log_weights(logw) + (laplace,))
    value, se, ess, laplace = map(np.array, zip(*rows))
    extra = data_constant(family, y) if constants and blocks is None else 0.0
    return dict(value=value.sum() + extra, mc_se=float(np.sqrt(np.sum(se**2))),
                block_value=value, block_se=se, block_ess=ess, block_laplace=laplace)


def _codes(values):
    """Integer codes 0..G-1 of a column, in sorted order of its levels."""
    return np.unique(np.asarray(values), return_inverse=True)[1]


def salamander_arrays():
    """(y, X, female, male) of ``Mate ~ 0 + Cross``: X (360, 4) in patsy's level order
    R/R, R/W, W/R, W/W (SALAMANDER_COEF); female, male (360,) integer codes."""
    sal = mcglmm.datasets.load("salamander")
    cross = sal["Cross"].astype(str).to_numpy()
    X = (cross[:, None] == np.array([c[6:-1] for c in SALAMANDER_COEF])).astype(float)
    female, male = _codes(sal["Female"].astype(str)), _codes(sal["Male"].astype(str))
    return sal["Mate"].to_numpy(float), X, female, male


def salamander_loglik(beta, nu_f, nu_m, n_draws=100_000, seed=0, n_points=16, sampled="Female",
                      full=False, **options):
    """Near-exact log likelihood of the glmm vignette's salamander model.

    ``Mate ~ 0 + Cross`` (beta, 4 values in SALAMANDER_COEF order), Bernoulli logit, random
    ``0 + Female`` (variance nu_f) and ``0 + Male`` (nu_m); 6 blocks of 10 females x 10 males.
    ``sampled`` names the factor importance-sampled ("Female" or "Male"); the other is
    integrated by ``n_points``-point adaptive Gauss-Hermite.  ``options`` (proposal, df,
    inflate, blocks) go to ``crossed_loglik``.  Returns (value, mc_se), or its dict if full.
    """
    y, X, female, male = salamander_arrays()
    eta0 = X @ np.asarray(beta, float)
    if sampled == "Female":
        args = (female, male, nu_f, nu_m)
    elif sampled == "Male":
        args = (male, female, nu_m, nu_f)
    else:
        raise ValueError(f"sampled must be one of ('Female', 'Male'); got {sampled!r}")
    out = crossed_loglik(y, eta0, *args, "bernoulli", n_draws, seed, n_points, **options)
    return out if full else (out["value"], out["mc_se"])


def salamander_laplace(beta, nu_f, nu_m):
    """The Laplace approximation of the salamander log likelihood (sum over the 6 blocks)."""
    y, X, female, male = salamander_arrays()
    eta0 = X @ np.asarray(beta, float)
    label = crossed_blocks(female, male)
    return sum(block_laplace(y[at], eta0[at], _codes(female[at]), _codes(male[at]), nu_f, nu_m,
                             "bernoulli")[2] for at in (label == k for k in range(label.max() + 1)))


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
        return d["y"].to_numpy(float), d[["x1"]].to_numpy(float), _codes(d["z1"].astype(str)), ["x1"]
    if model == "cbpp2":
        period = d["period"].astype(str).to_numpy()
        X = np.column_stack([np.ones(len(d))] + [period == p for p in "234"]).astype(float)
        names = ["Intercept"] + [f"period[T.{p}]" for p in "234"]
        return d["Y"].to_numpy(float), X, _codes(d["herd"].astype(str)), names
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
