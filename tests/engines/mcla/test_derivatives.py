"""The MCLA gradient and Hessian against central differences of the value, draws held fixed.

With the importance sample fixed the MCLA is a smooth deterministic function of
theta, so the analytic derivatives must agree with finite differences to
truncation and rounding error (h = 1e-5; relative errors seen: gradient 2e-10 to 2e-9, Hessian 3e-10 to 1e-8).
"""
import numpy as np
import pandas as pd
import pytest

import mcglmm as mc
from mcglmm.design import glmm_design
from mcglmm.engines.mcla import MCLAObjective
from mcglmm.engines.mcla.sampler import SamplerInputs, build_sampler

H = 1e-5
RTOL = 1e-5            # the criterion; errors seen are 1e-8 or smaller


def _murder():
    data = mc.datasets.load("murder")
    data["id"] = pd.Categorical(np.arange(len(data)))
    return data


CASES = {
    "salamander-bernoulli": (lambda: mc.datasets.load("salamander"), "Mate ~ 0 + Cross",
                             ["0 + Female", "0 + Male"], mc.bernoulli_glmm, [0.5, -0.2, -1.0, 0.4],
                             [1.2, 0.9]),
    "murder-poisson": (_murder, "y ~ 0 + race", ["0 + id"], mc.poisson_glmm, [-0.5, -2.0], [0.7]),
    "cbpp-binomial": (lambda: mc.datasets.load("cbpp"),
                      "cbind(incidence, size - incidence) ~ period", ["0 + herd"], mc.binomial_glmm,
                      [-1.4, -1.0, -1.1, -1.6], [0.5]),
}


def _objective(case, m=400, seed=3):
    load, fixed, random, family, beta, nu = CASES[case]
    names = [f"v{i}" for i in range(len(random))]
    design = glmm_design(fixed, random, load(), family, names)
    start = SamplerInputs(beta=np.array(beta), nu=np.array(nu), u=np.zeros(design.q))
    sampler = build_sampler(design, family, start, [1 / 3, 1 / 3, 1 / 3], 5)
    U, logq, _ = sampler.draw(m, seed)
    theta = np.r_[beta, nu] + 0.05
    return MCLAObjective.build(design, family, U, logq), theta


def _relative_error(approx, exact):
    return np.abs(approx - exact).max() / np.abs(exact).max()


@pytest.mark.parametrize("case", list(CASES))
def test_gradient_matches_central_differences(case):
    objective, theta = _objective(case)
    ev = objective.evaluate(theta)
    fd = np.array([(objective.evaluate(theta + H * e).value - objective.evaluate(theta - H * e).value)
                   / (2 * H) for e in np.eye(len(theta))])
    assert _relative_error(fd, ev.gradient) < RTOL


@pytest.mark.parametrize("case", list(CASES))
def test_hessian_matches_central_differences_of_gradient(case):
    objective, theta = _objective(case)
    ev = objective.evaluate(theta)
    fd = np.array([(objective.evaluate(theta + H * e).gradient
                    - objective.evaluate(theta - H * e).gradient) / (2 * H)
                   for e in np.eye(len(theta))])
    np.testing.assert_allclose(fd, fd.T, atol=1e-6 * np.abs(fd).max())
    assert _relative_error(fd, ev.hessian) < RTOL


def test_value_is_minus_infinity_outside_the_parameter_space():
    objective, theta = _objective("salamander-bernoulli", m=50)
    theta[-1] = 0.0
    assert objective.evaluate(theta).value == -np.inf


def test_poisson_overflow_gives_zero_weight_not_nan():
    """exp(eta) overflows for eta > 709.8: such draws get zero weight, the rest stay finite."""
    objective, theta = _objective("murder-poisson", m=50)
    objective.U[0] = 800.0
    rebuilt = MCLAObjective.build(objective.design, objective.family, objective.U, objective.logq)
    ev = rebuilt.evaluate(theta)
    assert np.isfinite(ev.value) and np.all(np.isfinite(ev.gradient))
    assert np.all(np.isfinite(ev.hessian))


@pytest.mark.parametrize("per_block", [False, True])
def test_blocks_of_observations_change_only_rounding(monkeypatch, per_block):
    """Large n is processed in row blocks of about ROW_BYTES per atom, each summed into the
    blocks of random effects its observations belong to; the sums agree to rounding."""
    import mcglmm.engines.mcla.objective as mcla
    from mcglmm.design.blocks import independent_blocks
    objective, theta = _objective("salamander-bernoulli")
    blocks = independent_blocks(objective.design.Z) if per_block else None
    B = 1 if blocks is None else blocks.n_blocks
    logq = np.repeat(objective.logq[:, None] / B, B, axis=1)
    args = (objective.design, objective.family, objective.U, logq)
    monkeypatch.setattr(mcla, "ROW_BYTES", 2 ** 30)
    whole = MCLAObjective.build(*args, blocks=blocks)
    monkeypatch.setattr(mcla, "MIN_ROWS", 1)
    monkeypatch.setattr(mcla, "ROW_BYTES", 8 * 100 * mcla.atom_size(360))
    blocked = MCLAObjective.build(*args, blocks=blocks)
    assert len(blocked.row_blocks) == 4 and len(whole.row_blocks) == 1
    a, b = whole.evaluate(theta), blocked.evaluate(theta)
    assert abs(a.value - b.value) < 1e-12 * abs(a.value)
    np.testing.assert_allclose(b.gradient, a.gradient, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.hessian, a.hessian, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", ["salamander-bernoulli", "murder-poisson", "cbpp-binomial"])
@pytest.mark.parametrize("per_block", [False, True])
def test_per_draw_sums_equal_the_pass_over_observations(monkeypatch, case, per_block):
    """The first pass's per-draw sums (``per_draw_sums``) and the second pass over the
    observations give the same evaluation to rounding (seen: Hessian 8e-16 relative, the rest
    bitwise)."""
    import mcglmm.engines.mcla.maps as maps
    from mcglmm.design.blocks import independent_blocks
    objective, theta = _objective(case)
    d = objective.design
    blocks = independent_blocks(d.Z) if per_block else None
    B = 1 if blocks is None else blocks.n_blocks
    logq = np.repeat(objective.logq[:, None] / B, B, axis=1)     # any (m, B) will do
    args = (d, objective.family, objective.U, logq)
    per_draw = MCLAObjective.build(*args, blocks=blocks)
    expected = maps.per_draw_sums(d.p, B, d.q)
    monkeypatch.setattr(maps, "PER_DRAW_TERMS", 0)
    by_rows = MCLAObjective.build(*args, blocks=blocks)
    assert by_rows.wxx_blocks is None and (per_draw.wxx_blocks is not None) == expected
    a, b = per_draw.evaluate(theta), by_rows.evaluate(theta)
    assert abs(a.value - b.value) <= 1e-13 * abs(a.value)
    for x, y in [(a.gradient, b.gradient), (a.hessian, b.hessian), (a.v2, b.v2), (a.ess, b.ess)]:
        np.testing.assert_allclose(x, y, rtol=1e-13, atol=1e-13 * np.abs(y).max())
