"""lr3 is meglm's Bernoulli model with non-adaptive 12-point quadrature, on guImmun.

Parameterisations, mapped explicitly: lr3's theta is (beta, log sigma2, log sigma3), the
levels from the bottom (mothers, then communities); meglm's is (beta, psi_comm,
psi_comm>mom) from the top, with covariance independent (one effect per level, so
psi = log sd, as lr's log sigma).  The fixed-effects columns are patsy's in both.
"""
import numpy as np
import pytest

import mcglmm as mc
from mcglmm.api.meglm import build_model
from mcglmm.engines.quadrature.objective import Objective
from mcglmm.model.families import me_family

from test_guatemala import NOTES_TABLE

LR_FORMULA = "immun ~ kid2p + mom25p + ord + ethn + momEd + husEd + momWork + rural + pcInd81"
ME_FORMULA = LR_FORMULA + " + (1 | comm/mom)"
P = 16


@pytest.fixture(scope="module")
def gu():
    return mc.datasets.load("guImmun")


@pytest.fixture(scope="module")
def theta_lr():
    """A fixed parameter near the optimum (the notes' estimates moved by N(0, 0.05^2) each),
    where the Hessian is negative definite."""
    notes = np.array([coef for coef, _ in NOTES_TABLE.values()])[:P + 2]
    return notes + 0.05 * np.random.default_rng(9).normal(size=P + 2)


def _to_meglm(theta_lr):
    """meglm's theta from lr3's: the two log standard deviations swap places."""
    return np.r_[theta_lr[:P], theta_lr[P + 1], theta_lr[P]]


def _lr_to_meglm_derivatives(gradient, hessian):
    order = np.r_[np.arange(P), P + 1, P]
    return gradient[order], hessian[np.ix_(order, order)]


@pytest.fixture(scope="module")
def lr_evaluation(gu, theta_lr):
    return mc.lr3(LR_FORMULA, "mom", "comm", data=gu, frame=True).evaluate(theta_lr, 12)


def test_same_loglik_gradient_and_hessian_as_the_meglm_model(gu, theta_lr, lr_evaluation):
    model, arrays = build_model(ME_FORMULA, gu, me_family("bernoulli"), "independent", False,
                                None, None, None)
    assert [lev.name for lev in model.levels] == ["comm", "comm>mom"]
    theta = _to_meglm(theta_lr)
    criterion = Objective(model, "ghermite", 12).refresh(theta)
    value, gradient = criterion.value_grad(theta)
    hessian = criterion.hessian(theta)
    lr_grad, lr_hess = _lr_to_meglm_derivatives(lr_evaluation.gradient, lr_evaluation.hessian)
    assert lr_evaluation.value == pytest.approx(value, rel=1e-10, abs=0)          # seen 0 (one engine)
    np.testing.assert_allclose(lr_grad, gradient, rtol=0, atol=1e-10)              # seen 0 (one engine)
    np.testing.assert_allclose(lr_hess, hessian, rtol=0, atol=1e-10)               # seen 0 (one engine)


def test_meglm_front_at_the_same_parameter(gu, theta_lr, lr_evaluation):
    """mc.meglm from that parameter with no iteration reports the same logL and Hessian."""
    with pytest.warns(mc.ConvergenceWarning, match="did not converge in 0 iterations"):
        res = mc.meglm(ME_FORMULA, gu, family="bernoulli", intmethod="ghermite", intpoints=12,
                       from_=_to_meglm(theta_lr), iterate=0)
    _, lr_hess = _lr_to_meglm_derivatives(lr_evaluation.gradient, lr_evaluation.hessian)
    assert res.ll == pytest.approx(lr_evaluation.value, rel=1e-10, abs=0)          # seen 0 (one engine)
    np.testing.assert_allclose(res.hessian, lr_hess, rtol=0, atol=1e-10)           # seen 0 (one engine)
