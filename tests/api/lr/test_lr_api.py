"""lr2/lr3 fronts: frames, argument checks, sorting and nesting, printing, coef, lr2 fits."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mcglmm as mc
from fd import central_jacobian
from mcglmm.api.lr import logit_start
from mcglmm.optim.trust import maximize
from mcglmm.results.covariance import covariance_from_hessian
from mcglmm.results.lr import LRFit

from test_lr_likelihood import _brute_force_two_level, _problem


def test_lr3_frame_has_the_notes_structures(small3):
    fr = mc.lr3("y ~ x", "mom", "comm", small3, frame=True)
    assert fr.X.shape == (len(small3), 2) and fr.x_names == ("Intercept", "x")
    np.testing.assert_array_equal(fr.n12, small3.groupby("mom", sort=False).size())
    np.testing.assert_array_equal(fr.n13, small3.groupby("comm", sort=False).size())
    np.testing.assert_array_equal(fr.n23, small3.groupby("comm", sort=False)["mom"].nunique())
    np.testing.assert_array_equal(fr.y, small3["y"])


def test_lr2_frame_has_n12_only(small3):
    fr = mc.lr2("y ~ x", "mom", small3, frame=True)
    assert fr.n13 is None and fr.n23 is None and fr.levels == 2
    assert fr.n12.sum() == len(small3)


def test_factor_response_counts_its_second_level(small3):
    as_factor = small3.assign(y=pd.Categorical(np.where(small3["y"] == 1, "Y", "N")))
    fr = mc.lr2("y ~ x", "mom", as_factor, frame=True)
    np.testing.assert_array_equal(fr.y, small3["y"])


def test_rows_with_missing_values_are_dropped_and_counted(small3):
    holes = small3.copy()
    holes.loc[[0, 5], "x"] = np.nan
    fr = mc.lr3("y ~ x", "mom", "comm", holes, frame=True)
    assert fr.n_dropped == 2 and len(fr.y) == len(small3) - 2


def _shuffled(data, seed=3):
    return data.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def test_unsorted_ids_raise_with_the_fix(small3):
    with pytest.raises(ValueError, match=r"sorted by 'comm' and then 'mom'.*sort=True"):
        mc.lr3("y ~ x", "mom", "comm", _shuffled(small3))
    with pytest.raises(ValueError, match=r"data must be sorted by 'mom'.*sort=True"):
        mc.lr2("y ~ x", "mom", _shuffled(small3))


def test_sort_true_sorts_for_the_user(medium3):
    fit_sorted = mc.lr3("y ~ x", "mom", "comm", medium3, quad_pts=6)
    fit_shuffled = mc.lr3("y ~ x", "mom", "comm", _shuffled(medium3), quad_pts=6, sort=True)
    assert fit_shuffled.loglik == pytest.approx(fit_sorted.loglik, rel=1e-12)
    np.testing.assert_allclose(fit_shuffled.theta, fit_sorted.theta, rtol=1e-7, atol=1e-9)


def test_level2_not_nested_in_level3_raises_even_with_sort(small3):
    crossed = small3.copy()
    crossed.loc[crossed.index[-1], "mom"] = crossed["mom"].iloc[0]  # first mom also in last comm
    for sort in (False, True):
        with pytest.raises(ValueError, match=r"level2 must be nested in level3.*across comm"):
            mc.lr3("y ~ x", "mom", "comm", crossed, sort=sort)


def test_ids_numbered_within_level3_are_refused_as_not_nested(small3):
    within = small3.assign(mom=small3.groupby("comm")["mom"].rank(method="dense").astype(int))
    with pytest.raises(ValueError, match="nested"):
        mc.lr3("y ~ x", "mom", "comm", within)


@pytest.mark.parametrize("sigma", [0.0, -0.6, np.nan, [0.6, 0.6], "a"])
def test_lr2_bad_sigma(small3, sigma):
    with pytest.raises(ValueError, match="sigma must be a number > 0"):
        mc.lr2("y ~ x", "mom", small3, sigma=sigma)


@settings(max_examples=25, derandomize=True, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=3))
def test_lr3_sigma_must_be_two_positive_numbers(small3, sigma):
    good = len(sigma) == 2 and all(np.isfinite(s) and s > 0 for s in sigma)
    if good:
        assert mc.lr3("y ~ x", "mom", "comm", small3, sigma=sigma, frame=True) is not None
    else:
        with pytest.raises(ValueError, match=r"sigma must be two numbers > 0 \(level 2, level 3\)"):
            mc.lr3("y ~ x", "mom", "comm", small3, sigma=sigma)


@pytest.mark.parametrize("kwargs, match", [
    ({"quad_pts": 0}, "quad_pts must be an integer >= 1"),
    ({"quad_pts": 2.5}, "quad_pts must be an integer >= 1"),
    ({"beta": [0.1]}, r"beta must be 2 finite numbers"),
    ({"beta": pd.Series([0.1, 0.2], index=["a", "b"])}, "beta must be indexed by the fixed"),
    ({"frame": "yes"}, "frame must be True or False"),
    ({"sort": 1}, "sort must be True or False"),
])
def test_bad_arguments_are_named(small3, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mc.lr2("y ~ x", "mom", small3, **kwargs)


def test_bad_columns_formula_and_data(small3):
    with pytest.raises(ValueError, match="level3 must be the name of a column of data"):
        mc.lr3("y ~ x", "mom", "village", small3)
    with pytest.raises(ValueError, match="formula must be a two-sided formula"):
        mc.lr2("x", "mom", small3)
    with pytest.raises(TypeError, match="data must be a pandas DataFrame; got 'dict'"):
        mc.lr2("y ~ x", "mom", small3.to_dict())
    with pytest.raises(TypeError, match="data must be a pandas DataFrame; got 'ndarray'"):
        mc.lr3("y ~ x", "mom", "comm", small3.to_numpy())
    with pytest.raises(ValueError, match="Bernoulli"):
        mc.lr2("x ~ y", "mom", small3)


QUAD_PTS = 200  # sigma-hat is 2.66: GHQ error 2.5e-10 with 120 points, 1.7e-13 with 200


@pytest.fixture(scope="module")
def fit2(small3):
    return mc.lr2("y ~ x", "mom", small3, quad_pts=QUAD_PTS)


def test_lr2_fit_maximises_the_brute_force_likelihood(small3, fit2):
    """At lr2's estimate the adaptive-quad likelihood has the same value and a zero gradient."""
    problem = _problem(small3, 2, QUAD_PTS)
    exact = _brute_force_two_level(problem, fit2.theta)
    assert exact == pytest.approx(fit2.loglik, rel=1e-11)  # seen 2e-13
    h = 1e-5
    fd = np.array([(_brute_force_two_level(problem, fit2.theta + h * e)
                    - _brute_force_two_level(problem, fit2.theta - h * e)) / (2 * h)
                   for e in np.eye(3)])
    np.testing.assert_allclose(fd, 0, atol=1e-5)  # seen 3.5e-8


def test_lr2_summary_and_print_layout(fit2):
    s = fit2.summary()
    assert list(s.table.columns) == ["Coef", "Std. Error", "t value"]
    assert list(s.table.index) == ["Intercept", "x", "log(sigma)", "sigma"]
    assert s.table.loc["sigma", "Std. Error"] == pytest.approx(
        fit2.sigma["sigma"] * s.table.loc["log(sigma)", "Std. Error"], rel=1e-14)
    lines = str(fit2).splitlines()
    assert lines[0] == "2-level logit model"
    assert lines[1] == "observations:  73 29"
    assert lines[2].startswith("logL =  -")
    assert lines[3].split() == ["Intercept", "x", "log(sigma)", "sigma"]
    assert str(s).splitlines()[:3] == lines[:3]


def test_lr2_standard_errors_match_differences_of_the_gradient(small3, fit2):
    """(-H)^{-1} from the analytic Hessian vs central differences of the analytic gradient."""
    problem = _problem(small3, 2, QUAD_PTS)
    fd = central_jacobian(lambda t: problem.evaluate(t).gradient, fit2.theta, 1e-5)
    se_fd = np.sqrt(np.diag(np.linalg.inv(-0.5 * (fd + fd.T))))
    np.testing.assert_allclose(fit2.bse.iloc[:3], se_fd, rtol=1e-6)  # seen 2.7e-11


def test_coef_selects_beta_and_sigma(fit2):
    assert list(fit2.coef().index) == ["Intercept", "x", "sigma"]
    assert list(fit2.coef(True, False).index) == ["Intercept", "x"]
    assert list(fit2.coef(False, True).index) == ["sigma"]
    assert fit2.coef(False, True)["sigma"] == pytest.approx(np.exp(fit2.theta[-1]), rel=1e-15)


def test_refit_from_coef_starts_at_the_optimum(small3, fit2):
    again = mc.lr2("y ~ x", "mom", small3, quad_pts=QUAD_PTS, beta=fit2.coef(True, False),
                   sigma=fit2.coef(False, True))
    assert again.n_iter <= 1
    np.testing.assert_allclose(again.theta, fit2.theta, rtol=1e-8)


def test_trace_prints_iterations(small3, capsys):
    mc.lr2("y ~ x", "mom", small3, quad_pts=4, trace=True)
    out = capsys.readouterr().out
    assert out.startswith("iter   0  logL = ") and "iter   1  logL = " in out


def test_stopping_early_warns_and_flags(small3):
    frame = mc.lr2("y ~ x", "mom", small3, frame=True)
    theta0 = np.append(logit_start(frame.model), np.log(0.6))
    maximum = maximize(lambda t: frame.evaluate(t, 8), theta0, iterlim=1)
    assert not maximum.converged
    with pytest.warns(mc.ConvergenceWarning, match="stopped before converging after 1 iterations"):
        fit = LRFit.from_maximum(maximum, formula="y ~ x", x_names=("Intercept", "x"),
                                 n_units=(73, 29), quad_pts=8, n_dropped=0)
    assert not fit.converged


def test_vanishing_sigma3_warns_of_the_boundary(small3):
    """These data have no level-3 variation: log(sigma3) drifts down; lr2's estimates result."""
    with pytest.warns(mc.BoundaryWarning, match="at its boundary"):
        fit3 = mc.lr3("y ~ x", "mom", "comm", small3, quad_pts=8)
    fit2 = mc.lr2("y ~ x", "mom", small3, quad_pts=8)
    assert fit3.sigma["sigma3"] < 1e-3
    # the trust region stops at sigma3 = 1e-4, where the predicted increase is below mterm
    np.testing.assert_allclose(fit3.theta[:3], fit2.theta, rtol=1e-6)  # seen 2e-14
    assert fit3.loglik == pytest.approx(fit2.loglik, abs=1e-6)  # seen 8.8e-9


def test_hessian_not_negative_definite_gives_nan_standard_errors():
    with pytest.warns(mc.HessianWarning, match="not negative definite"):
        cov = covariance_from_hessian(np.diag([-1.0, 2.0]), "advice")
    assert np.isnan(cov).all()
    np.testing.assert_allclose(covariance_from_hessian(-np.diag([4.0, 0.25]), "advice"),
                               np.diag([0.25, 4.0]))


def test_reordering_and_relabelling_units_changes_nothing(medium3):
    """Communities in another order, mothers renamed by strings: same likelihood, gradient."""
    rng = np.random.default_rng(11)
    new_order = dict(zip(medium3["comm"].unique(), rng.permutation(medium3["comm"].nunique())))
    moved = (medium3.assign(rank=medium3["comm"].map(new_order))
             .sort_values("rank", kind="stable")
             .assign(mom=lambda d: "m" + d["mom"].astype(str)))
    theta = np.array([-0.2, 0.7, np.log(1.1), np.log(0.4)])
    before = mc.lr3("y ~ x", "mom", "comm", medium3, frame=True).evaluate(theta, 10)
    after = mc.lr3("y ~ x", "mom", "comm", moved, frame=True).evaluate(theta, 10)
    assert after.value == pytest.approx(before.value, rel=1e-13)  # seen 0
    np.testing.assert_allclose(after.gradient, before.gradient, rtol=1e-11, atol=1e-12)  # seen 3e-15
