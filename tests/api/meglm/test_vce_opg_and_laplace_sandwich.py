"""meglm vce("opg") and the robust/cluster sandwich with the Laplace approximation, for a
crossed model too, each against scores built by hand from finite differences."""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.special import expit, log_expit

from mcglmm.api.meglm import build_model, meglm
from mcglmm.engines.quadrature.laplace import laplace
from mcglmm.engines.quadrature.laplace_scores import laplace_scores
from mcglmm.model.families import get_family
from mcglmm.exceptions import HessianWarning

from fd import central_gradient, central_jacobian

FORMULA = "y ~ wsm * wsf + (1 | male) + (1 | female)"


@pytest.fixture(scope="module")
def logit_groups():
    """Bernoulli-logit, 30 groups g of 6 (random intercept sd 0.8)."""
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(30), 6)
    x = rng.normal(size=g.size)
    y = rng.binomial(1, expit(-0.2 + 0.7 * x + rng.normal(0, 0.8, 30)[g]))
    return pd.DataFrame({"y": y, "x": x, "g": g})


def _group_loglik(y, X, theta, k):
    """One group's k-point Gauss-Hermite log likelihood of a random-intercept logit,
    theta = (beta, log sd): log sum_j w_j/sqrt(pi) prod_i f(y_i | X_i beta + sqrt2 sd x_j)."""
    nodes, weights = np.polynomial.hermite.hermgauss(k)
    eta = (X @ theta[:-1])[:, None] + np.sqrt(2.0) * np.exp(theta[-1]) * nodes[None]
    ll = np.where(y[:, None] == 1, log_expit(eta), log_expit(-eta)).sum(axis=0)
    return np.log(np.exp(ll) @ weights / np.sqrt(np.pi))


def test_opg_is_the_inverse_outer_product_of_each_groups_score(logit_groups):
    res = meglm("y ~ x + (1 | g)", logit_groups, family="bernoulli", intmethod="ghermite",
                intpoints=9, vce="opg")
    d = logit_groups
    X = np.column_stack([np.ones(len(d)), d["x"]])
    scores = np.array([central_gradient(lambda t: _group_loglik(d.y[m].to_numpy(), X[m], t, 9),
                                        res.theta, 1e-5)
                       for m in (d.g == g for g in range(30))])
    V = np.linalg.inv(scores.T @ scores)
    J = np.diag([1.0, 1.0, 2.0 * np.exp(2.0 * res.theta[2])])    # _cons, x, var = exp(2 psi)
    order = [1, 0, 2]                                            # table: x, _cons, var
    hand = (J @ V @ J.T)[np.ix_(order, order)]
    assert np.max(np.abs(res.V.to_numpy() / hand - 1)) < 5e-10   # seen 7.4e-11
    assert (res.vce, res.vcetype, res.N_clust, res.clustvar) == ("opg", "OPG", None, None)


def test_opg_prints_as_stata(logit_groups):
    text = str(meglm("y ~ x + (1 | g)", logit_groups, family="bernoulli", vce="opg").summary())
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.rstrip().endswith("OPG"))
    assert lines[head] == f"{'':13}|{'':17}OPG"           # Stata's layout (its own logs)
    assert lines[head + 1].index("std. err.") == 28
    assert "Log likelihood = " in text and "adjusted for" not in text
    assert "LR test vs. logistic model" in text


def test_opg_with_fewer_groups_than_parameters_is_nan(salamander):
    with pytest.warns(HessianWarning, match="outer product of the 6 groups' scores"):
        res = meglm(FORMULA, salamander, family="bernoulli", vce="opg")
    assert np.all(np.isnan(res.V.to_numpy()))


def _blocks(data):
    """Connected components of the male-female pairs (the test's own, by graph search)."""
    m = data.male.astype("category").cat.codes.to_numpy()
    f = data.female.astype("category").cat.codes.to_numpy()
    A = sp.coo_matrix((np.ones(len(m)), (m, f)))
    graph = sp.bmat([[None, A], [A.T, None]])
    return sp.csgraph.connected_components(graph, directed=False)[1][m]


def _dense_laplace(y, X, male, female, theta):
    """Laplace log likelihood of a crossed random-intercept logit, dense: Newton for the
    joint mode of u = (male effects, female effects), then
    h(u^) - 1/2 sum log|Sigma| - 1/2 log|Z'WZ + P|; theta = (beta, log sd_m, log sd_f)."""
    mi, fi = np.unique(male, return_inverse=True)[1], np.unique(female, return_inverse=True)[1]
    Gm, Gf = mi.max() + 1, fi.max() + 1
    Z = np.zeros((len(y), Gm + Gf))
    Z[np.arange(len(y)), mi] = 1.0
    Z[np.arange(len(y)), Gm + fi] = 1.0
    prec = np.r_[np.full(Gm, np.exp(-2 * theta[-2])), np.full(Gf, np.exp(-2 * theta[-1]))]
    off = X @ theta[:-2]
    u = np.zeros(Gm + Gf)
    for _ in range(50):
        p = expit(off + Z @ u)
        H = Z.T @ (Z * (p * (1 - p))[:, None]) + np.diag(prec)
        step = np.linalg.solve(H, Z.T @ (y - p) - prec * u)
        u += step
        if np.max(np.abs(step)) < 1e-13:
            break
    eta = off + Z @ u
    p = expit(eta)
    H = Z.T @ (Z * (p * (1 - p))[:, None]) + np.diag(prec)
    h = np.sum(y * eta - np.logaddexp(0, eta)) - 0.5 * np.sum(prec * u * u)
    return h + 0.5 * np.sum(np.log(prec)) - 0.5 * np.linalg.slogdet(H)[1]


@pytest.mark.parametrize("by_pairs", [False, True])
def test_crossed_laplace_sandwich_equals_the_blocks_own_scores(salamander, by_pairs):
    """vce robust clusters at the 6 independent male-female blocks; ("cluster", pair) at
    3 pairs of them.  Hand: each block's dense Laplace log likelihood differenced."""
    block = _blocks(salamander)
    data = salamander.assign(pair=block // 2)
    vce = ("cluster", "pair") if by_pairs else "robust"
    res = meglm(FORMULA, data, family="bernoulli", vce=vce)
    X = np.column_stack([np.ones(len(data)), data.wsm, data.wsf, data.wsm * data.wsf])
    parts = [(data.y.to_numpy()[block == b], X[block == b], data.male.to_numpy()[block == b],
              data.female.to_numpy()[block == b]) for b in range(6)]
    theta = res.theta

    def block_scores(t):
        return np.array([central_gradient(lambda s: _dense_laplace(*part, s), t, 1e-4)
                         for part in parts])
    scores = block_scores(theta)
    def hessian(h):
        return central_jacobian(lambda t: block_scores(t).sum(axis=0), theta, h)
    H = (4 * hessian(5e-4) - hessian(1e-3)) / 3          # Richardson: its O(h^2) is 5e-6
    A = np.linalg.inv(-0.5 * (H + H.T))
    cluster = np.arange(6) // 2 if by_pairs else np.arange(6)
    summed = np.array([scores[cluster == c].sum(axis=0) for c in np.unique(cluster)])
    c = len(summed)
    V = A @ summed.T @ summed @ A * c / (c - 1)
    var = np.exp(2 * theta[4:])
    J = np.diag(np.r_[1.0, 1.0, 1.0, 1.0, 2 * var])
    order = [1, 2, 3, 0, 4, 5]                       # table: wsm, wsf, wsm#wsf, _cons, vars
    hand = (J @ V @ J.T)[np.ix_(order, order)]
    err = np.max(np.abs(res.V.to_numpy() - hand)) / np.max(np.abs(hand))
    assert err < 1e-7                                # seen 3.3e-8 (the FD Hessian)
    assert res.N_clust == c and res.vcetype == "Robust"
    assert res.clustvar == ("pair" if by_pairs else "_block")


def test_crossed_robust_needs_independent_blocks(salamander):
    rng = np.random.default_rng(2)
    male, female = np.repeat(np.arange(6), 8), np.tile(np.arange(8), 6)     # fully crossed
    connected = pd.DataFrame({"y": rng.binomial(1, 0.5, 48), "wsm": rng.binomial(1, 0.5, 48),
                              "wsf": rng.binomial(1, 0.5, 48), "male": male, "female": female})
    with pytest.raises(ValueError, match="form one cluster"):
        meglm(FORMULA, connected, family="bernoulli", vce="robust")
    with pytest.raises(ValueError, match="constant within the independent blocks"):
        meglm(FORMULA, salamander, family="bernoulli", vce=("cluster", "male"))


def test_nested_laplace_scores_are_each_top_groups_own_gradient(logit_groups):
    """Nested: the independent blocks are the top-level groups; each row is the gradient of
    the group's own Laplace log likelihood (its rows as a model)."""
    fam = get_family("bernoulli", None, "mean")
    model = build_model("y ~ x + (1 | g)", logit_groups, fam, "independent", False, None,
                        None, 1.0)[0]
    theta = np.array([-0.1, 0.6, -0.3])
    rows = laplace_scores(model, theta)
    d = logit_groups
    for g in (0, 17):
        part = build_model("y ~ x + (1 | g)", d[d.g == g], fam, "independent", False, None,
                           None, 1.0)[0]
        own = central_gradient(lambda t: laplace(part, t, gradient=False).value, theta, 1e-5)
        np.testing.assert_allclose(rows[g], own, atol=5e-10)     # seen 5.6e-11
    np.testing.assert_allclose(rows.sum(axis=0), laplace(model, theta).gradient,
                               atol=1e-13)                     # seen 1.8e-15
