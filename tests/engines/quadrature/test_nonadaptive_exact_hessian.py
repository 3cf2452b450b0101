"""The exact Hessian of non-adaptive Gauss-Hermite quadrature (Stata's ghermite, lr2/lr3)
against central differences (tests/fd.py) of the analytic gradient.

Every family row with auxiliary parameters, three levels, weights, and each covariance
structure for which the Hessian is exact (exchangeable with d > 1 is differenced).
"""
import numpy as np
import pytest

from fd import central_jacobian, relative_error
from mcglmm.api.meglm import build_model
from mcglmm.design.weights import weight_spec
from mcglmm.engines.quadrature.hessian import supports_exact_hessian
from mcglmm.engines.quadrature.nested import aghq
from mcglmm.model.families import me_family

from test_engine_gradients_match_finite_differences import _frame, _theta


def _assert_exact(model, theta, k, tol):
    hess = aghq(model, theta, None, k, hessian=True).hessian
    num = central_jacobian(lambda t: aghq(model, t, None, k).gradient, theta, 1e-6)
    assert relative_error(hess, num) < tol
    np.testing.assert_allclose(hess, hess.T, rtol=0, atol=1e-12 * np.abs(hess).max())


@pytest.mark.parametrize("family,covariance", [("bernoulli", "independent"),
                                               ("poisson", "unstructured"),
                                               ("binomial", "identity")])
def test_two_level_random_slope(family, covariance):
    data = _frame(family)
    model, _ = build_model("y ~ x + (1 + z | g)", data, me_family(family), covariance,
                           False, None, None, None)
    _assert_exact(model, _theta(model, np.random.default_rng(3)), 5, 2e-9)  # seen 2.7e-10


@pytest.mark.parametrize("family,link", [("bernoulli", "logit"), ("gaussian", "identity"),
                                         ("gamma", "log"), ("nbinomial", "log"),
                                         ("ordinal", "logit")])
def test_three_levels_with_auxiliary_parameters(family, link):
    data = _frame(family, n_groups=6, per=10)
    model, _ = build_model("y ~ x + (1 | g/h)", data, me_family(family, link), "independent",
                           False, None, None, None)
    _assert_exact(model, _theta(model, np.random.default_rng(19)), 4, 2e-9)  # seen 3.5e-10


def test_weighted_levels():
    data = _frame("bernoulli", n_groups=6, per=10)
    data["w1"] = 1.0 + (data["g"] % 3)
    data["w2"] = 1.0 + (data["h"] % 2)
    model, _ = build_model("y ~ x + (1 | g/h)", data, me_family("bernoulli"), "independent",
                           False, None, None, None,
                           weight_spec(None, None, {"g": "w1", "g:h": "w2"}))
    assert model.weights is not None
    _assert_exact(model, _theta(model, np.random.default_rng(5)), 4, 2e-9)  # seen 1.9e-10


def test_exchangeable_with_two_effects_has_no_exact_nonadaptive_hessian():
    data = _frame("poisson")
    model, _ = build_model("y ~ x + (1 + z | g)", data, me_family("poisson"), "exchangeable",
                           False, None, None, None)
    assert supports_exact_hessian(model, adaptive=True)
    assert not supports_exact_hessian(model, adaptive=False)
    assert aghq(model, _theta(model, np.random.default_rng(3)), None, 5, hessian=True).hessian is None
