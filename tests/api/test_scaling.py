"""The optimisers work on centred, scaled columns of X and report on the user's scale.

A covariate multiplied by 1e8 gives the same fit, its coefficient divided by 1e8 and its
standard error likewise (issue 12, done-when item 2), for glmm, meglm (Bernoulli and
Gaussian, with a constraint written on the user's scale) and lr2/lr3; a convergence claim
is checked by the scaled gradient (``optim.convergence``).
"""
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

import mcglmm as mc
from mcglmm.design.scaling import ColumnScaling
from mcglmm.exceptions import ConvergenceWarning
from mcglmm.optim import convergence
from mcglmm.optim.convergence import GRADIENT_TOL, convergence_message, scaled_gradient

BIG = 1e8
# Done-when item 2 asks for 1e-6; both fits see the same centred, scaled X up to rounding, so
# they agree to rounding (the figures seen beside each test) and the bound is set near that.
REL = 1e-10


def _rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


# --- the transform itself (exact algebra) -------------------------------------------------

@pytest.fixture(scope="module")
def design():
    rng = np.random.default_rng(12)
    X = np.column_stack([np.ones(40), rng.normal(3.0, 2.0, 40) * BIG, rng.integers(0, 2, 40),
                         np.zeros(40)])
    return X, ColumnScaling.of(X)


def test_scaled_columns_are_centred_and_unit_and_the_intercept_kept(design):
    X, sc = design
    Xs = sc.apply(X)
    np.testing.assert_array_equal(Xs[:, 0], 1.0)
    np.testing.assert_allclose(Xs[:, 1:3].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Xs[:, 1:3].std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(Xs[:, 3], 0.0)        # a zero column is left alone


def test_the_linear_predictor_and_the_inverse_map_agree(design):
    X, sc = design
    theta_s = np.array([0.3, -1.2, 0.7, 0.0, -0.5, 0.25])      # beta (4) then two others
    theta = sc.to_user(theta_s)
    np.testing.assert_allclose(X @ theta[:4], sc.apply(X) @ theta_s[:4], rtol=1e-12)
    np.testing.assert_allclose(sc.to_internal(theta), theta_s, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(theta[4:], theta_s[4:])
    A, Ai = sc.A(6), sc.A_inv(6)      # entries up to 6e8: rounding relative to |A| |A^-1|
    np.testing.assert_allclose(A @ Ai, np.eye(6), atol=1e-15 * np.abs(A).max() * np.abs(Ai).max())


def test_gradient_hessian_and_covariance_map_as_a_change_of_variables(design):
    _, sc = design
    rng = np.random.default_rng(3)
    M = rng.normal(size=(6, 6))
    H_s, g_s = -(M @ M.T + np.eye(6)), rng.normal(size=6)
    H, g = sc.hessian_to_user(H_s), sc.gradient_to_user(g_s)
    V_s = np.linalg.inv(-H_s)
    np.testing.assert_allclose(sc.covariance_to_user(V_s), np.linalg.inv(-H), rtol=1e-8)
    # the Newton step maps like theta: A (H_s^-1 g_s) = H^-1 g
    np.testing.assert_allclose(sc.A(6) @ np.linalg.solve(H_s, g_s), np.linalg.solve(H, g),
                               rtol=1e-8)


def test_constraints_map_to_the_same_set(design):
    _, sc = design
    from mcglmm.optim.constraints import parse_constraints
    cns = parse_constraints(["x1 = 2e-8", "x2 = x3"], ["_cons", "x1", "x2", "x3"], [], "y", 6)
    inner = sc.constraints(cns)
    theta_s = inner.project(np.zeros(6))
    np.testing.assert_allclose(cns.R @ sc.to_user(theta_s), cns.r, atol=1e-14)
    np.testing.assert_allclose(inner.R @ inner.K, 0.0, atol=1e-8)


# --- the scaled-gradient check ------------------------------------------------------------

def test_the_scaled_gradient_is_free_of_the_parameters_units():
    H = np.array([[-4.0, 1.0], [1.0, -2.0]])
    g = np.array([1e-4, -2e-4])
    D = np.diag([1e8, 1.0])                      # the first parameter in units of 1e-8
    plain, scaled = scaled_gradient(g, H), scaled_gradient(D @ g, D @ H @ D)
    assert scaled.value == pytest.approx(plain.value, rel=1e-10)
    assert np.abs(D @ g).max() > 1e3 * np.abs(g).max()    # the raw gradient is not


def test_a_failed_claim_gives_value_tolerance_and_component():
    H = -np.diag([1.0, 1e-6])
    message = convergence_message(np.array([1e-6, 0.066]), H, ["x", "y"])
    assert "66" in message and f"tol = {GRADIENT_TOL:g}" in message and "'y'" in message
    assert convergence_message(np.array([1e-6, 1e-7]), H, ["x", "y"]) is None


def test_without_a_negative_definite_hessian_the_raw_gradient_is_checked():
    check = scaled_gradient(np.array([0.0, 0.5]), np.diag([1.0, -1.0]))
    assert not check.scaled and check.value == 0.5 and check.component == 1


# --- the fronts ---------------------------------------------------------------------------

def test_meglm_gaussian_covariate_in_units_of_1e8(pig):
    one = mc.meglm("weight ~ week + (1 | id)", data=pig)
    big = mc.meglm("weight ~ week + (1 | id)", data=pig.assign(week=pig["week"] * BIG))
    assert big.converged and big.ll == pytest.approx(one.ll, rel=1e-12)
    unit = np.where(big.b.index == "weight:week", BIG, 1.0)
    assert _rel(big.b * unit, one.b) < REL                          # seen 0
    assert _rel(big.table.loc["se"] * unit, one.table.loc["se"]) < REL   # seen 2e-16


def test_meglm_bernoulli_covariate_in_units_of_1e8(bangladesh):
    formula = "c_use ~ urban + age + (1 | district)"
    one = mc.meglm(formula, data=bangladesh, family="bernoulli")
    big = mc.meglm(formula, data=bangladesh.assign(age=bangladesh["age"] * BIG),
                   family="bernoulli")
    assert big.converged and big.ll == pytest.approx(one.ll, rel=1e-12)
    unit = np.where(big.b.index == "c_use:age", BIG, 1.0)
    assert _rel(big.b * unit, one.b) < REL                          # seen 2e-15
    assert _rel(big.table.loc["se"] * unit, one.table.loc["se"]) < REL   # seen 2e-15


def test_meglm_constraints_are_read_on_the_users_scale(pig):
    one = mc.meglm("weight ~ week + (1 | id)", data=pig, constraints="week = 6")
    big = mc.meglm("weight ~ week + (1 | id)", data=pig.assign(week=pig["week"] * BIG),
                   constraints=f"week = {6 / BIG!r}")
    assert big.b["weight:week"] == pytest.approx(6 / BIG, rel=1e-12)
    unit = np.where(big.b.index == "weight:week", BIG, 1.0)
    assert _rel(big.b * unit, one.b) < REL                          # seen 5e-16


def test_glmm_covariate_in_units_of_1e8():
    b = mc.datasets.load("BoothHobert")

    def fit(scale, method):
        return mc.glmm("y ~ x1", random=["0 + z1"], varcomps_names=["z1"],
                       data=b.assign(x1=b["x1"] * scale), family_glmm="bernoulli", m=500,
                       seed=7, method=method)
    for method in ("glmm", "blocks"):
        one, big = fit(1.0, method), fit(BIG, method)
        assert big.trust_converged
        unit = np.array([1.0, BIG, 1.0])
        est = np.r_[big.beta, big.nu] * unit
        assert _rel(est, np.r_[one.beta, one.nu]) < REL             # seen 5e-14
        assert _rel(np.sqrt(np.diag(big.covariance)) * unit,
                    np.sqrt(np.diag(one.covariance))) < REL         # seen 4e-14


def _three_level(seed=5, n3=25):
    rng = np.random.default_rng(seed)
    moms = rng.integers(2, 5, size=n3)
    comm_of_mom = np.repeat(np.arange(n3), moms)
    kids = rng.integers(2, 5, size=len(comm_of_mom))
    mom = np.repeat(np.arange(len(comm_of_mom)), kids)
    x = rng.normal(2.0, 1.0, size=len(mom))
    eta = -0.5 + 0.7 * x + rng.normal(size=len(comm_of_mom))[mom] \
        + 0.6 * rng.normal(size=n3)[comm_of_mom[mom]]
    y = (rng.uniform(size=len(mom)) < expit(eta)).astype(float)
    return pd.DataFrame({"y": y, "x": x, "mom": mom, "comm": comm_of_mom[mom]})


@pytest.mark.parametrize("front", ["lr2", "lr3"])
def test_lr_covariate_in_units_of_1e8(front):
    data = _three_level()

    def fit(d):
        if front == "lr2":
            return mc.lr2("y ~ x", "mom", d, quad_pts=8)
        return mc.lr3("y ~ x", "mom", "comm", d, quad_pts=8)
    one, big = fit(data), fit(data.assign(x=data["x"] * BIG))
    assert big.converged
    unit = np.r_[1.0, BIG, np.ones(len(one.theta) - 2)]
    assert _rel(np.asarray(big.theta) * unit, one.theta) < REL       # seen 3e-15


def test_a_convergence_claim_failing_the_check_warns_with_the_figures(pig, monkeypatch):
    monkeypatch.setattr(convergence, "GRADIENT_TOL", 1e-30)
    with pytest.warns(ConvergenceWarning, match=r"tol = 1e-30, component '"):
        res = mc.meglm("weight ~ week + (1 | id)", data=pig)
    assert any("scaled gradient" in w for w in res.warnings)


def test_a_converged_fit_passes_the_check_silently(pig):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        mc.meglm("weight ~ week + (1 | id)", data=pig)
