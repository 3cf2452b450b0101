"""The conditional-mode Newton: its step halving never accepts a worse or non-finite point,
and the factor it returns is that of the point it returns."""
import numpy as np
import pandas as pd

import mcglmm as mc
from mcglmm.design import glmm_design
from mcglmm.design.gram import WeightedGram
from mcglmm.engines.fixed_pattern import FactorPlan
from mcglmm.engines.modes import conditional_mode, halve_step, penalised


def test_halving_skips_nan_and_worse_points():
    values = {1.0: np.nan, 0.5: -3.0, 0.25: -1.5}
    t, new = halve_step(lambda t: (values.get(t, -2.5),), -2.0)
    assert t == 0.25 and new == (-1.5,)


def test_halving_returns_none_rather_than_a_worse_point():
    assert halve_step(lambda t: (-5.0 - t,), -2.0, max_halvings=10) is None
    assert halve_step(lambda t: (np.nan,), -2.0, max_halvings=10) is None


def _murder_design():
    data = mc.datasets.load("murder")
    data["id"] = pd.Categorical(np.arange(len(data)))
    return glmm_design("y ~ 0 + race", ["0 + id"], data, mc.poisson_glmm, ["id"])


def test_mode_from_a_start_where_newton_overshoots():
    """Poisson from s = 8 sigma-units: full Newton steps overflow or decrease h; the search
    must still climb monotonically to the mode found from s = 0."""
    d = _murder_design()
    a, beta, gram = np.full(d.q, 1.2), np.array([-0.5, 1.0]), WeightedGram.build(d.Z)
    far = conditional_mode(d, mc.poisson_glmm, gram, a, beta, np.full(d.q, 8.0))
    near = conditional_mode(d, mc.poisson_glmm, gram, a, beta, np.zeros(d.q))
    assert far.converged and near.converged
    # the stopping rule is on the predicted increase (1e-12 of |h|): seen 5e-6 at most
    np.testing.assert_allclose(far.s, near.s, atol=2e-5)
    assert far.value >= penalised(d, mc.poisson_glmm, beta, np.full(d.q, 8.0), a)[0]
    # a stationary point of h in s: a Z'(w (y - c')) = s
    _, eta, resid, _ = penalised(d, mc.poisson_glmm, beta, near.s, a)
    np.testing.assert_allclose(a * (d.Z.T @ resid), near.s, atol=1e-4)     # seen 4e-5


def test_mode_with_beta_free_is_stationary_in_beta_too():
    d = glmm_design("Mate ~ 0 + Cross", ["0 + Female", "0 + Male"], mc.datasets.load("salamander"),
                    mc.bernoulli_glmm, ["F", "M"])
    a = np.where(d.vc_index == 0, 1.1, 0.9)
    mode = conditional_mode(d, mc.bernoulli_glmm, WeightedGram.build(d.Z), a, np.zeros(d.p),
                            np.ones(d.q), free_beta=True)
    _, _, resid, _ = penalised(d, mc.bernoulli_glmm, mode.beta, mode.s, a)
    assert mode.converged
    np.testing.assert_allclose(d.X.T @ resid, 0, atol=1e-8)
    np.testing.assert_allclose(a * (d.Z.T @ resid), mode.s, atol=1e-8)


def test_after_maxit_the_factor_is_that_of_the_returned_iterate():
    """Stopped unconverged, the Mode's log det H_ss is the one at its own (beta, s)."""
    d = _murder_design()
    a, beta, gram = np.full(d.q, 1.2), np.array([-0.5, 1.0]), WeightedGram.build(d.Z)
    mode = conditional_mode(d, mc.poisson_glmm, gram, a, beta, np.full(d.q, 8.0), maxit=2)
    assert not mode.converged
    _, _, _, W = penalised(d, mc.poisson_glmm, beta, mode.s, a)
    here = FactorPlan.build(gram, d.vc_index).factorise(gram(W, a).data)
    assert abs(mode.factor.logdet - here.logdet) < 1e-12 * abs(here.logdet)    # seen 0
