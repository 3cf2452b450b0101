"""glmm fits: random effects from the importance weights, modes, predictions, comparisons."""
import warnings

import numpy as np
import pytest

import mcglmm as mc
from mcglmm.results.postestimation import importance_moments


@pytest.fixture(scope="module")
def sal_glmm():
    sal = mc.datasets.load("salamander")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mc.glmm("Mate ~ 0 + Cross", random=["0 + Female", "0 + Male"],
                       varcomps_names=["F", "M"], data=sal, family_glmm=mc.bernoulli_glmm,
                       m=1000, seed=7, debug=True), sal


def test_importance_moments_by_hand():
    rng = np.random.default_rng(0)
    U, v = rng.normal(size=(50, 3)), rng.random(50)
    v /= v.sum()
    mean, sd, mcse = importance_moments(U, v)
    for j in range(3):
        m = sum(v[k] * U[k, j] for k in range(50))
        assert mean[j] == pytest.approx(m, rel=1e-12)
        assert sd[j] == pytest.approx(np.sqrt(sum(v[k] * (U[k, j] - m) ** 2 for k in range(50))))
        assert mcse[j] == pytest.approx(np.sqrt(sum(v[k] ** 2 * (U[k, j] - m) ** 2
                                                    for k in range(50))))
    per_column = np.repeat(v[:, None], 3, axis=1)          # one weight vector per block
    np.testing.assert_allclose(importance_moments(U, per_column)[0], mean, rtol=1e-13)


def test_glmm_means_are_the_weighted_draws(sal_glmm):
    fit, _ = sal_glmm
    re = fit.random_effects()
    assert list(re.columns) == ["_cons", "se(_cons)", "mcse(_cons)"]
    assert re.index.get_level_values("level").unique().tolist() == ["F", "M"]
    assert re.loc["F"].index.tolist()[:2] == ["10", "11"]
    w = np.atleast_2d(fit.debug["weights"])                  # (blocks, m); glmm's joint: 1 row
    block = getattr(fit, "blocks", None)
    col_block = np.zeros(fit.umat.shape[1], dtype=int) if block is None else block.col_block
    want = (w[col_block] * fit.umat.T).sum(axis=1)
    np.testing.assert_allclose(re["_cons"], want, rtol=1e-10, atol=1e-12)
    assert (re["mcse(_cons)"] >= 0).all() and (re["mcse(_cons)"] <= re["se(_cons)"]).all()


def test_glmm_modes_solve_the_score_equation(sal_glmm):
    fit, _ = sal_glmm
    u = fit.random_effects(kind="mode")["_cons"].to_numpy()
    eta = fit.x @ fit.beta.to_numpy() + fit.z @ u
    nu = np.repeat(fit.nu.to_numpy(), 60)
    score = fit.z.T @ (fit.y - 1 / (1 + np.exp(-eta))) - u / nu
    assert np.max(np.abs(score)) < 1e-8                                        # seen 1e-14


def test_glmm_predict_simulate_and_ic(sal_glmm):
    fit, sal = sal_glmm
    u = fit.random_effects()["_cons"].to_numpy()
    mu = 1 / (1 + np.exp(-(fit.x @ fit.beta.to_numpy() + fit.z @ u)))
    np.testing.assert_allclose(fit.predict(), mu, rtol=1e-12)
    np.testing.assert_allclose(fit.predict(sal.head(5)), mu[:5], rtol=1e-12)
    new = sal.head(3).assign(Female=999)
    fixed = 1 / (1 + np.exp(-(fit.x[:3] @ fit.beta.to_numpy() + fit.z[:3, 60:] @ u[60:])))
    np.testing.assert_allclose(fit.predict(new), fixed, rtol=1e-12)
    assert np.array_equal(fit.simulate(3, seed=4), fit.simulate(3, seed=4))
    assert fit.aic == pytest.approx(-2 * fit.likelihood_value + 2 * 6)
    assert mc.estat_ic(fit).loc["model 1", "df"] == 6


def test_lrtest_reports_the_monte_carlo_error(sal_glmm):
    fit, sal = sal_glmm
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small = mc.glmm("Mate ~ 0 + Cross", random=["0 + Female"], varcomps_names=["F"],
                        data=sal, family_glmm=mc.bernoulli_glmm, m=1000, seed=7)
    test = mc.lrtest(small, fit)
    assert test.df == 1 and test.mc_se > 0
    assert "Monte Carlo" in test.note and "Monte Carlo standard error" in str(test)
    cross = sal["Cross"].astype(str)
    sal2 = sal.assign(y=sal["Mate"], wsf=(cross.str[0] == "W").astype(int),
                      wsm=(cross.str[-1] == "W").astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lap = mc.meglm("y ~ wsm * wsf + (1 | Male) + (1 | Female)", data=sal2,
                       family="bernoulli")
    with pytest.raises(ValueError, match="same front"):
        mc.lrtest(lap, fit)


@pytest.mark.slow
def test_salamander_conditional_means_agree_with_laplace_modes():
    """Done-when 3: m = 10^4, per-block importance weights at the MCMLE against meglm Laplace."""
    sal = mc.datasets.load("salamander")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mc.glmm("Mate ~ 0 + Cross", random=["0 + Female", "0 + Male"],
                      varcomps_names=["F", "M"], data=sal, family_glmm=mc.bernoulli_glmm,
                      m=10_000, seed=1234)
        cross = sal["Cross"].astype(str)
        sal2 = sal.assign(y=sal["Mate"], wsf=(cross.str[0] == "W").astype(int),
                          wsm=(cross.str[-1] == "W").astype(int))
        lap = mc.meglm("y ~ wsm * wsf + (1 | Male) + (1 | Female)", data=sal2,
                       family="bernoulli")
    re, modes = fit.random_effects(), lap.random_effects(kind="mode")
    assert re.loc["F"].index.tolist() == modes.loc["Female"].index.astype(str).tolist()
    ours = np.r_[re.loc["F", "_cons"], re.loc["M", "_cons"]]
    laplace = np.r_[modes.loc["Female", "_cons"], modes.loc["Male", "_cons"]]
    assert np.corrcoef(ours, laplace)[0, 1] > 0.99                             # seen 0.9988
    mcse = re["mcse(_cons)"]
    assert (mcse > 0).all() and mcse.max() < 0.1 * re["se(_cons)"].min()       # seen 0.013, 0.83
