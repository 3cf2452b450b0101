"""lr2/lr3 fits get the same postestimation as meglm ghermite (same model, same rule)."""
import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.special import expit, log_expit

import mcglmm as mc
from mcglmm.engines.quadrature.nested import aghq


def _nested(seed, n3):
    rng = np.random.default_rng(seed)
    moms = rng.integers(2, 6, size=n3)
    comm_of_mom = np.repeat(np.arange(n3), moms)
    kids = rng.integers(1, 5, size=len(comm_of_mom))
    mom = np.repeat(np.arange(len(comm_of_mom)), kids)
    x = rng.normal(size=len(mom))
    eta = (-0.3 + 0.8 * x + 1.2 * rng.normal(size=len(comm_of_mom))[mom]
           + 0.7 * rng.normal(size=n3)[comm_of_mom[mom]])
    return pd.DataFrame({"y": (rng.uniform(size=len(mom)) < expit(eta)).astype(float), "x": x,
                         "mom": mom + 100, "comm": comm_of_mom[mom] + 10})


@pytest.fixture(scope="module")
def data3():
    return _nested(7, 40)


def test_lr3_model_reproduces_its_log_likelihood(data3):
    fit = mc.lr3("y ~ x", level2="mom", level3="comm", data=data3, quad_pts=8)
    src = fit.post
    assert aghq(src.model, src.theta, None, 8).value == pytest.approx(fit.loglik, rel=1e-12)
    re = fit.random_effects()
    assert re.index.get_level_values("level").unique().tolist() == ["comm", "comm>mom"]
    assert re.loc["comm"].index.tolist()[:3] == [10, 11, 12]
    assert len(re.loc["comm>mom"]) == fit.n_units[1]
    assert fit.aic == pytest.approx(-2 * fit.loglik + 2 * 4)
    assert fit.estat_group()["groups"].tolist() == [40, fit.n_units[1]]


def test_lr2_posterior_means_equal_brute_force_with_many_points(data3):
    fit = mc.lr2("y ~ x", id="mom", data=data3, quad_pts=40)
    re = fit.random_effects()["_cons"].to_numpy()
    b0, b1 = fit.theta[:2]
    sigma = np.exp(fit.theta[2])
    got = []
    for g, rows in list(data3.groupby("mom", sort=True))[:15]:
        eta, y = b0 + b1 * rows["x"].to_numpy(), rows["y"].to_numpy()

        def post(u, k, eta=eta, y=y):
            ll = np.sum(y * log_expit(eta + u) + (1 - y) * log_expit(-eta - u))
            return u ** k * np.exp(ll - 0.5 * (u / sigma) ** 2)
        num = integrate.quad(post, -np.inf, np.inf, args=(1,), epsabs=1e-13)[0]
        got.append(num / integrate.quad(post, -np.inf, np.inf, args=(0,), epsabs=1e-13)[0])
    np.testing.assert_allclose(re[:15], got, atol=1e-6)


def test_lr_predictions_on_new_data(data3):
    fit = mc.lr2("y ~ x", id="mom", data=data3)
    new = data3.head(4).assign(mom=-1)
    b0, b1 = fit.theta[:2]
    np.testing.assert_allclose(fit.predict(new), expit(b0 + b1 * new["x"]), rtol=1e-12)
    assert fit.simulate(3, seed=1).shape == (len(data3), 3)
    big = mc.lr3("y ~ x", level2="mom", level3="comm", data=data3)
    test = mc.lrtest(fit, big)
    assert test.df == 1 and test.chi2 == pytest.approx(2 * (big.loglik - fit.loglik), rel=1e-12)
    assert test.p_mixture == pytest.approx(test.p / 2, rel=1e-12) and "boundary" in test.note
