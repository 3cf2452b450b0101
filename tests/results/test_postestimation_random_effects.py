"""Predicted random effects: closed forms, brute-force integrals and direct maximisation."""
import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize
from scipy.special import log_expit

import mcglmm as mc

CONTRACEPTION_II = "c_use ~ C(urban) + age + C(children) + (1 + C(urban) | district)"


def test_pig_ebmeans_are_the_blups_with_their_conditional_sds(pig, pig_fit):
    # Gaussian random intercept: u_j | y ~ N(r_j mean_j(y - X b), r_j s_e^2 / n_j),
    # r_j = s_u^2 / (s_u^2 + s_e^2 / n_j).
    b = pig_fit.b
    s2u, s2e = b["id:var(_cons)"], b["var(e.weight)"]
    resid = pig["weight"] - b["weight:_cons"] - b["weight:week"] * pig["week"]
    groups = resid.groupby(pig["id"], sort=True)
    n, mean = groups.size().to_numpy(), groups.mean().to_numpy()
    r = s2u / (s2u + s2e / n)
    blup, sd = r * mean, np.sqrt(r * s2e / n)
    re = pig_fit.random_effects()
    np.testing.assert_allclose(re["_cons"].to_numpy()[:5], blup[:5], rtol=1e-4)   # seen 5e-12
    np.testing.assert_allclose(re["se(_cons)"].to_numpy()[:5], sd[:5], rtol=1e-4)  # seen 4e-11
    np.testing.assert_allclose(re["_cons"], blup, rtol=1e-8, atol=1e-10)
    modes = pig_fit.random_effects(kind="mode")
    np.testing.assert_allclose(modes["_cons"], blup, rtol=1e-8, atol=1e-10)     # mode = mean
    np.testing.assert_allclose(modes["se(_cons)"], sd, rtol=1e-8)


def test_frame_is_indexed_by_level_and_group(pig_fit):
    re = pig_fit.random_effects(se=False)
    assert list(re.columns) == ["_cons"]
    assert re.index.names == ["level", "group"]
    assert re.index.get_level_values("level").unique().tolist() == ["id"]
    assert re.index.get_level_values("group").tolist()[:3] == [1, 2, 3]
    with pytest.raises(ValueError, match="kind must be one of"):
        pig_fit.random_effects(kind="median")


def _district_posteriors(fit, data):
    """Per district: log posterior of u (unnormalised) at the estimate."""
    eta = fit.predict(which="eta", conditional=False).to_numpy()
    sd = np.sqrt(fit.b["district:var(_cons)"])
    y = data["c_use"].to_numpy()
    codes = data.groupby("district", sort=True, observed=True).ngroup().to_numpy()
    for g in range(codes.max() + 1):
        e, yy = eta[codes == g], y[codes == g]
        yield lambda u, e=e, yy=yy: (np.sum(yy * log_expit(e + u) + (1 - yy) * log_expit(-e - u))
                                     - 0.5 * u * u / sd ** 2)


def test_contraception_ebmeans_equal_brute_force_integrals(contraception_i, bangladesh):
    re = contraception_i.random_effects()
    modes = contraception_i.random_effects(kind="mode")
    assert len(re) == 60
    means, sds, peaks, curv_sd = [], [], [], []
    for log_post in _district_posteriors(contraception_i, bangladesh):
        peak = optimize.minimize_scalar(lambda u: -log_post(u), bracket=(-1.0, 1.0),
                                        tol=1e-12).x
        top = log_post(peak)
        moment = [integrate.quad(lambda u, k=k: u ** k * np.exp(log_post(u) - top),
                                 -np.inf, np.inf, epsabs=1e-13, epsrel=1e-12)[0] for k in (0, 1, 2)]
        means.append(moment[1] / moment[0])
        sds.append(np.sqrt(moment[2] / moment[0] - means[-1] ** 2))
        peaks.append(peak)
        h = 1e-4
        curv_sd.append(h / np.sqrt(2 * top - log_post(peak + h) - log_post(peak - h)))
    np.testing.assert_allclose(re["_cons"], means, rtol=0, atol=1e-6)         # seen 4.2e-7
    np.testing.assert_allclose(re["se(_cons)"], sds, rtol=0, atol=3e-6)       # seen 1.2e-6
    np.testing.assert_allclose(modes["_cons"], peaks, rtol=0, atol=1e-7)      # seen 1.9e-8
    np.testing.assert_allclose(modes["se(_cons)"], curv_sd, rtol=0, atol=2e-7)  # seen 4e-8


@pytest.mark.filterwarnings("ignore::mcglmm.ConvergenceWarning")   # iterate=0: evaluation only
def test_two_dimensional_effects_agree_with_more_points(contraception_ii, bangladesh):
    """Stata's example 2: 7-point EB means and SDs agree with 15 points at the same theta."""
    re = contraception_ii.random_effects()
    assert list(re.columns) == ["_cons", "1.urban", "se(_cons)", "se(1.urban)"]
    fine = mc.meglm(CONTRACEPTION_II, data=bangladesh, family="bernoulli",
                    from_=contraception_ii.theta, iterate=0, intpoints=15)
    np.testing.assert_allclose(fine.random_effects().to_numpy(), re.to_numpy(),
                               atol=5e-6)                                      # seen 1.8e-6


def test_three_level_posterior_sds_chain_through_the_ancestors():
    """tvsfp: a class's posterior variance includes its school's (closed form for Gaussian)."""
    rng = np.random.default_rng(3)
    school = np.repeat(np.arange(6), 20)
    klass = np.repeat(np.arange(24), 5)
    y = rng.normal(size=120) + rng.normal(size=6)[school] + 0.7 * rng.normal(size=24)[klass]
    d = pd.DataFrame({"y": y, "school": school, "klass": klass})
    fit = mc.meglm("y ~ 1 + (1 | school/klass)", data=d)
    re = fit.random_effects()
    # Exact Gaussian posterior of all 30 effects jointly.
    b = fit.b
    s2s, s2c, s2e = b["school:var(_cons)"], b["school>klass:var(_cons)"], b["var(e.y)"]
    Z = np.hstack([np.eye(6)[school], np.eye(24)[klass]])
    prec = Z.T @ Z / s2e + np.diag(np.r_[np.full(6, 1 / s2s), np.full(24, 1 / s2c)])
    cov = np.linalg.inv(prec)
    mean = cov @ Z.T @ (y - b["y:_cons"]) / s2e
    np.testing.assert_allclose(re["_cons"], mean, atol=1e-8)                   # seen 1e-14
    np.testing.assert_allclose(re["se(_cons)"], np.sqrt(np.diag(cov)), rtol=1e-7)  # seen 2e-9


def test_frequency_weights_give_the_effects_of_the_expanded_data():
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(10), 5)
    x = rng.normal(size=50)
    y = (rng.random(50) < 1 / (1 + np.exp(-(x + rng.normal(size=10)[g])))).astype(float)
    d = pd.DataFrame({"y": y, "x": x, "g": g, "w": rng.integers(1, 4, size=50)})
    weighted = mc.meglm("y ~ x + (1 | g)", data=d, family="bernoulli", fweight="w")
    expanded = mc.meglm("y ~ x + (1 | g)", data=d.loc[d.index.repeat(d["w"])],
                        family="bernoulli")
    for kind in ("mean", "mode"):
        np.testing.assert_allclose(weighted.random_effects(kind).to_numpy(),
                                   expanded.random_effects(kind).to_numpy(),
                                   atol=1e-9)                                  # seen 2e-15


def test_nested_new_data_uses_the_known_school_and_integrates_the_new_class():
    rng = np.random.default_rng(4)
    school, klass = np.repeat(np.arange(5), 80), np.repeat(np.arange(20), 20)
    eta = -0.2 + rng.normal(size=5)[school] + 1.2 * rng.normal(size=20)[klass]
    d = pd.DataFrame({"y": (rng.random(400) < 1 / (1 + np.exp(-eta))).astype(float),
                      "school": school, "klass": klass})
    fit = mc.meglm("y ~ 1 + (1 | school/klass)", data=d, family="bernoulli")
    re = fit.random_effects()["_cons"]
    new = pd.DataFrame({"school": [2, 2], "klass": [8, 99]})     # class 8 is in school 2
    u_school, u_class = re.loc[("school", 2)], re.loc[("school>klass", "2>8")]
    b0 = fit.b["y:_cons"]
    got = fit.predict(new, which="eta")
    np.testing.assert_allclose(got, [b0 + u_school + u_class, b0 + u_school], rtol=1e-12)
    s2 = fit.b["school>klass:var(_cons)"]
    z, w = np.polynomial.hermite_e.hermegauss(60)
    want = (w / w.sum()) @ (1 / (1 + np.exp(-(b0 + u_school + np.sqrt(s2) * z))))
    marginal = fit.predict(new, new_groups="marginal")
    assert marginal.iloc[1] == pytest.approx(want, abs=1e-10)
    assert marginal.iloc[0] == pytest.approx(1 / (1 + np.exp(-got.iloc[0])), rel=1e-12)
