"""Joint mode-curvature quadrature of a crossed model (2 x 4 levels, 6 effects) against
brute-force integration, its gradient against finite differences, and meglm's fit."""
import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp
from scipy.stats import norm, poisson

from fd import central_gradient, relative_error
from mcglmm.api.meglm import build_model, meglm
from mcglmm.engines.quadrature.joint import joint_adapt, joint_aghq
from mcglmm.exceptions import WorkTooLargeError
from mcglmm.model.families import get_family

FORMULA = "y ~ x + (1 | m) + (1 | f)"


@pytest.fixture(scope="module")
def crossed():
    """Poisson counts: 2 levels m (sd 0.7) crossed with 4 levels f (sd 0.5), 4 per cell."""
    rng = np.random.default_rng(3)
    m, f = np.repeat(np.arange(2), 16), np.tile(np.repeat(np.arange(4), 4), 2)
    x = rng.normal(size=32)
    eta = 2.0 + 0.3 * x + rng.normal(0, 0.7, 2)[m] + rng.normal(0, 0.5, 4)[f]
    return pd.DataFrame({"y": rng.poisson(np.exp(eta)), "x": x, "m": m, "f": f})


def _model(data):
    return build_model(FORMULA, data, get_family("poisson", None, "mean"), "independent",
                       False, None, None, None)[0]


def _brute_force(data, theta):
    """log L by trapezoid rules: the 2 m effects on a 301 x 301 grid over [-6, 6]^2 and,
    given them, each f effect's own 1-D integral (401 points over [-8 sd, 8 sd]).  Given m,
    f's integral is sum_v w_v A_v(m_1) B_v(m_2) with A, B the rows' likelihoods of each m."""
    b0, b1, psi_m, psi_f = theta
    sd_m, sd_f = np.exp(psi_m), np.exp(psi_f)
    grid, h = np.linspace(-6, 6, 301, retstep=True)
    v, hv = np.linspace(-8 * sd_f, 8 * sd_f, 401, retstep=True)
    log_wv = norm.logpdf(v, scale=sd_f) + np.log(hv)
    total = norm.logpdf(grid, scale=sd_m)[:, None] + norm.logpdf(grid, scale=sd_m)[None]
    for f in range(data.f.nunique()):
        logs = []
        for m in range(2):
            rows = data[(data.f == f) & (data.m == m)]
            eta = (b0 + b1 * rows.x.to_numpy())[:, None, None] + grid[None, :, None] + v[None, None]
            logs.append(poisson.logpmf(rows.y.to_numpy()[:, None, None], np.exp(eta)).sum(axis=0))
        A, B = logs                                            # (grid, v) each
        shift_a, shift_b = A.max(axis=1, keepdims=True), B.max(axis=1, keepdims=True)
        inner = np.exp(A - shift_a + log_wv) @ np.exp(B - shift_b).T
        with np.errstate(divide="ignore"):               # far corners underflow to 0
            total = total + np.log(inner) + shift_a + shift_b.T
    return float(logsumexp(total) + 2 * np.log(h))


THETA = np.array([1.9, 0.35, np.log(0.6), np.log(0.45)])


def test_joint_rule_agrees_with_brute_force_integration(crossed):
    model = _model(crossed)
    adapt, _ = joint_adapt(model, THETA)
    brute = _brute_force(crossed, THETA)
    errors = {k: abs(joint_aghq(model, THETA, adapt, k).value - brute) for k in (1, 3, 7)}
    assert errors[7] < 5e-7                          # seen 9.8e-8 (k = 3: 3.2e-3, k = 1: 3.7e-3)
    assert errors[1] > errors[3] > errors[7]


def test_joint_rule_gradient_matches_finite_differences(crossed):
    model = _model(crossed)
    adapt, _ = joint_adapt(model, THETA)
    ev = joint_aghq(model, THETA + 0.1, adapt, 3)
    fd = central_gradient(lambda t: joint_aghq(model, t, adapt, 3).value, THETA + 0.1, 1e-5)
    assert relative_error(ev.gradient, fd) < 1e-8   # seen 1.8e-9


def test_meglm_mcaghermite_on_a_crossed_model(crossed):
    res = meglm(FORMULA, crossed, family="poisson", intmethod="mcaghermite", intpoints=4)
    assert res.converged and res.intmethod == "mcaghermite" and res.n_quad == 4
    assert abs(res.ll - _brute_force(crossed, res.theta)) < 5e-5    # seen 1e-5 (4 points)
    assert "Integration pts.  =          4" in str(res.summary())


def test_crossed_quadrature_refusals(crossed):
    with pytest.raises(WorkTooLargeError, match="node combinations"):
        meglm(FORMULA, crossed, family="poisson", intmethod="mcaghermite", intpoints=40)
    with pytest.raises(ValueError, match="'laplace' or 'mcaghermite' for a crossed model"):
        meglm(FORMULA, crossed, family="poisson", intmethod="ghermite", intpoints=3)
    with pytest.raises(ValueError, match="vce must be 'oim' with quadrature on a crossed"):
        meglm(FORMULA, crossed, family="poisson", intmethod="mcaghermite", intpoints=3,
              vce="robust")
