"""End-to-end glmm() fits beyond the vignette: other families, weights, a zero variance."""
import warnings

import numpy as np
import pandas as pd
import pytest

import mcglmm as mc
from mcglmm.design import glmm_design
from mcglmm.engines.mcla import MCLAObjective
from mcglmm.engines.mcla.sampler import SamplerInputs, build_sampler


def _quiet(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mc.glmm(**kwargs)


def test_poisson_murder_fit_converges():
    murder = mc.datasets.load("murder")
    murder["y"] = murder["y"] - 1          # Agresti's counts; the shipped ones are +1
    murder["id"] = pd.Categorical(np.arange(len(murder)))
    fit = _quiet(fixed="y ~ 0 + race", random="0 + id", varcomps_names=["respondent"],
                 data=murder, family_glmm=mc.poisson_glmm, m=2000, seed=3)
    assert fit.trust_converged and np.abs(fit.likelihood_gradient).max() < 1e-6
    assert fit.varcomps().iloc[0] > 0


def test_binomial_cbpp_fit_converges():
    fit = _quiet(fixed="cbind(incidence, size - incidence) ~ period", random="0 + herd",
                 varcomps_names=["herd"], data=mc.datasets.load("cbpp"),
                 family_glmm=mc.binomial_glmm, m=2000, seed=3)
    assert fit.trust_converged and np.abs(fit.likelihood_gradient).max() < 1e-6
    assert list(fit.coef().index) == ["Intercept", "period[T.2]", "period[T.3]", "period[T.4]"]


def test_weight_two_equals_a_duplicated_row():
    """log f(y|u) = sum_i w_i (y_i eta_i - c(eta_i)): weight 2 on a row is that row twice."""
    sal = mc.datasets.load("salamander")
    weights = np.ones(len(sal))
    weights[[3, 70]] = 2.0
    doubled = pd.concat([sal, sal.iloc[[3, 70]]], ignore_index=True)
    designs = [glmm_design("Mate ~ 0 + Cross", ["0 + Female", "0 + Male"], data,
                           mc.bernoulli_glmm, ["F", "M"], weights=w)
               for data, w in ((sal, weights), (doubled, None))]
    start = SamplerInputs(np.zeros(4), np.ones(2), np.zeros(120))
    U, logq, _ = build_sampler(designs[1], mc.bernoulli_glmm, start, [1 / 3] * 3, 5).draw(300, 1)
    theta = np.array([1.0, 0.3, -1.8, 0.9, 1.2, 1.1])
    a, b = (MCLAObjective.build(d, mc.bernoulli_glmm, U, logq).evaluate(theta) for d in designs)
    assert abs(a.value - b.value) < 1e-10 * abs(a.value)
    np.testing.assert_allclose(a.gradient, b.gradient, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(a.hessian, b.hessian, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("method, m", [("glmm", 500), ("blocks", 5000)])
def test_a_variance_at_zero_gives_warnings_and_the_glm_fit(method, m):
    """No group effect in the data: PQL puts the variance at 0; the fit returns the logit
    model without random effects: beta = logit(ybar), se = 1/sqrt(n ybar (1 - ybar)).

    Near nu = 0 the MCLA of each block is a kernel estimate of the proposal's density at 0
    with bandwidth sqrt(nu), and maximising over nu picks up its noise: the log likelihood
    is biased upwards by about sqrt(blocks / m). The default method has 20 blocks here
    (seen 0.10 above the GLM's at m = 500, 0.034 at 2000, 0.011 at 5000), glmm's one."""
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"y": rng.integers(0, 2, 200), "g": pd.Categorical(rng.integers(0, 20, 200))})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = mc.glmm("y ~ 1", "0 + g", ["g"], data, mc.bernoulli_glmm, m=m, seed=1,
                      method=method)
    assert all(issubclass(w.category, mc.MCGLMMWarning) for w in caught)
    assert [str(w.message) for w in caught if issubclass(w.category, mc.BoundaryWarning)] \
        == list(fit.warnings)
    assert fit.varcomps().iloc[0] < 1e-4
    ybar = data["y"].mean()
    glm_ll = len(data) * (ybar * np.log(ybar) + (1 - ybar) * np.log(1 - ybar))
    assert fit.coef()["Intercept"] == pytest.approx(np.log(ybar / (1 - ybar)), rel=2e-4)  # seen 5e-5
    assert fit.se()["Intercept"] == pytest.approx(1 / np.sqrt(len(data) * ybar * (1 - ybar)),
                                                  rel=1e-5)                   # seen 1.6e-6
    assert fit.llf == pytest.approx(glm_ll, abs=0.03)      # seen 0.014 (glmm), 0.011 (blocks)
    coefficients = fit.summary().coefficients
    assert coefficients.loc["Intercept", "Estimate"] == fit.coef()["Intercept"]
    assert coefficients.loc["Intercept", "Std. Error"] == fit.se()["Intercept"]
