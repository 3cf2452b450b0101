"""GH rules integrate polynomials exactly; Gaussian AGHQ equals the closed-form LMM likelihood."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import factorial2

from mcglmm.api.meglm import build_model
from mcglmm.engines.quadrature.laplace import curvature_adapt, laplace
from mcglmm.model.params import sigmas, unpack
from mcglmm.engines.quadrature.nested import aghq, product_rule
from mcglmm.model.families import me_family


def _normal_moment(m):
    """E[Z^m] for Z ~ N(0, 1)."""
    return 0.0 if m % 2 else float(factorial2(m - 1)) if m else 1.0


@pytest.mark.parametrize("k", [1, 2, 5, 7, 12])
def test_gh_rule_integrates_degree_2k_minus_1(k):
    z, lw = product_rule(k, 1)
    w = np.exp(lw)
    for m in range(2 * k):
        scale = w @ np.abs(z[:, 0]) ** m          # roundoff scale of the sum
        assert abs(w @ z[:, 0] ** m - _normal_moment(m)) <= 1e-12 * scale  # seen 2e-15


def test_product_rule_two_dimensions():
    z, lw = product_rule(4, 2)
    w = np.exp(lw)
    assert w @ (z[:, 0] ** 4 * z[:, 1] ** 6) == pytest.approx(3 * 15, rel=1e-12)


def _closed_form_loglik(model, theta):
    """sum_g log N(y_g; X_g beta, Z_g Sigma Z_g' + sigma^2 I) for one grouping level."""
    beta, aux, psis = unpack(model, theta)
    (S, _), = sigmas(model, psis)
    lev, total = model.levels[0], 0.0
    for g in range(lev.n_groups):
        rows = lev.index == g
        Zg = lev.Z[rows]
        cov = Zg @ S @ Zg.T + np.exp(2 * aux[0]) * np.eye(rows.sum())
        total += stats.multivariate_normal(model.X[rows] @ beta, cov).logpdf(model.y[rows])
    return total


@pytest.mark.parametrize("k", [1, 3, 7])
def test_gaussian_adaptive_quadrature_is_exact(pig, k):
    """With the posterior mean and variance as adaptation, AGHQ is exact for the LMM (any k)."""
    model, _ = build_model("weight ~ week + (1 + week | id)", pig, me_family("gaussian"),
                           "unstructured", False, None, None, None)
    theta = np.array([19.0, 6.0, 0.8, 1.2, 0.1, -0.5])
    value = aghq(model, theta, curvature_adapt(model, theta)[0], k).value
    assert value == pytest.approx(_closed_form_loglik(model, theta), rel=1e-11)  # seen 7e-16
    assert laplace(model, theta).value == pytest.approx(value, rel=1e-11)


@pytest.fixture(scope="module")
def four_levels():
    """Gaussian data nested 4 > 12 > 48 groups (a/b/c), 240 rows, large upper-level effects."""
    rng = np.random.default_rng(5)
    a = np.repeat(np.arange(4), 60)
    b = a * 3 + np.tile(np.repeat(np.arange(3), 20), 4)
    c = b * 4 + np.tile(np.repeat(np.arange(4), 5), 12)
    x = rng.normal(size=240)
    y = (0.3 * x + rng.normal(size=240) + rng.normal(size=4)[a] + 0.7 * rng.normal(size=12)[b]
         + 0.5 * rng.normal(size=48)[c])
    data = pd.DataFrame({"y": y, "x": x, "a": a, "b": b, "c": c})
    model, _ = build_model("y ~ x + (1 | a/b/c)", data, me_family("gaussian"), "independent",
                           False, None, None, None)
    return model


def _lmm_loglik(model, theta):
    """log N(y; X beta, Z D Z' + sigma^2 I) for independent intercepts at every level."""
    beta, aux, psis = unpack(model, theta)
    D = np.concatenate([np.full(lev.n_groups, np.exp(2 * psi[0]))
                        for lev, psi in zip(model.levels, psis)])
    Z = model.Zj.toarray()
    cov = Z @ (D[:, None] * Z.T) + np.exp(2 * aux[0]) * np.eye(len(model.y))
    return stats.multivariate_normal(model.X @ beta, cov).logpdf(model.y)


@pytest.mark.parametrize("k", [1, 3, 7])
def test_four_level_gaussian_quadrature_is_exact(four_levels, k):
    """Nodes follow each group's conditional posterior given its ancestors, so AGHQ is exact
    for a Gaussian model at any depth (a centre fixed at the marginal mean was off by 0.8)."""
    from mcglmm.engines.quadrature.objective import mv_adapt
    model = four_levels
    assert model.nested and [lev.name for lev in model.levels] == ["a", "a>b", "a>b>c"]
    theta = np.array([0.1, 0.3, 0.0, 0.0, -0.3, -0.6])
    exact = _lmm_loglik(model, theta)
    curvature = curvature_adapt(model, theta)[0]
    assert aghq(model, theta, curvature, k).value == pytest.approx(exact, abs=1e-9)  # seen 1e-13
    if k > 1:
        mv = mv_adapt(lambda adapt: aghq(model, theta, adapt, k), curvature)
        assert aghq(model, theta, mv, k).value == pytest.approx(exact, abs=1e-9)  # seen 1e-13
    assert laplace(model, theta).value == pytest.approx(exact, abs=1e-9)          # seen 6e-14


def test_one_point_mode_curvature_quadrature_is_the_laplace_approximation(tvsfpors):
    """Nodes at the joint mode with conditional (Schur-complement) curvatures: the product of
    the levels' determinants is the joint one, so 1-point AGHQ equals Laplace at any depth."""
    model, _ = build_model("thk ~ prethk + cc * tv + (1 | school/class)", tvsfpors,
                           me_family("ordinal"), "independent", False, None, None, None)
    theta = np.array([0.4, 0.9, 0.2, -0.4, -0.1, 1.2, 2.4, -1.5, -1.0])
    one_point = aghq(model, theta, curvature_adapt(model, theta)[0], 1).value
    assert one_point == pytest.approx(laplace(model, theta).value, abs=1e-9)   # seen 0
