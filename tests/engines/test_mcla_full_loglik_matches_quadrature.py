"""The MCLA's full log likelihood (kernel + the family's data constant, ``GLMMResults.llf``)
agrees with meglm's adaptive quadrature at the same parameter, within its Monte Carlo error.

R glmm's ``likelihood.value`` is the kernel sum_i w_i (y_i eta_i - c(eta_i)) integrated over
u: it lacks sum_i w_i log C(n_i, y_i) (binomial) or -sum_i w_i log y_i! (Poisson), which
meglm (as Stata) includes.  At a fixed theta the MCLA value ell_m = log mean_k exp(b_k) has
Monte Carlo standard error about sqrt(1/ESS - 1/m) (delta method for the log of a mean).
Seen with m = 10^5, seed 1 (AGHQ with 30 points as the reference):
cbpp binomial: MCLA -91.99986, AGHQ -91.99844, MC se 0.0045 (0.3 se; kernel -277.48);
simulated Poisson: MCLA -154.0964, AGHQ -154.0549, MC se 0.036 (1.1 se; kernel -32.54).
"""
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mcglmm as mc
from mcglmm.api.meglm import build_model
from mcglmm.design import glmm_design
from mcglmm.engines.mcla import MCLAObjective
from mcglmm.engines.quadrature.laplace import curvature_adapt
from mcglmm.engines.quadrature.nested import aghq
from mcglmm.engines.mcla.sampler import SamplerInputs, build_sampler
from mcglmm.model.families import get_family
from mcglmm.engines.mcla.pql import pql_start

M = 100_000


def _poisson_data():
    """12 groups of 8: log mu = 0.5 + 0.3 x + u_g, sd(u) = 0.6."""
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(12), 8)
    x = rng.normal(size=len(g))
    y = rng.poisson(np.exp(0.5 + 0.3 * x + rng.normal(0, 0.6, 12)[g]))
    return pd.DataFrame({"y": y, "x": x, "g": pd.Categorical(g)})


CASES = {
    "cbpp-binomial": (lambda: mc.datasets.load("cbpp"),
                      "cbind(incidence, size - incidence) ~ period", "0 + herd", mc.binomial_glmm,
                      "cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial",
                      [-1.4, -1.0, -1.1, -1.6], 0.45),
    "simulated-poisson": (_poisson_data, "y ~ x", "0 + g", mc.poisson_glmm, "y ~ x + (1 | g)",
                          "poisson", [0.5, 0.3], 0.36),
}


def _mcla(data, fixed, random, family, beta, nu):
    """(kernel ell_m, full log likelihood, MC standard error) at theta = (beta, nu), with
    R glmm's sampler centred at PQL."""
    design = glmm_design(fixed, random, data, family, ["v"])
    pql = pql_start(design, family)
    sampler = build_sampler(design, family, SamplerInputs(pql.beta, pql.nu, pql.u),
                            [1 / 3] * 3, 5)
    U, logq, _ = sampler.draw(M, 1)
    ev = MCLAObjective.build(design, family, U, logq).evaluate(np.r_[beta, nu])
    full = ev.value + family.data_constant(design.y, design.ntrials, design.weights)
    return ev.value, full, np.sqrt(1.0 / ev.ess - 1.0 / M)


def _aghq(data, formula, family, beta, nu, k=30):
    """meglm's log likelihood at beta and log sd = log(nu) / 2, AGHQ at the mode's curvature."""
    model, _ = build_model(formula, data, get_family(family), "independent", False, None,
                           None, None)
    theta = np.r_[beta, 0.5 * np.log(nu)]
    adapt, _ = curvature_adapt(model, theta)
    return aghq(model, theta, adapt, k).value


@pytest.mark.parametrize("case", list(CASES))
def test_mcla_full_loglik_agrees_with_quadrature(case):
    load, fixed, random, family, formula, name, beta, nu = CASES[case]
    data = load()
    kernel, full, se = _mcla(data, fixed, random, family, beta, nu)
    exact = _aghq(data, formula, name, beta, nu)
    assert abs(full - exact) < 4 * se, (full, exact, se)               # seen 0.3 and 1.1 se
    assert abs(kernel - exact) > 100 * se                               # the kernel is not it
    assert abs(_aghq(data, formula, name, beta, nu, k=20) - exact) < 1e-8   # AGHQ converged


def test_llf_adds_the_data_constant_to_the_kernel():
    """GLMMResults.llf - likelihood_value = sum_i log C(n_i, y_i) on cbpp (scipy's binom)."""
    cbpp = mc.datasets.load("cbpp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # iterlim=3: not converged
        fit = mc.glmm("cbind(incidence, size - incidence) ~ period", "0 + herd", ["herd"], cbpp,
                      mc.binomial_glmm, m=100, seed=1, iterlim=3)
    n, y = cbpp["size"].to_numpy(), cbpp["incidence"].to_numpy()
    log_choose = stats.binom.logpmf(y, n, 0.5) - n * np.log(0.5)
    assert fit.llf - fit.likelihood_value == pytest.approx(log_choose.sum(), rel=1e-12)
