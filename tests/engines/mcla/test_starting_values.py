"""PQL starting values, do_pql=False and par_init follow R glmm's rules."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import mcglmm as mc
from mcglmm.design import glmm_design
from mcglmm.engines.mcla.pql import pql_start
from mcglmm.engines.modes import conditional_mode
from mcglmm.design.gram import WeightedGram


@pytest.fixture(scope="module")
def design(salamander):
    return glmm_design("Mate ~ 0 + Cross", ["0 + Female", "0 + Male"], salamander,
                       mc.bernoulli_glmm, ["F", "M"])


def _outer(design, sigma):
    a = sigma[design.vc_index]
    mode = conditional_mode(design, mc.bernoulli_glmm, WeightedGram.build(design.Z), a,
                            np.zeros(design.p), np.ones(design.q), free_beta=True)
    assert mode.converged
    s, eta = mode.s, mode.eta
    W = design.weights * mc.bernoulli_glmm.variance(eta)
    M = (design.Z @ sp.diags(a)).T @ sp.diags(W) @ (design.Z @ sp.diags(a)) + sp.identity(design.q)
    logdet = np.linalg.slogdet(M.toarray())[1]
    loglik = design.weights @ mc.bernoulli_glmm.loglik_terms(design.y, eta, design.ntrials)
    return 0.5 * logdet + 0.5 * s @ s - loglik


def test_pql_is_a_stationary_point_of_its_criterion(design):
    start = pql_start(design, mc.bernoulli_glmm)
    F0 = _outer(design, start.sigma)
    for e in np.eye(design.T):
        assert F0 <= _outer(design, start.sigma + 1e-3 * e) + 1e-9
        assert F0 <= _outer(design, start.sigma - 1e-3 * e) + 1e-9
    np.testing.assert_allclose(start.u, start.sigma[design.vc_index] *
                               conditional_mode(design, mc.bernoulli_glmm,
                                                WeightedGram.build(design.Z),
                                                start.sigma[design.vc_index], np.zeros(design.p),
                                                np.ones(design.q), free_beta=True).s, atol=1e-6)


def test_pql_is_near_glmm_pql(design, glmm_reference):
    """Same method, one difference: glmm's penalty term uses the previous sigma's mode.

    Seen: beta within 0.021 of glmm's, nu_F 1.093 against 1.089, nu_M 0.965 against 1.142.
    """
    ref, _ = glmm_reference
    start = pql_start(design, mc.bernoulli_glmm)
    np.testing.assert_allclose(start.beta, ref["beta_pql"], atol=0.03)
    np.testing.assert_allclose(start.nu, ref["nu_pql"], atol=0.2)


def _quiet_fit(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mc.glmm(**kwargs)


def test_do_pql_false_centres_sampler_at_zero_and_one(salamander_model, salamander):
    fit = _quiet_fit(**salamander_model, data=salamander, m=200, seed=1, do_pql=False,
                     iterlim=1)
    np.testing.assert_array_equal(fit.beta_pql, np.zeros(4))
    np.testing.assert_array_equal(fit.nu_pql, np.ones(2))
    np.testing.assert_array_equal(fit.u_pql, np.zeros(120))


@pytest.mark.parametrize("method", ["glmm", "blocks"])
def test_par_init_skips_pql_and_starts_trust_there(salamander_model, salamander, method):
    par = [1.0, 0.3, -1.9, 0.9, 1.3, 1.2]
    fit = _quiet_fit(**salamander_model, data=salamander, m=200, seed=1, par_init=par,
                     debug=True, iterlim=2, method=method)
    np.testing.assert_array_equal(fit.beta_pql, par[:4])
    np.testing.assert_array_equal(fit.nu_pql, par[4:])
    np.testing.assert_array_equal(fit.u_pql, np.zeros(120))
    first_start = fit.debug["trust_argpath"][0] if method == "glmm" else fit.rounds[0]["start"]
    np.testing.assert_array_equal(first_start, par)
