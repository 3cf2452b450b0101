"""Stata's maximize options in the one Newton driver: technique schedules and their log
lines, BHHH, DFP and BFGS reaching Newton's maximum, the quasi-Newton secant condition,
difficult's step, the stopping rules, the displays and numerical derivatives."""
import numpy as np
import pytest

from fd import central_jacobian
from mcglmm.optim.newton import Criterion, newton_maximize
from mcglmm.optim.numdiff import fd_gradient, numerical
from mcglmm.optim.techniques import (Stopping, ascent_direction, maximize_options,
                                     outer_product, parse_technique, quasi_update,
                                     technique_at)

RNG = np.random.default_rng(7)
X = np.column_stack([np.ones(60), RNG.normal(size=60)])
Y = RNG.poisson(np.exp(0.3 + 0.5 * X[:, 1]))


def poisson(b):
    """Poisson regression log likelihood (up to a constant) and its gradient."""
    eta = X @ b
    return float(Y @ eta - np.exp(eta).sum()), X.T @ (Y - np.exp(eta))


def poisson_hessian(b):
    return -(X * np.exp(X @ b)[:, None]).T @ X


def poisson_scores(b):
    """(60, 2): one observation per group."""
    return X * (Y - np.exp(X @ b))[:, None]


def refresh_poisson(t, final):
    return Criterion(poisson, poisson_hessian, poisson_scores)


def test_a_schedule_lists_techniques_with_counts_defaulting_to_five():
    assert parse_technique("bhhh 5 nr 10") == (("bhhh", 5), ("nr", 10))
    assert parse_technique("bhhh nr") == (("bhhh", 5), ("nr", 5))
    assert parse_technique("BFGS") == (("bfgs", 5),)


def test_the_schedule_cycles_and_a_single_technique_runs_throughout():
    schedule = parse_technique("bhhh 2 nr 3")
    assert [technique_at(schedule, it) for it in range(8)] == \
        ["bhhh", "bhhh", "nr", "nr", "nr", "bhhh", "bhhh", "nr"]
    assert {technique_at(parse_technique("dfp 2"), it) for it in range(10)} == {"dfp"}


@pytest.mark.parametrize("spec", ["newton", "bhhh 0 nr", "nr -5", "5 nr", "nr 2 3", "",
                                  "bhhh 2.5", 3, None])
def test_bad_technique_specs_are_refused_naming_the_option(spec):
    with pytest.raises(ValueError, match="technique"):
        parse_technique(spec)


@pytest.mark.parametrize("kw, name", [(dict(ltolerance=-1e-6), "ltolerance"),
                                      (dict(nrtolerance=0.0), "nrtolerance"),
                                      (dict(ltolerance=np.inf), "ltolerance"),
                                      (dict(technique="bhh"), "technique")])
def test_bad_tolerances_are_refused_naming_the_option(kw, name):
    opts = dict(technique="nr", difficult=False, ltolerance=1e-8, nrtolerance=1e-10,
                nonrtolerance=False, display={})
    with pytest.raises(ValueError, match=name):
        maximize_options(**{**opts, **kw})


def test_the_bhhh_matrix_is_the_outer_product_of_the_scores():
    S = poisson_scores(np.array([0.1, 0.2]))
    np.testing.assert_allclose(outer_product(S), sum(np.outer(s, s) for s in S), rtol=1e-12)
    np.testing.assert_allclose(S.sum(axis=0), poisson(np.array([0.1, 0.2]))[1], rtol=1e-12)


@pytest.mark.parametrize("kind", ["bfgs", "dfp"])
def test_quasi_newton_updates_satisfy_the_secant_condition(kind):
    """H+ s = dg, H+ symmetric and -H+ positive definite after a step with dg's < 0."""
    H = poisson_hessian(np.zeros(2))
    s = np.array([0.2, -0.1])
    dg = poisson(s)[1] - poisson(np.zeros(2))[1]
    H1 = quasi_update(kind, H, s, dg)
    np.testing.assert_allclose(H1 @ s, dg, rtol=1e-12)
    np.testing.assert_allclose(H1, H1.T, rtol=1e-12)
    assert np.linalg.eigvalsh(-H1).min() > 0


@pytest.mark.parametrize("technique", ["bhhh", "dfp", "bfgs", "bhhh 2 nr 3", "dfp 1 bfgs 1"])
def test_every_technique_reaches_newtons_maximum(technique):
    nr = newton_maximize(refresh_poisson, np.zeros(2))
    fit = newton_maximize(refresh_poisson, np.zeros(2), technique=technique)
    assert nr.converged and fit.converged
    assert abs(fit.value - nr.value) < 1e-10         # seen up to 2.8e-11 (bhhh 2 nr 3)
    # seen up to 8.7e-7 (bhhh): nrtolerance 1e-10 leaves |g| ~ 1e-5 at either stop
    np.testing.assert_allclose(fit.x, nr.x, atol=2e-6)
    assert fit.technique == " ".join(n for n, _ in parse_technique(technique))
    assert nr.technique == "nr"


def test_switching_prints_statas_lines_before_the_iteration_it_applies_to():
    printed = []
    fit = newton_maximize(refresh_poisson, [2.0, -1.0], technique="bhhh 2 nr 3", log=True,
                          printer=printed.append)
    assert printed[0] == "(setting technique to bhhh)"
    assert printed[1].startswith("Iteration 0:") and printed[2].startswith("Iteration 1:")
    assert printed[3] == "(switching technique to nr)"
    assert printed[4].startswith("Iteration 2:")
    assert printed[7] == "(switching technique to bhhh)" and printed[8].startswith("Iteration 5:")
    assert [it.technique for it in fit.path][:5] == ["bhhh", "bhhh", "nr", "nr", "nr"]


def test_bhhh_without_scores_is_refused():
    with pytest.raises(ValueError, match="technique"):
        newton_maximize(lambda t, final: Criterion(poisson), np.zeros(2), technique="bhhh 3 nr")


def saddle(x):
    """f = -(x^2 - 1)^2 - y^2 - x y / 2: not concave for |x| < 0.6 (x^2 < 1/3 + 1/192)."""
    a, b = x
    return (-(a * a - 1) ** 2 - b * b - 0.5 * a * b,
            np.array([-4 * a * (a * a - 1) - 0.5 * b, -2 * b - 0.5 * a]))


def saddle_hessian(x):
    return np.array([[-12 * x[0] ** 2 + 4, -0.5], [-0.5, -2.0]])


def test_difficult_takes_the_marquardt_step_where_not_concave():
    g, H = np.array([0.3, -0.2]), saddle_hessian(np.array([0.1, 0.0]))
    lam = np.linalg.eigvalsh(-H)
    mu = -lam.min() + 1e-3 * np.abs(lam).max()
    step, concave = ascent_direction(g, H, difficult=True)
    assert not concave
    np.testing.assert_allclose(step, np.linalg.solve(-H + mu * np.eye(2), g), rtol=1e-12)
    default, _ = ascent_direction(g, H)
    assert np.linalg.norm(default - step) > 0.1 * np.linalg.norm(step)


def test_difficult_changes_the_path_from_a_non_concave_start():
    crit = Criterion(saddle, saddle_hessian)
    plain = newton_maximize(lambda t, final: crit, [0.05, 0.0])
    hard = newton_maximize(lambda t, final: crit, [0.05, 0.0], difficult=True)
    assert plain.converged and hard.converged
    assert not plain.path[0].concave
    assert (plain.nit, hard.nit) == (8, 6)
    assert abs(plain.value - hard.value) < 1e-12                  # seen 0
    np.testing.assert_allclose(hard.x, plain.x, atol=1e-8)        # seen 0


def test_stopping_needs_the_scaled_gradient_and_one_of_the_changes():
    stop = Stopping(tolerance=1e-6, ltolerance=1e-7, nrtolerance=1e-5)
    assert stop.met(True, (1.0, 1e-8, 1e-6))           # log likelihood settled
    assert stop.met(True, (1e-7, 1.0, 1e-6))           # coefficients settled
    assert not stop.met(True, (1.0, 1.0, 1e-6))
    assert not stop.met(True, (1e-7, 1e-8, 1e-3))      # scaled gradient too large
    assert not stop.met(False, (1e-7, 1e-8, 1e-6))     # not concave
    assert Stopping(1e-6, 1e-7, 1e-5, nonrtolerance=True).met(True, (1e-7, 1.0, 1e3))
    b = np.array([1.0, -2.0])
    db, dl, nr = stop.measures(b + [0.01, 0.0], b, -10.0, -10.5, 0.3)
    assert db == pytest.approx(0.01 / 2.0, rel=1e-12) and dl == pytest.approx(0.5 / 11.5)


def counted(**kw):
    return newton_maximize(lambda t, final: Criterion(neg_rosen), [-1.2, 1.0], iterate=300,
                           **kw).nit


def neg_rosen(x):
    a, b = x
    return (-((1 - a) ** 2 + 100 * (b - a * a) ** 2),
            -np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)]))


def test_each_tolerance_changes_where_the_maximiser_stops():
    """Rosenbrock from (-1.2, 1): 34 iterations by default."""
    base = counted()
    assert base == 34
    assert counted(ltolerance=1e-2) == base                      # the scaled gradient rules
    assert counted(ltolerance=1e-2, nonrtolerance=True) == 26    # ltolerance alone
    assert counted(tolerance=1e-1, ltolerance=1e-30, nonrtolerance=True) == 2   # tolerance
    assert counted(nrtol=1e-1, ltolerance=1e-3) == 29            # a loose nrtolerance
    assert counted(ltolerance=1e-3) == base


def test_showtolerance_and_the_displays_print_what_they_name():
    printed = []
    newton_maximize(refresh_poisson, np.zeros(2), log=True, printer=printed.append,
                    display=("showtolerance", "trace", "gradient", "hessian", "showstep"),
                    names=["_cons", "x"])
    text = "\n".join(printed)
    assert "(tolerance = " in text and "(nrtolerance = " in text
    assert "Parameter vector:" in text and "Gradient vector (length = " in text
    assert "Negative Hessian:" in text and "  Step 1: " in text
    assert any(line.strip().startswith("_cons") for line in printed)


def test_numerical_gradient_matches_the_analytic_one():
    b = np.array([0.2, 0.4])
    np.testing.assert_allclose(fd_gradient(lambda t: poisson(t)[0], b), poisson(b)[1],
                               rtol=1e-9)   # seen 1.2e-10
    crit = numerical(refresh_poisson)(b)
    np.testing.assert_allclose(crit.value_grad(b)[1], central_jacobian(
        lambda t: np.array([poisson(t)[0]]), b, 1e-5)[0], rtol=1e-9)   # seen 1.1e-10
    assert crit.hessian is None and crit.scores is None


def test_numerical_derivatives_reach_the_same_maximum():
    nr = newton_maximize(refresh_poisson, np.zeros(2))
    num = newton_maximize(numerical(refresh_poisson), np.zeros(2))
    assert num.converged
    assert abs(num.value - nr.value) < 1e-10                 # seen 2.2e-12
    np.testing.assert_allclose(num.x, nr.x, atol=1e-6)       # seen 2.3e-7 (see nrtolerance)
