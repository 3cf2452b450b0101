"""The vignette's fit with mcglmm's own draws: m = 10^4 converges to a stationary point."""
import warnings

import numpy as np
import pytest

import mcglmm as mc


@pytest.mark.slow
def test_salamander_m10000_converges(salamander_model, salamander):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mc.MonteCarloWarning)
        fit = mc.glmm(**salamander_model, data=salamander, m=10_000, seed=1234, n_jobs=2)
    assert fit.trust_converged
    assert np.abs(fit.likelihood_gradient).max() < 1e-6
    assert np.all(np.linalg.eigvalsh(fit.likelihood_hessian) < 0)
    assert fit.m == 10_000 and fit.umat.shape == (10_000, 120)
