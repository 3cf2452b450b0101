"""Every meglm family: simulated responses average to the fitted marginal mean; residuals."""
import warnings

import numpy as np
import pandas as pd
import pytest

import mcglmm as mc

FAMILIES = [("gaussian", "identity", {}), ("bernoulli", "probit", {}),
            ("binomial", "cloglog", {"trials": 4}), ("poisson", "log", {}),
            ("nbinomial", "log", {}), ("nbinomial", "log", {"dispersion": "constant"}),
            ("gamma", "log", {})]


def _data(family, seed=3):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(30), 8)
    x = rng.normal(size=240)
    eta = 0.2 + 0.4 * x + 0.5 * rng.normal(size=30)[g]
    mu = np.exp(eta)
    y = {"gaussian": eta + rng.normal(size=240), "bernoulli": rng.random(240) < 0.5 + 0.1 * x,
         "binomial": rng.binomial(4, 1 / (1 + np.exp(-eta))), "poisson": rng.poisson(mu),
         "nbinomial": rng.negative_binomial(2, 2 / (2 + mu)),
         "gamma": rng.gamma(2.0, mu / 2.0)}[family]
    return pd.DataFrame({"y": np.asarray(y, dtype=float), "x": x, "g": g})


@pytest.mark.parametrize("family, link, extra", FAMILIES)
def test_simulated_mean_matches_the_marginal_mean(family, link, extra):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mc.meglm("y ~ x + (1 | g)", data=_data(family), family=family, link=link,
                       **extra)
    sims = fit.simulate(300, seed=8)
    per_sim = sims.mean(axis=0)
    gap = per_sim.mean() - fit.predict(conditional=False).mean()
    assert abs(gap) < 3 * per_sim.std(ddof=1) / np.sqrt(300)
    kinds = ("response", "pearson", "anscombe") + (("deviance",) if not extra.get("dispersion")
                                                   else ())
    for kind in kinds:
        r = fit.residuals(kind)
        assert np.isfinite(r).all() and len(r) == 240
        assert (np.sign(r) == np.sign(fit.residuals("response"))).all()
    if extra.get("dispersion"):
        with pytest.raises(ValueError, match="no deviance"):
            fit.residuals("deviance")


def test_ordinal_simulation_and_refusals():
    d = _data("gaussian").assign(y=lambda t: pd.cut(t["y"], [-np.inf, -0.5, 0.5, np.inf],
                                                    labels=False))
    fit = mc.meglm("y ~ x + (1 | g)", data=d, family="ordinal")
    sims = fit.simulate(200, seed=1)
    freq = np.stack([(sims == k).mean() for k in (0, 1, 2)])
    observed = np.bincount(d["y"], minlength=3) / len(d)
    assert np.max(np.abs(freq - observed)) < 0.05
    assert len(fit.predict(which="eta")) == 240 and len(fit.random_effects()) == 30
    with pytest.raises(ValueError, match="which must be 'eta' for an ordinal model"):
        fit.predict()
    with pytest.raises(ValueError, match="not ordinal"):
        fit.residuals("pearson")


def test_binomial_counts_predict_n_times_p_on_new_data():
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(20), 6)
    n = rng.integers(1, 9, size=120)
    x = rng.normal(size=120)
    s = rng.binomial(n, 1 / (1 + np.exp(-(0.3 * x + 0.5 * rng.normal(size=20)[g]))))
    d = pd.DataFrame({"s": s, "f": n - s, "x": x, "g": g})
    fit = mc.meglm("cbind(s, f) ~ x + (1 | g)", data=d, family="binomial")
    p = fit.predict(d.head(4), which="fixed") / n[:4]
    b = fit.b
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-(b["s:_cons"] + b["s:x"] * x[:4]))),
                               rtol=1e-12)
    np.testing.assert_allclose(fit.predict(d.head(4).drop(columns=["s", "f"]), which="fixed"),
                               p, rtol=1e-12)       # without the response: a mean per trial
