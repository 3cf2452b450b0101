"""Numerical trouble inside a fit is reported by mcglmm's warnings, never passed over silently."""
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import mcglmm as mc
from mcglmm.api.meglm import build_model
from mcglmm.engines.quadrature.laplace import algebra, find_mode
from mcglmm.model.params import sigmas, unpack
from mcglmm.model.spec import linear_predictor
from mcglmm.engines.quadrature.objective import Objective, StartSearch
from mcglmm.model.families import me_family


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(2)
    g = np.repeat(np.arange(10), 20)
    x = rng.normal(size=len(g))
    eta = 0.5 * x + rng.normal(size=10)[g]
    return pd.DataFrame({"y": rng.binomial(1, 1 / (1 + np.exp(-eta))), "x": x,
                         "count": rng.poisson(np.exp(eta)), "g": g})


def test_unconverged_fixed_effects_fit_warns(data):
    """The comparison fit feeds the LR test; before, its converged flag was never read."""
    with pytest.warns(mc.ConvergenceWarning) as record:
        mc.meglm("y ~ x + (1 | g)", data, family="bernoulli", iterate=0)
    messages = [str(w.message) for w in record]
    assert any(m.startswith("the fixed-effects comparison model did not converge in 0 "
                            "iterations: the iteration limit (0) was reached") for m in messages)


def test_converged_fit_gives_no_convergence_warning(data):
    with warnings.catch_warnings():
        warnings.simplefilter("error", mc.MCGLMMWarning)
        mc.meglm("y ~ x + (1 | g)", data, family="bernoulli")


class _WithDerivs:
    """A family row with its derivs replaced (everything else delegated)."""

    def __init__(self, family, derivs):
        self._family, self.derivs = family, derivs

    def __getattr__(self, name):
        return getattr(self._family, name)


def _mode_problem(data, derivs=None):
    """(model, algebra, eta0) of a Poisson random-intercept model at theta = (0.5, 0.1, 0)."""
    model, _ = build_model("count ~ x + (1 | g)", data, me_family("poisson"), "independent",
                           False, None, None, None)
    if derivs is not None:
        model = replace(model, family=_WithDerivs(model.family, derivs))
    beta, _, psis = unpack(model, np.array([0.5, 0.1, 0.0]))
    return model, algebra(model, sigmas(model, psis))[0], linear_predictor(model, beta)


def test_mode_search_that_cannot_improve_warns(data):
    """A log density that is NaN away from u = 0: every Newton step is rejected.  Before,
    find_mode moved by 2^-27 of the step anyway and returned h = NaN without a word."""
    base = me_family("poisson").derivs
    eta0 = _mode_problem(data)[2]

    def nan_away_from_eta0(y, ntrials, eta, aux, full=True):
        der = base(y, ntrials, eta, aux, full)
        return replace(der, ll=np.where(eta == eta0, der.ll, np.nan))
    model, alg, eta0 = _mode_problem(data, nan_away_from_eta0)
    with pytest.warns(mc.ConvergenceWarning, match="joint mode of the random effects was not "
                                                   "found: step halving"):
        u, h, _ = find_mode(model, alg, eta0, (), None)
    assert np.all(u == 0.0) and np.isfinite(h)


def test_mode_search_at_an_infeasible_theta_stops_at_once(data):
    """h(u0) not finite: nothing to improve on, no warning (the caller sees the value)."""
    model, alg, eta0 = _mode_problem(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        u, h, _ = find_mode(model, alg, eta0 + 800.0, (), None)
    assert np.all(u == 0.0) and not np.isfinite(h)


def test_mode_search_converges_quietly(data):
    model, alg, eta0 = _mode_problem(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        u, h, der = find_mode(model, alg, eta0, (), None)
    g = alg.Z.T @ der.d1 - alg.prior_times(u)
    assert np.max(np.abs(g)) < 1e-8


def test_indefinite_hessian_is_refused_and_the_floored_one_factors(data):
    """H with negative observation curvatures is not positive definite: ``factor`` says so
    (None) instead of returning a meaningless log-determinant, and find_mode's step falls
    back to the curvatures floored at 0, where H >= P is positive definite."""
    model, alg, _ = _mode_problem(data)
    W = np.full(len(model.y), -5.0)
    assert alg.factor(W) is None
    fac = alg.factor(np.maximum(W, 0.0))
    assert fac is not None and np.isfinite(fac.logdet)


@pytest.mark.parametrize("intmethod, k", [("laplace", 1), ("mcaghermite", 7),
                                          ("mvaghermite", 7)])
def test_infeasible_theta_has_log_likelihood_minus_inf(data, intmethod, k):
    """exp(800) overflows every Poisson mean: the joint mode's h is -inf.  Before, the mode
    search went on with NaN steps and the curvature's Cholesky factor could fail
    (LinAlgError); now the optimiser sees -inf, a rejected point."""
    model, _ = build_model("count ~ x + (1 | g)", data, me_family("poisson"), "independent",
                           False, None, None, None)
    theta = np.array([800.0, 0.1, 0.0])
    assert StartSearch(model, intmethod, k).value(theta) == -np.inf
    value, grad = Objective(model, intmethod, k).refresh(theta).value_grad(theta)
    assert value == -np.inf and np.isnan(grad).all()


def test_mode_search_restarts_from_zero_when_the_warm_start_is_infeasible(data):
    model, alg, eta0 = _mode_problem(data)
    u_cold, h_cold, _ = find_mode(model, alg, eta0, (), None)
    u0 = np.full(alg.st.q, 800.0)   # exp(eta0 + 800) overflows
    u, h, _ = find_mode(model, alg, eta0, (), u0)
    assert h == pytest.approx(h_cold, rel=1e-12)
    np.testing.assert_allclose(u, u_cold, atol=1e-8)
