"""meglm's covariance(fixed(M)), covariance(pattern(M)) and constraints on variance components:
the same fit as the constraints written by hand and as the structures they reduce to, Stata's
(constrained) rows and constraint lines, V's zero rows, and the refusals."""
import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from mcglmm import meglm

NAN = np.nan
PIG = "weight ~ week + (1 + week | id)"


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(40), 10)
    x = rng.normal(size=g.size)
    u = rng.multivariate_normal([0, 0], [[0.8, 0.2], [0.2, 0.5]], 40)
    eta = -0.2 + 0.7 * x + u[g, 0] + u[g, 1] * x
    y = (rng.uniform(size=g.size) < 1 / (1 + np.exp(-eta))).astype(int)
    return pd.DataFrame({"y": y, "x": x, "g": g})


def test_fixed_equals_the_constraint_written_by_hand_and_prints_constrained(pig):
    M = np.array([[NAN, NAN], [NAN, 0.4]])        # var(week) fixed at .4
    res = meglm(PIG, data=pig, covariance=("fixed", M))
    hand = meglm(PIG, data=pig, covariance="unstructured",
                 constraints="[var(week[id])]_cons = 0.4")
    assert res.ll == pytest.approx(hand.ll, abs=1e-8)                    # seen 0
    assert res.b["id:var(week)"] == 0.4 == hand.b["id:var(week)"]        # exactly
    np.testing.assert_allclose(res.b, hand.b, atol=1e-8)                 # seen 0
    j = list(res.b.index).index("id:var(week)")
    assert not res.V.iloc[j].any() and not res.V.iloc[:, j].any()        # Stata: zero row/col
    text = str(res.summary())
    assert " ( 1)  [/]var(week[id]) = .4" in text
    assert "        var(week) |         .4  (constrained)" in text
    assert res.ll < meglm(PIG, data=pig, covariance="unstructured").ll  # a real restriction
    assert "[/]var(week[id])" in res.Cns.columns and res.Cns["_r"].iloc[0] == 0.4


def test_pattern_equals_the_equality_written_by_hand(pig):
    P = np.array([[1.0, NAN], [NAN, 1.0]])        # equal variances, free covariance
    res = meglm(PIG, data=pig, covariance=("pattern", P))
    hand = meglm(PIG, data=pig, covariance="unstructured",
                 constraints="var(week[id]) = var(_cons[id])")
    assert res.ll == pytest.approx(hand.ll, abs=1e-8)                    # seen 0
    assert res.b["id:var(week)"] == res.b["id:var(_cons)"]               # exactly
    assert " ( 1)  [/]var(_cons[id]) - [/]var(week[id]) = 0" in str(res.summary())
    rows = res.V.loc[["id:var(_cons)", "id:var(week)"]].to_numpy()
    np.testing.assert_array_equal(rows[0], rows[1])                       # one parameter


def test_fixed_and_pattern_reduce_to_the_named_structures(pig):
    """Different parameterisations of the same model (log sd, Cholesky, atanh rho) reach
    the same maximum."""
    free = meglm(PIG, data=pig, covariance=("pattern", np.full((2, 2), NAN)))
    unstructured = meglm(PIG, data=pig, covariance="unstructured")
    assert free.ll == pytest.approx(unstructured.ll, abs=1e-8)           # seen 4.5e-13
    np.testing.assert_allclose(free.b, unstructured.b, rtol=1e-7)        # seen 2.2e-8
    zero = meglm(PIG, data=pig, covariance=("fixed", np.array([[NAN, NAN], [0.0, NAN]])))
    independent = meglm(PIG, data=pig)
    assert zero.ll == pytest.approx(independent.ll, abs=1e-8)            # seen 0
    assert zero.b["id:cov(_cons,week)"] == 0.0
    exch = meglm(PIG, data=pig, covariance=("pattern", np.array([[1.0, NAN], [2.0, 1.0]])))
    exchangeable = meglm(PIG, data=pig, covariance="exchangeable")
    assert exch.ll == pytest.approx(exchangeable.ll, abs=1e-8)           # seen 3.4e-13


def test_equal_variances_by_constraint_equal_the_identity_structure(binary):
    tied = meglm("y ~ x + (1 + x | g)", data=binary, family="bernoulli",
                 constraints=["x = 0.7", "[/]var(x[g]) = [/]var(_cons[g])"])
    identity = meglm("y ~ x + (1 + x | g)", data=binary, family="bernoulli",
                     covariance="identity", constraints="x = 0.7")
    assert tied.ll == pytest.approx(identity.ll, abs=1e-8)               # seen 0
    assert tied.b["g:var(x)"] == tied.b["g:var(_cons)"]
    assert tied.constraint_lines == ("[y]x = .7", "-[/]var(_cons[g]) + [/]var(x[g]) = 0")
    laplace = meglm("y ~ x + (1 + x | g)", data=binary, family="bernoulli",
                    covariance=("pattern", np.array([[1.0, NAN], [NAN, 1.0]])),
                    intmethod="laplace")
    hand = meglm("y ~ x + (1 + x | g)", data=binary, family="bernoulli",
                 covariance="unstructured", intmethod="laplace",
                 constraints="var(x[g]) = var(_cons[g])")
    assert laplace.ll == pytest.approx(hand.ll, abs=1e-8)                # seen 0
    assert laplace.converged


def _profile_loglik(pig, v):
    """Gaussian random-intercept log likelihood with var(_cons) = v, maximised over beta and
    the residual variance in closed form (GLS) and by a scalar search: y_i ~ N(X_i b,
    s2 I + v 11')."""
    y = pig["weight"].to_numpy().reshape(48, 9)
    X = np.stack([pig["week"].to_numpy().reshape(48, 9), np.ones((48, 9))], axis=-1)

    def negll(log_s2):
        V = np.exp(log_s2) * np.eye(9) + v
        Vi = np.linalg.inv(V)
        b = np.linalg.solve(np.einsum("gia,ij,gjb->ab", X, Vi, X),
                            np.einsum("gia,ij,gj->a", X, Vi, y))
        r = y - X @ b
        return 0.5 * (48 * (np.linalg.slogdet(V)[1] + 9 * np.log(2 * np.pi))
                      + np.einsum("gi,ij,gj->", r, Vi, r))
    best = optimize.minimize_scalar(negll, bounds=(-3, 3), method="bounded",
                                    options={"xatol": 1e-12})
    return -best.fun


def test_a_fixed_variance_reaches_the_closed_form_maximum(pig):
    res = meglm("weight ~ week + (1 | id)", data=pig, constraints="var(_cons[id]) = 4")
    assert res.b["id:var(_cons)"] == 4.0
    assert res.ll == pytest.approx(_profile_loglik(pig, 4.0), abs=1e-8)  # seen 0 (4.1: 1.24 away)
    assert res.df_c == 0 and res.V.loc["id:var(_cons)"].abs().sum() == 0.0


def test_a_fixed_covariance_and_ghermite(binary):
    M = np.array([[NAN, NAN], [0.1, NAN]])
    res = meglm("y ~ x + (1 + x | g)", data=binary, family="bernoulli",
                covariance=("fixed", M), intmethod="ghermite")
    hand = meglm("y ~ x + (1 + x | g)", data=binary, family="bernoulli",
                 covariance="unstructured", intmethod="ghermite",
                 constraints="cov(_cons[g],x[g]) = 0.1")
    assert res.ll == pytest.approx(hand.ll, abs=1e-8) and res.converged  # seen 0
    assert "  cov(_cons,x) |         .1  (constrained)" in str(res.summary())


@pytest.mark.parametrize("kwargs,match", [
    ({"covariance": ("fixed", np.eye(3))}, "covariance must be a 2 x 2 matrix for level 'g'"),
    ({"covariance": ("pattern", [[1.0, 2.0], [3.0, 1.0]])}, "covariance must be .*symmetric"),
    ({"covariance": ("fixed", [[1.0, 2.0], [2.0, 1.0]])},
     "covariance must be fixed values forming a positive definite"),
    ({"covariance": ("fixed", [[1.0, NAN], [NAN, 0.0]])}, "covariance must be .*positive"),
    ({"covariance": ("fixed", "M")}, "covariance must be .*of numbers"),
    ({"covariance": ("banded", np.eye(2))}, "covariance must be one of"),
    ({"covariance": "unstructured", "constraints": "var(x[g]) = cov(_cons[g],x[g])"},
     "constraints must be ties between variances or between covariances"),
    ({"constraints": "var(x[g]) + var(_cons[g]) = 1"},
     "constraints must be on variance components, one set to a number or two"),
    ({"constraints": "var(z[g]) = 1"}, "constraints must be equations in the variance comp"),
    ({"constraints": "cov(_cons[g],x[g]) = 0"}, "variance components \\['var\\(_cons"),
    ({"constraints": "var(x[g]) = -1"}, "constraints must be a positive value"),
    ({"constraints": ["var(x[g]) = 1", "var(x[g]) = 2"]}, "constraints must be consistent"),
])
def test_bad_covariance_matrices_and_constraints_are_refused(binary, kwargs, match):
    with pytest.raises(ValueError, match=match):
        meglm("y ~ x + (1 + x | g)", data=binary, family="bernoulli", **kwargs)


@pytest.mark.parametrize("covariance", [("pattern", np.array([[1.0, NAN], [2.0, 1.0]])),
                                        ("fixed", np.array([[NAN, NAN], [0.2, 0.6]]))])
def test_engine_derivatives_with_a_restricted_covariance_match_finite_differences(binary,
                                                                                 covariance):
    """Adaptive quadrature's gradient and exact Hessian (adaptation held fixed) and the
    Laplace gradient (mode held fixed) against central differences (tests/fd.py)."""
    from fd import central_gradient, central_jacobian, relative_error
    from mcglmm.api.meglm import build_model
    from mcglmm.engines.quadrature.laplace import curvature_adapt, laplace
    from mcglmm.engines.quadrature.nested import aghq
    from mcglmm.model.families import me_family
    model, _ = build_model("y ~ x + (1 + x | g)", binary, me_family("bernoulli"), covariance,
                           False, None, None, None)
    cov = model.covariances[0]
    theta = np.concatenate([[0.6, -0.1], cov.from_sigma(np.array([[0.7, 0.1], [0.1, 0.5]]))])
    adapt = curvature_adapt(model, theta)[0]
    ev = aghq(model, theta, adapt, 5, hessian=True)
    num = central_gradient(lambda t: aghq(model, t, adapt, 5).value, theta)
    assert relative_error(ev.gradient, num) < 5e-9                          # seen 1.4e-9
    hess = central_jacobian(lambda t: aghq(model, t, adapt, 5).gradient, theta)
    assert relative_error(ev.hessian, hess) < 2e-9                          # seen 4.8e-10
    lp = laplace(model, theta)
    num = central_gradient(lambda t: laplace(model, t, lp.mode).value, theta)
    assert relative_error(lp.gradient, num) < 5e-9                          # seen 1.1e-9


def test_startgrid_keeps_a_fixed_covariance_positive_definite(pig):
    """The grid's variances 0.1 with the fixed covariance 0.1 make Sigma singular: the start
    moves to a positive definite one and the fit reaches the plain start's maximum."""
    M = np.array([[NAN, NAN], [0.1, NAN]])
    grid = meglm(PIG, data=pig, covariance=("fixed", M), startgrid=True)
    plain = meglm(PIG, data=pig, covariance=("fixed", M))
    assert grid.converged and grid.ll == pytest.approx(plain.ll, abs=1e-8)   # seen 2.3e-13
