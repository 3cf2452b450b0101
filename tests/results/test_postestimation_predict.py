"""predict, residuals and simulate against hand computations and numerical integrals."""
import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.special import expit

import mcglmm as mc
from mcglmm.results.postestimation import MissingCovariatesWarning


def _fixed_xb(fit, data):
    """x'b of Contraception's fixed part, written out by hand."""
    b = fit.b
    return (b["c_use:_cons"] + b["c_use:1.urban"] * data["urban"] + b["c_use:age"] * data["age"]
            + sum(b[f"c_use:{k}.children"] * (data["children"] == k) for k in (1, 2, 3)))


def test_marginal_prediction_for_a_new_group_is_the_integral_of_the_mean(
        contraception_i, bangladesh):
    new = bangladesh.head(12).assign(district=999)
    sd = np.sqrt(contraception_i.b["district:var(_cons)"])
    xb = _fixed_xb(contraception_i, new).to_numpy()
    want = [integrate.quad(lambda u, e=e: expit(e + u) * np.exp(-0.5 * (u / sd) ** 2)
                           / (sd * np.sqrt(2 * np.pi)), -np.inf, np.inf, epsabs=1e-13)[0]
            for e in xb]
    got = contraception_i.predict(new, new_groups="marginal")
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)                   # seen 3e-16
    zero = contraception_i.predict(new, new_groups="zero")
    np.testing.assert_allclose(zero, expit(xb), rtol=1e-12)
    np.testing.assert_allclose(zero, contraception_i.predict(new, which="fixed"), rtol=1e-14)
    population = contraception_i.predict(bangladesh.head(12), conditional=False)
    np.testing.assert_allclose(population, want, rtol=0, atol=1e-6)


def test_seen_groups_get_their_posterior_means(contraception_i, bangladesh):
    re = contraception_i.random_effects()["_cons"]
    rows = bangladesh.iloc[[0, 500, 1900]]
    u = re.loc["district"].reindex(rows["district"].to_numpy()).to_numpy()
    want = expit(_fixed_xb(contraception_i, rows).to_numpy() + u)
    np.testing.assert_allclose(contraception_i.predict(rows), want, rtol=1e-12)
    np.testing.assert_allclose(contraception_i.predict().iloc[[0, 500, 1900]], want, rtol=1e-12)
    eta = contraception_i.predict(rows, which="eta", kind="mode")
    u_mode = contraception_i.random_effects("mode")["_cons"].loc["district"].reindex(
        rows["district"].to_numpy()).to_numpy()
    np.testing.assert_allclose(eta, _fixed_xb(contraception_i, rows) + u_mode, rtol=1e-12)


def test_delta_method_se_of_the_fixed_part(contraception_i, bangladesh):
    rows = bangladesh.iloc[:5]
    names = ["_cons", "1.urban", "age", "1.children", "2.children", "3.children"]
    labels = [f"c_use:{n}" for n in names]
    X = np.column_stack([np.ones(5), rows["urban"], rows["age"]]
                        + [(rows["children"] == k).astype(float) for k in (1, 2, 3)])
    se_xb = np.sqrt(np.einsum("np,pq,nq->n", X, contraception_i.V.loc[labels, labels], X))
    got = contraception_i.predict(rows, which="fixed", se=True)
    mu = got["fixed"].to_numpy()
    np.testing.assert_allclose(got["se"], mu * (1 - mu) * se_xb, rtol=1e-10)
    np.testing.assert_allclose(contraception_i.predict(rows, which="eta", se=True)["se"], se_xb,
                               rtol=1e-10)


def test_rows_missing_a_covariate_are_nan_and_counted(contraception_i, bangladesh):
    rows = bangladesh.iloc[:6].copy()
    rows.loc[rows.index[2], "age"] = np.nan
    rows.loc[rows.index[4], "district"] = np.nan
    with pytest.warns(MissingCovariatesWarning, match="2 of 6 rows"):
        got = contraception_i.predict(rows)
    assert got.attrs["n_missing"] == 2
    assert np.isnan(got.iloc[[2, 4]]).all() and np.isfinite(got.iloc[[0, 1, 3, 5]]).all()
    np.testing.assert_allclose(got.iloc[[0, 1, 3, 5]],
                               contraception_i.predict().iloc[[0, 1, 3, 5]], rtol=1e-12)
    assert list(got.index) == list(rows.index)


def test_residuals_follow_statas_definitions(contraception_i, bangladesh):
    y = bangladesh["c_use"].to_numpy()
    mu = contraception_i.predict().to_numpy()
    np.testing.assert_allclose(contraception_i.residuals(), y - mu, rtol=1e-12)
    np.testing.assert_allclose(contraception_i.residuals("pearson"),
                               (y - mu) / np.sqrt(mu * (1 - mu)), rtol=1e-12)
    dev = np.where(y == 1, np.sqrt(-2 * np.log(mu)), -np.sqrt(-2 * np.log(1 - mu)))
    np.testing.assert_allclose(contraception_i.residuals("deviance"), dev, rtol=1e-10)

    def A(z):   # integral_0^z t^(-1/3) (1 - t)^(-1/3) dt
        return integrate.quad(lambda t: t ** (-1 / 3) * (1 - t) ** (-1 / 3), 0, z,
                              epsabs=1e-13)[0]
    rows = [0, 1, 2, 3]
    want = [(A(y[i]) - A(mu[i])) / (mu[i] * (1 - mu[i])) ** (1 / 6) for i in rows]
    np.testing.assert_allclose(contraception_i.residuals("anscombe").iloc[rows], want, rtol=1e-8)
    with pytest.raises(ValueError, match="kind must be one of"):
        contraception_i.residuals("studentized")


def test_gaussian_and_poisson_residuals():
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(20), 6)
    x = rng.normal(size=120)
    d = pd.DataFrame({"g": g, "x": x,
                      "y": rng.poisson(np.exp(0.3 + 0.5 * x + 0.4 * rng.normal(size=20)[g]))})
    fit = mc.meglm("y ~ x + (1 | g)", data=d, family="poisson")
    mu, y = fit.predict().to_numpy(), d["y"].to_numpy()
    np.testing.assert_allclose(fit.residuals("pearson"), (y - mu) / np.sqrt(mu), rtol=1e-12)
    np.testing.assert_allclose(fit.residuals("anscombe"),
                               1.5 * (y ** (2 / 3) - mu ** (2 / 3)) / mu ** (1 / 6), rtol=1e-12)
    dev = 2 * (np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / mu), 0) - (y - mu))
    np.testing.assert_allclose(fit.residuals("deviance") ** 2, dev, rtol=1e-10)
    assert (np.sign(fit.residuals("deviance")) == np.sign(y - mu)).all()


def test_simulate_is_reproducible_and_matches_the_marginal_mean(contraception_i):
    a = contraception_i.simulate(200, seed=11)
    b = contraception_i.simulate(200, seed=11)
    assert a.shape == (1934, 200)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, contraception_i.simulate(200, seed=12))
    assert set(np.unique(a)) <= {0.0, 1.0}
    per_sim = a.mean(axis=0)
    mc_se = per_sim.std(ddof=1) / np.sqrt(len(per_sim))
    marginal = contraception_i.predict(conditional=False).mean()
    assert abs(per_sim.mean() - marginal) < 3 * mc_se
    with pytest.raises(ValueError, match="n_sims must be a positive integer"):
        contraception_i.simulate(0)


def test_simulate_gaussian_moments(pig_fit):
    sims = pig_fit.simulate(400, seed=5)
    b = pig_fit.b
    total = b["id:var(_cons)"] + b["var(e.weight)"]
    resid = sims - pig_fit.predict(conditional=False).to_numpy()[:, None]
    per_sim = resid.mean(axis=0)
    assert abs(per_sim.mean()) < 3 * per_sim.std(ddof=1) / np.sqrt(400)
    square = (resid ** 2).mean(axis=0)           # per simulation; E = Var(y_i) = s2u + s2e
    assert abs(square.mean() - total) < 3 * square.std(ddof=1) / np.sqrt(400)


def test_bad_arguments_name_themselves(contraception_i, bangladesh):
    with pytest.raises(ValueError, match="which must be one of"):
        contraception_i.predict(which="probability")
    with pytest.raises(ValueError, match="new_groups must be one of"):
        contraception_i.predict(new_groups="drop")
    with pytest.raises(TypeError, match="data must be a pandas DataFrame"):
        contraception_i.predict(data=[1, 2])
    with pytest.raises(ValueError, match="grouping column 'district'"):
        contraception_i.predict(bangladesh.drop(columns="district"))
