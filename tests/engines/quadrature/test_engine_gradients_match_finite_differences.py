"""Analytic gradients of the quadrature and Laplace log likelihoods against central differences.

For adaptive quadrature the adaptive parameters are held fixed (they are inputs
of the engine), so the approximated log likelihood is a smooth function of theta.
One test per family (with a non-canonical link where Stata allows one), plus
three-level nesting, correlated covariance structures and a crossed design.
"""
import numpy as np
import pandas as pd
import pytest

from mcglmm.api.meglm import build_model
from mcglmm.engines.quadrature.laplace import curvature_adapt, laplace
from mcglmm.engines.quadrature.nested import aghq
from mcglmm.model.families import me_family

CASES = [("gaussian", "identity"), ("gaussian", "log"), ("bernoulli", "logit"),
         ("bernoulli", "probit"), ("bernoulli", "cloglog"), ("binomial", "logit"),
         ("poisson", "log"), ("gamma", "log"), ("nbinomial", "log"), ("ordinal", "logit"),
         ("ordinal", "cloglog")]


def _frame(family, seed=1, n_groups=8, per=6, crossed=False):
    """Simulated data: two covariates, groups g (and h crossed or nested within g)."""
    rng = np.random.default_rng(seed)
    n = n_groups * per
    g = np.repeat(np.arange(n_groups), per)
    h = rng.integers(0, 5, n) if crossed else g * 3 + rng.integers(0, 3, n)
    x = rng.normal(size=n)
    eta = 0.3 + 0.5 * x + rng.normal(0, 0.5, n_groups)[g]
    if family == "gaussian":
        y = 2.0 + eta + rng.normal(0, 0.5, n)
    elif family in ("bernoulli", "binomial"):
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    elif family in ("poisson", "nbinomial"):
        y = rng.poisson(np.exp(eta)).astype(float)
    elif family == "gamma":
        y = rng.gamma(2.0, np.exp(eta) / 2.0)
    else:
        y = np.digitize(eta + rng.logistic(size=n), [-0.5, 0.5, 1.5]).astype(float)
    return pd.DataFrame({"y": y, "x": x, "z": rng.normal(size=n), "g": g, "h": h})


def _theta(model, rng):
    theta = rng.normal(0, 0.2, model.dim)
    if model.family.aux.ordinal:
        theta[model.p:model.p + model.n_aux] = np.sort(rng.normal(0, 1, model.n_aux)) + [-1, 0, 1]
    return theta


def _central(f, theta, h=1e-6):
    out = np.empty(len(theta))
    for j in range(len(theta)):
        e = np.zeros(len(theta))
        e[j] = h
        out[j] = (f(theta + e) - f(theta - e)) / (2 * h)
    return out


def _check(model, theta, adapt, k):
    ev = aghq(model, theta, adapt, k)
    num = _central(lambda t: aghq(model, t, adapt, k).value, theta)
    np.testing.assert_allclose(ev.gradient, num, rtol=1e-5, atol=1e-5)   # seen 5e-9 (rel. to 1+|fd|)
    lp = laplace(model, theta)
    num = _central(lambda t: laplace(model, t, lp.mode).value, theta)
    np.testing.assert_allclose(lp.gradient, num, rtol=1e-5, atol=1e-5)   # seen 7e-9


@pytest.mark.parametrize("family,link", CASES)
def test_two_level_random_slope(family, link):
    data = _frame(family)
    model, _ = build_model("y ~ x + (1 + z | g)", data, me_family(family, link), "independent",
                           False, None, None, None)
    theta = _theta(model, np.random.default_rng(3))
    _check(model, theta, curvature_adapt(model, theta)[0], 5)


@pytest.mark.parametrize("covariance", ["unstructured", "exchangeable", "identity"])
def test_correlated_structures(covariance):
    data = _frame("poisson")
    model, _ = build_model("y ~ x + (1 + z | g)", data, me_family("poisson"), covariance,
                           False, None, None, None)
    theta = _theta(model, np.random.default_rng(5))
    _check(model, theta, curvature_adapt(model, theta)[0], 4)


@pytest.mark.parametrize("family", ["bernoulli", "ordinal", "gaussian"])
def test_three_levels_nested(family):
    data = _frame(family, n_groups=6, per=10)
    model, _ = build_model("y ~ x + (1 | g/h)", data, me_family(family), "independent",
                           False, None, None, None)
    assert model.nested and len(model.levels) == 2
    theta = _theta(model, np.random.default_rng(7))
    _check(model, theta, curvature_adapt(model, theta)[0], 5)


def test_crossed_laplace():
    data = _frame("bernoulli", crossed=True)
    model, _ = build_model("y ~ x + (1 | g) + (1 | h)", data, me_family("bernoulli"),
                           "independent", False, None, None, None)
    assert not model.nested
    theta = _theta(model, np.random.default_rng(9))
    lp = laplace(model, theta)
    num = _central(lambda t: laplace(model, t, lp.mode).value, theta)
    np.testing.assert_allclose(lp.gradient, num, rtol=1e-5, atol=1e-5)   # seen 2e-8


@pytest.mark.parametrize("covariance", ["independent", "unstructured"])
def test_nonadaptive_ghermite_gradient_runs_through_the_nodes(covariance):
    data = _frame("bernoulli", n_groups=6, per=10)
    model, _ = build_model("y ~ x + (1 + z | g)", data, me_family("bernoulli"), covariance,
                           False, None, None, None)
    theta = _theta(model, np.random.default_rng(11))
    ev = aghq(model, theta, None, 5)
    num = _central(lambda t: aghq(model, t, None, 5).value, theta)
    np.testing.assert_allclose(ev.gradient, num, rtol=1e-5, atol=1e-5)   # seen 1.3e-9


def test_ghermite_three_levels():
    data = _frame("poisson", n_groups=6, per=10)
    model, _ = build_model("y ~ x + (1 | g/h)", data, me_family("poisson"), "independent",
                           False, None, None, None)
    theta = _theta(model, np.random.default_rng(13))
    ev = aghq(model, theta, None, 6)
    num = _central(lambda t: aghq(model, t, None, 6).value, theta)
    np.testing.assert_allclose(ev.gradient, num, rtol=1e-5, atol=1e-5)   # seen 1.3e-9


def _assert_exact_hessian(model, theta, points):
    """The exact AGHQ Hessian against central differences (h = 1e-6) of the exact gradient."""
    adapt = curvature_adapt(model, theta)[0]
    hess = aghq(model, theta, adapt, points, hessian=True).hessian
    num = np.array([(aghq(model, theta + e, adapt, points).gradient
                     - aghq(model, theta - e, adapt, points).gradient) / 2e-6
                    for e in 1e-6 * np.eye(len(theta))]).T
    np.testing.assert_allclose(hess, num, rtol=1e-5, atol=1e-6 * np.abs(num).max())


@pytest.mark.parametrize("family,covariance", [("bernoulli", "independent"),
                                               ("poisson", "unstructured"),
                                               ("poisson", "exchangeable"),
                                               ("binomial", "identity")])
def test_two_level_exact_hessian_matches_differences_of_the_gradient(family, covariance):
    data = _frame(family)
    model, _ = build_model("y ~ x + (1 + z | g)", data, me_family(family), covariance,
                           False, None, None, None)
    theta = _theta(model, np.random.default_rng(3))
    _assert_exact_hessian(model, theta, 5)  # seen 4e-10


@pytest.mark.parametrize("family,covariance", [("bernoulli", "independent"),
                                               ("poisson", "unstructured")])
def test_three_level_exact_hessian_matches_differences_of_the_gradient(family, covariance):
    data = _frame(family, n_groups=6, per=10)
    model, _ = build_model("y ~ x + (1 + z | g) + (1 | g:h)", data, me_family(family),
                           covariance, False, None, None, None)
    assert model.nested and len(model.levels) == 2
    theta = _theta(model, np.random.default_rng(17))
    _assert_exact_hessian(model, theta, 4)  # seen 5e-10


@pytest.mark.parametrize("family,link", [("gaussian", "identity"), ("gaussian", "log"),
                                         ("gamma", "log"), ("nbinomial", "log"),
                                         ("ordinal", "logit"), ("ordinal", "cloglog")])
def test_exact_hessian_with_auxiliary_parameters(family, link):
    data = _frame(family, n_groups=6, per=10)
    model, _ = build_model("y ~ x + (1 | g/h)", data, me_family(family, link), "independent",
                           False, None, None, None)
    theta = _theta(model, np.random.default_rng(19))
    _assert_exact_hessian(model, theta, 4)  # seen 5e-10
