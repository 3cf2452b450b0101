"""The vectorised MCLA against a slow, literal transcription of its formulas (one draw at a time).

The oracle computes, for each draw k separately, b_k, g_k and H_k from the
definitions in engines/mcla/objective.py's docstring, then the log-mean-exp, the weighted
gradient and the Hessian sum_k v_k (H_k + g_k g_k') - grad grad'.
"""
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

import mcglmm as mc
from mcglmm.design import glmm_design
from mcglmm.engines.mcla import MCLAObjective
from mcglmm.engines.mcla.sampler import SamplerInputs, build_sampler


def _small_problem(family=mc.bernoulli_glmm, m=60, seed=5):
    rng = np.random.default_rng(seed)
    n = 40
    data = pd.DataFrame({"x": rng.standard_normal(n), "g": pd.Categorical(rng.integers(0, 6, n)),
                         "h": pd.Categorical(rng.integers(0, 4, n))})
    data["y"] = rng.integers(0, 2, n) if family is mc.bernoulli_glmm else rng.poisson(1.5, n)
    design = glmm_design("y ~ x", ["0 + g", "0 + h"], data, family, ["g", "h"],
                         weights=rng.uniform(0.5, 2.0, n))
    start = SamplerInputs(np.zeros(2), np.ones(2), np.zeros(design.q))
    U, logq, _ = build_sampler(design, family, start, [1 / 3] * 3, 5).draw(m, seed)
    return design, family, U, logq


def _oracle(design, family, U, logq, theta):
    p, X, Z, w, y = design.p, design.X, design.Z.toarray(), design.weights, design.y
    beta, nu = theta[:p], theta[p:]
    b, G, H = [], [], []
    for u, lq in zip(U, logq):
        eta = X @ beta + Z @ u
        nu_j = nu[design.vc_index]
        log_fu = -0.5 * np.sum(np.log(2 * np.pi * nu_j) + u ** 2 / nu_j)
        b.append(np.sum(w * (y * eta - family.cumulant(eta))) + log_fu - lq)
        ss = np.bincount(design.vc_index, weights=u ** 2)
        G.append(np.r_[X.T @ (w * (y - family.mean(eta))), -0.5 * design.n_random / nu + 0.5 * ss / nu ** 2])
        Hk = np.zeros((len(theta), len(theta)))
        Hk[:p, :p] = -(X.T * (w * family.variance(eta))) @ X
        Hk[p:, p:] = np.diag(0.5 * design.n_random / nu ** 2 - ss / nu ** 3)
        H.append(Hk)
    b, G = np.array(b), np.array(G)
    v = np.exp(b - logsumexp(b))
    grad = v @ G
    hess = sum(vk * (Hk + np.outer(g, g)) for vk, Hk, g in zip(v, H, G)) - np.outer(grad, grad)
    return logsumexp(b) - np.log(len(b)), grad, hess, v


def test_value_gradient_and_hessian_equal_the_oracle():
    for family in (mc.bernoulli_glmm, mc.poisson_glmm):
        design, family, U, logq = _small_problem(family)
        theta = np.array([0.3, -0.4, 0.8, 1.3])
        value, grad, hess, v = _oracle(design, family, U, logq, theta)
        objective = MCLAObjective.build(design, family, U, logq)
        ev = objective.evaluate(theta)
        # seen: 1e-15 relative
        assert abs(ev.value - value) < 1e-12 * abs(value)
        np.testing.assert_allclose(ev.gradient, grad, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ev.hessian, hess, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(objective.weights(theta)[0], v, rtol=1e-10, atol=1e-15)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.floats(-40, 40), st.floats(-40, 40), st.floats(1e-3, 50), st.floats(1e-3, 50))
def test_importance_weights_sum_to_one_and_stay_finite(b0, b1, nu0, nu1):
    """Far from the data (|beta| up to 40, tiny or huge variances) the weights stay a distribution."""
    design, family, U, logq = _small_problem()
    objective = MCLAObjective.build(design, family, U, logq)
    v = objective.weights(np.array([b0, b1, nu0, nu1]))[0]
    assert np.all(np.isfinite(v)) and np.all(v >= 0)
    assert abs(v.sum() - 1.0) < 1e-12
