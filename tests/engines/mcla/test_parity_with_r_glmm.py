"""mcglmm's MCLA against R glmm 1.4.5 on glmm's own draws (tests/engines/mcla/reference).

Given glmm's PQL output (beta*, nu*, u*) and its 1002 draws, the MCLA objective is
fully determined, so agreement is to rounding error, not Monte Carlo error.
"""
import numpy as np
import pytest

import mcglmm as mc
from mcglmm.design import glmm_design
from mcglmm.engines.mcla import MCLAObjective, mc_vcov
from mcglmm.engines.mcla.sampler import build_sampler


def _objective(ref, umat, salamander):
    design = glmm_design("Mate ~ 0 + Cross", ["0 + Female", "0 + Male"], salamander,
                         mc.bernoulli_glmm, ["F", "M"])
    inputs = mc.SamplerInputs(beta=np.array(ref["beta_pql"]), nu=np.array(ref["nu_pql"]),
                              u=np.array(ref["u_star"]), umat=umat)
    sampler = build_sampler(design, mc.bernoulli_glmm, inputs, ref["pvec"], ref["zeta"])
    return design, MCLAObjective.build(design, mc.bernoulli_glmm, umat, sampler.logpdf(umat))


def test_design_columns_follow_glmm_order(glmm_reference, salamander):
    ref, umat = glmm_reference
    design, _ = _objective(ref, umat, salamander)
    # glmm names Z's columns Female10 ...; patsy names them Female[10] ...
    assert [n.replace("[", "").replace("]", "") for n in design.z_names] == ref["z_columns"]
    assert [n.replace("[", "").replace("]", "") for n in design.x_names] == ref["x_columns"]


def test_objective_at_glmm_mcmle_matches_glmm(glmm_reference, salamander):
    ref, umat = glmm_reference
    _, objective = _objective(ref, umat, salamander)
    theta = np.r_[list(ref["beta"].values()), list(ref["nu"].values())]
    ev = objective.evaluate(theta)
    # likelihood.value: rel. error seen 4e-16
    assert abs(ev.value - ref["loglike_value"]) / abs(ref["loglike_value"]) < 1e-8
    # likelihood.gradient: abs. error seen 7e-14
    np.testing.assert_allclose(ev.gradient, ref["loglike_gradient"], rtol=0, atol=1e-8)
    # likelihood.hessian: rel. error (max-norm) seen 3e-14
    H = np.array(ref["loglike_hessian"])
    assert np.abs(ev.hessian - H).max() / np.abs(H).max() < 1e-8


def test_mcse_on_glmm_draws_matches_glmm(glmm_reference, salamander):
    ref, umat = glmm_reference
    _, objective = _objective(ref, umat, salamander)
    theta = np.r_[list(ref["beta"].values()), list(ref["nu"].values())]
    ev = objective.evaluate(theta)
    mcse = np.sqrt(np.diag(mc_vcov(ev)))
    # mcse(): rel. error seen 1e-12
    np.testing.assert_allclose(mcse, list(ref["mcse"].values()), rtol=1e-8)


@pytest.fixture(scope="module")
def fit_on_glmm_draws(salamander_model, salamander, glmm_sampler):
    return mc.glmm(**salamander_model, data=salamander, sampler=glmm_sampler, debug=True)


def test_glmm_on_glmm_draws_returns_glmm_mcmle(fit_on_glmm_draws, glmm_reference):
    ref, _ = glmm_reference
    fit = fit_on_glmm_draws
    assert fit.trust_converged
    # beta, nu: abs. error seen 2e-7 (glmm's own trust stops within ~1e-7 of the optimum)
    np.testing.assert_allclose(fit.coef().to_numpy(), list(ref["beta"].values()), atol=1e-5)
    np.testing.assert_allclose(fit.varcomps().to_numpy(), list(ref["nu"].values()), atol=1e-5)
    assert list(fit.coef().index) == ["Cross[R/R]", "Cross[R/W]", "Cross[W/R]", "Cross[W/W]"]
    assert list(fit.varcomps().index) == ["F", "M"]
    assert fit.m == 1002


def test_se_and_confint_on_glmm_draws_match_glmm(fit_on_glmm_draws, glmm_reference):
    ref, _ = glmm_reference
    fit = fit_on_glmm_draws
    # se: seen 1e-7
    np.testing.assert_allclose(fit.se().to_numpy(), list(ref["se"].values()), atol=1e-5)
    ci = fit.confint()
    assert list(ci.columns) == ["0.025", "0.975"]
    np.testing.assert_allclose(ci.to_numpy(), [ref["confint_95"][str(i)] for i in range(1, 7)],
                               atol=1e-5)
    np.testing.assert_allclose(fit.mcse().to_numpy(), list(ref["mcse"].values()), rtol=1e-3)


def test_trust_path_starts_like_glmm(fit_on_glmm_draws, glmm_reference):
    """glmm's trust rejected its first two steps from the PQL start (radius 10 then 2.5)."""
    ref, _ = glmm_reference
    path = fit_on_glmm_draws.debug["trust_path"]
    assert [s.accepted for s in path[:3]] == [False, False, True]
    argpath = np.array(ref["trust_argpath"]).reshape(6, -1).T
    np.testing.assert_allclose(path[0].argument, argpath[0], rtol=1e-12)
