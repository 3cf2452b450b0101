"""The two engines check each other on a model both can fit.

Booth & Hobert's logit-normal data (one random intercept per level of z1): 30-point
adaptive Gauss-Hermite is exact here to far more digits than Monte Carlo can see,
so the MCMLE must lie within a few MCSE of it.  Seen with m = 10^4, seed 1 (default
per-block method, 100 blocks of one): |difference| / MCSE = 1.26 and 1.08, smallest
block ESS 9583; the log likelihoods differ by 0.0025 (R glmm's joint method: 1.04 and
1.15, ESS 3227, 0.009).
"""
import warnings

import numpy as np
import pytest

import mcglmm as mc


@pytest.fixture(scope="module")
def booth_hobert():
    return mc.datasets.load("BoothHobert")


def test_mcla_mcmle_within_four_mcse_of_adaptive_quadrature(booth_hobert):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exact = mc.meglm("y ~ 0 + x1 + (1 | z1)", data=booth_hobert, family="bernoulli",
                         intpoints=30)
        fit = mc.glmm("y ~ 0 + x1", "0 + z1", ["z1"], booth_hobert, mc.bernoulli_glmm,
                      m=10_000, seed=1, n_jobs=2)
    assert fit.trust_converged and fit.ess.min() > 9000
    quadrature = np.asarray(exact.b)
    gap = np.abs(fit.estimates().to_numpy() - quadrature) / fit.mcse().to_numpy()
    assert np.all(gap < 4), gap
    assert abs(fit.loglik() - exact.ll) < 0.01
