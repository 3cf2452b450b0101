"""The per-block MCLA: objective against a per-block, per-draw oracle; derivatives by finite
differences; V against the gradient's variance over seeds; the block proposal's density and
independence across blocks."""
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp
from scipy.stats import chi2
from scipy.stats import multivariate_normal, multivariate_t

import mcglmm as mc
from mcglmm.design import glmm_design
from mcglmm.design.blocks import independent_blocks
from mcglmm.engines.mcla import MCLAObjective, mc_vcov
from mcglmm.engines.mcla.sampler import LARGE_BLOCK, SamplerInputs, block_proposal

H = 1e-5


def _nested_problem(family=mc.bernoulli_glmm, m=80, seed=4):
    """40 rows, 5 groups g, each with 2 subgroups h of its own: 5 blocks of 3 effects."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 5, 40)
    h = 2 * g + rng.integers(0, 2, 40)
    data = pd.DataFrame({"x": rng.standard_normal(40), "g": pd.Categorical(g),
                         "h": pd.Categorical(h)})
    data["y"] = rng.integers(0, 2, 40) if family is mc.bernoulli_glmm else rng.poisson(1.5, 40)
    design = glmm_design("y ~ x", ["0 + g", "0 + h"], data, family, ["g", "h"],
                         weights=rng.uniform(0.5, 2.0, 40))
    blocks = independent_blocks(design.Z)
    inputs = SamplerInputs(np.array([0.2, -0.3]), np.array([0.8, 1.3]), np.zeros(design.q))
    proposal, _ = block_proposal(design, family, blocks, inputs, 0.5, 5)
    U, logq = proposal.draw(m, seed)
    return design, blocks, proposal, U, logq


def _oracle(design, family, blocks, U, logq, theta):
    """Value, gradient, Hessian, V and ESS from the definitions, block by block, draw by draw."""
    p, X, Z, w, y = design.p, design.X, design.Z.toarray(), design.weights, design.y
    beta, nu = theta[:p], theta[p:]
    value, grad, hess, V, ess = 0.0, 0.0, 0.0, 0.0, []
    for b in range(blocks.n_blocks):
        rows, cols = blocks.row_block == b, blocks.col_block == b
        vc = design.vc_index[cols]
        n_b = np.bincount(vc, minlength=design.T)
        lw, G, Hs = [], [], []
        for u_all, lq in zip(U, logq[:, b]):
            u = u_all[cols]
            eta = X[rows] @ beta + Z[np.ix_(rows, cols)] @ u
            ss = np.bincount(vc, weights=u ** 2, minlength=design.T)
            log_fu = -0.5 * np.sum(n_b * np.log(2 * np.pi * nu) + ss / nu)
            lw.append(np.sum(w[rows] * (y[rows] * eta - family.cumulant(eta))) + log_fu - lq)
            G.append(np.r_[X[rows].T @ (w[rows] * (y[rows] - family.mean(eta))),
                           -0.5 * n_b / nu + 0.5 * ss / nu ** 2])
            Hk = np.zeros((len(theta), len(theta)))
            Hk[:p, :p] = -(X[rows].T * (w[rows] * family.variance(eta))) @ X[rows]
            Hk[p:, p:] = np.diag(0.5 * n_b / nu ** 2 - ss / nu ** 3)
            Hs.append(Hk)
        lw, G = np.array(lw), np.array(G)
        v = np.exp(lw - logsumexp(lw))
        gbar = v @ G
        value += logsumexp(lw) - np.log(len(lw))
        grad = grad + gbar
        hess = hess + sum(vk * (Hk + np.outer(g, g)) for vk, Hk, g in zip(v, Hs, G)) \
            - np.outer(gbar, gbar)
        V = V + ((G - gbar).T * v ** 2) @ (G - gbar)
        ess.append(1 / np.sum(v ** 2))
    return value, grad, hess, V, np.array(ess)


@pytest.mark.parametrize("family", [mc.bernoulli_glmm, mc.poisson_glmm])
def test_per_block_objective_equals_the_oracle(family):
    design, blocks, _, U, logq = _nested_problem(family)
    assert blocks.n_blocks == 5
    theta = np.array([0.3, -0.4, 0.7, 1.1])
    value, grad, hess, V, ess = _oracle(design, family, blocks, U, logq, theta)
    ev = MCLAObjective.build(design, family, U, logq, blocks=blocks).evaluate(theta)
    # seen: 2e-15 relative at most (value, Hessian, V, ESS), gradient 7e-15 absolute
    assert abs(ev.value - value) < 1e-12 * abs(value)
    np.testing.assert_allclose(ev.gradient, grad, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ev.hessian, hess, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ev.v2, V, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(ev.ess, ess, rtol=1e-10)


@pytest.mark.parametrize("family", [mc.bernoulli_glmm, mc.poisson_glmm])
def test_v_is_the_variance_of_the_gradient_across_seeds(family):
    """V (Evaluation.v2) against the covariance C of the gradient over R = 200 seeds of one
    fixed proposal (m = 200, 5 blocks, P = 4).  For an honest V and Gaussian gradients,
    (R - 1) tr(V^-1 C) ~ chi2 with P (R - 1) = 796 df: tr(V^-1 C) / P lies in [0.84, 1.17]
    with probability 0.999.  Seen: 1.007 (bernoulli), 0.995 (poisson), and on seeds 1000..
    and 2000.. 1.044 / 1.037 and 1.063 / 0.995.  A V without the per-block centring gives
    0.658 / 0.647; a doubled V 0.5."""
    design, blocks, proposal, _, _ = _nested_problem(family)
    theta = np.array([0.2, -0.3, 0.8, 1.3])
    R = 200
    grads, V = np.empty((R, 4)), np.zeros((4, 4))
    for seed in range(R):
        U, logq = proposal.draw(200, seed)
        ev = MCLAObjective.build(design, family, U, logq, blocks=blocks).evaluate(theta)
        grads[seed] = ev.gradient
        V += ev.v2 / R
    ratio = np.trace(np.linalg.solve(V, np.cov(grads.T))) / 4
    low, high = chi2.ppf([0.0005, 0.9995], 4 * (R - 1)) / (4 * (R - 1))
    assert low < ratio < high, (ratio, low, high)


@pytest.fixture(scope="module")
def salamander_blocks(salamander):
    design = glmm_design("Mate ~ 0 + Cross", ["0 + Female", "0 + Male"], salamander,
                         mc.bernoulli_glmm, ["F", "M"])
    blocks = independent_blocks(design.Z)
    inputs = SamplerInputs(np.array([1.0, 0.3, -1.9, 1.0]), np.array([1.4, 1.2]),
                           np.zeros(design.q))
    proposal, mode = block_proposal(design, mc.bernoulli_glmm, blocks, inputs, 0.5, 5)
    return design, blocks, proposal, mode


def test_per_block_derivatives_match_central_differences(salamander_blocks):
    """Relative errors seen: gradient 3e-9, Hessian 6e-11 (h = 1e-5)."""
    design, blocks, proposal, _ = salamander_blocks
    U, logq = proposal.draw(400, 3)
    objective = MCLAObjective.build(design, mc.bernoulli_glmm, U, logq, blocks=blocks)
    theta = np.array([1.05, 0.35, -1.85, 0.95, 1.3, 1.25])
    ev = objective.evaluate(theta)
    steps = H * np.eye(len(theta))
    fd_grad = np.array([(objective.evaluate(theta + e).value - objective.evaluate(theta - e).value)
                        / (2 * H) for e in steps])
    fd_hess = np.array([(objective.evaluate(theta + e).gradient
                         - objective.evaluate(theta - e).gradient) / (2 * H) for e in steps])
    assert np.abs(fd_grad - ev.gradient).max() / np.abs(ev.gradient).max() < 3e-8
    assert np.abs(fd_hess - ev.hessian).max() / np.abs(ev.hessian).max() < 1e-9
    assert np.all(np.linalg.eigvalsh(-mc_vcov(ev)) < 0)


def test_block_proposal_density_is_the_t_normal_mixture(salamander_blocks):
    design, blocks, proposal, mode = salamander_blocks
    assert mode.converged
    U, logq = proposal.draw(50, 11)
    np.testing.assert_allclose(proposal.logpdf(U), logq, rtol=1e-12)
    group = proposal.groups[0]
    cols, L = group.cols[2], group.chol[2]
    S = np.linalg.inv(L @ L.T)
    centre = proposal.centre[cols]
    want = np.logaddexp(np.log(0.5) + multivariate_t(centre, S, df=5).logpdf(U[:, cols]),
                        np.log(0.5) + multivariate_normal(centre, S).logpdf(U[:, cols]))
    np.testing.assert_allclose(logq[:, group.blocks[2]], want, rtol=1e-10)     # seen 1e-14


def test_each_block_draws_from_its_own_generator(salamander_blocks):
    """Moving block 0's centre moves only block 0's draws; block 1's are bitwise the same."""
    _, blocks, proposal, _ = salamander_blocks
    shifted = proposal.centre.copy()
    shifted[blocks.col_block == 0] += 1.0
    moved = type(proposal)(shifted, proposal.groups, proposal.n_blocks, proposal.p_t,
                           proposal.zeta)
    (U, _), (V, _) = proposal.draw(200, 5, 2), moved.draw(200, 5, 2)
    other = blocks.col_block == 1
    assert np.array_equal(U[:, other], V[:, other])
    np.testing.assert_allclose(V[:, ~other & (blocks.col_block == 0)],
                               U[:, blocks.col_block == 0] + 1.0, rtol=0,
                               atol=1e-15)     # seen 2.2e-16: (r + c) + 1 against r + (c + 1)
    assert not np.array_equal(proposal.draw(200, 5, 3)[0], U)      # another round, new draws


def test_large_block_draws_by_triangular_solves_match_the_inverse_factor():
    """A block of 80 effects (two crossed factors of 40 levels: one block > LARGE_BLOCK) draws
    by triangular solves with L; the draws equal those made with L^-1, and log f~ from |z|^2
    equals the density evaluated afresh."""
    rng = np.random.default_rng(8)
    data = pd.DataFrame({"a": pd.Categorical(rng.integers(0, 40, 300)),
                         "b": pd.Categorical(rng.integers(0, 40, 300)),
                         "y": rng.integers(0, 2, 300)})
    design = glmm_design("y ~ 1", ["0 + a", "0 + b"], data, mc.bernoulli_glmm, ["a", "b"])
    blocks = independent_blocks(design.Z)
    inputs = SamplerInputs(np.array([0.1]), np.array([0.7, 0.4]), np.zeros(design.q))
    proposal, _ = block_proposal(design, mc.bernoulli_glmm, blocks, inputs, 0.5, 5)
    assert blocks.n_blocks == 1 and design.q > LARGE_BLOCK
    assert proposal.groups[0].chol_inv is None
    U, logq = proposal.draw(200, 3)
    with_inverse = replace(proposal, groups=tuple(replace(g, chol_inv=np.linalg.inv(g.chol))
                                                  for g in proposal.groups))
    U_inv, logq_inv = with_inverse.draw(200, 3)
    np.testing.assert_allclose(U, U_inv, rtol=0, atol=1e-11)                 # seen 2e-15
    np.testing.assert_allclose(logq, logq_inv, rtol=1e-12)                   # seen 0
    np.testing.assert_allclose(proposal.logpdf(U), logq, rtol=1e-11)         # seen 9e-16
