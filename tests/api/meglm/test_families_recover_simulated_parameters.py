"""End-to-end fits of every family on simulated two-level data recover the true parameters.

Each data set has 150 groups of 8 with a random intercept of variance 0.5; estimates must
lie within 4 standard errors of the truth (a check of the whole chain, not of precision).
"""
import numpy as np
import pandas as pd
import pytest

from mcglmm.api.meglm import meglm

G, PER, VAR = 150, 8, 0.5


def _simulate(family, link, seed=7):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), PER)
    x = rng.normal(size=g.size)
    eta = 0.4 + 0.6 * x + rng.normal(0, np.sqrt(VAR), G)[g]
    if family == "gaussian":
        mu = eta if link == "identity" else np.exp(eta)
        y = mu + rng.normal(0, 0.8, g.size)
    elif family == "bernoulli":
        p = {"logit": 1 / (1 + np.exp(-eta)), "probit": __import__("scipy").stats.norm.cdf(eta),
             "cloglog": 1 - np.exp(-np.exp(eta))}[link]
        y = (rng.uniform(size=g.size) < p).astype(float)
    elif family == "poisson":
        y = rng.poisson(np.exp(eta))
    elif family == "gamma":
        y = rng.gamma(2.0, np.exp(eta) / 2.0)             # shape 2: log scale = log(1/2)
    elif family == "nbinomial":
        mu = np.exp(eta)
        y = rng.negative_binomial(2.0, 2.0 / (2.0 + mu))  # alpha = 1/2
    else:
        y = np.digitize(eta - 0.4 + rng.logistic(size=g.size), [-0.5, 0.5, 1.5])
    return pd.DataFrame({"y": y, "x": x, "g": g})


CASES = [("gaussian", "identity", {"var(e.y)": 0.64}), ("gaussian", "log", {"var(e.y)": 0.64}),
         ("bernoulli", "logit", {}), ("bernoulli", "probit", {}), ("bernoulli", "cloglog", {}),
         ("poisson", "log", {}), ("gamma", "log", {"/:logs": np.log(0.5)}),
         ("nbinomial", "log", {"/:lnalpha": np.log(0.5)}), ("ordinal", "logit", {})]


@pytest.mark.parametrize("family,link,aux", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_family_recovers_truth(family, link, aux):
    fit = meglm("y ~ x + (1 | g)", data=_simulate(family, link), family=family, link=link)
    assert fit.converged
    b, se = fit.table.loc["b"], fit.table.loc["se"]
    truth = {"y:x": 0.6, "g:var(_cons)": VAR, **aux}
    if family != "ordinal":
        truth["y:_cons"] = 0.4
    for name, value in truth.items():
        assert abs(b[name] - value) < 4 * se[name], (name, b[name], se[name])


def test_nbinomial_constant_dispersion_runs():
    fit = meglm("y ~ x + (1 | g)", data=_simulate("nbinomial", "log"), family="nbinomial",
                dispersion="constant")
    assert fit.converged and "/:lndelta" in fit.table.columns
