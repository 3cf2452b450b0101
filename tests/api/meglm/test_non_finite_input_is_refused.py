"""Non-finite data or start values give a ValueError naming them before any fitting, and the
Newton maximiser never lets a non-finite log likelihood past its line search."""
import importlib

import numpy as np
import pandas as pd
import pytest

import mcglmm as mc
from mcglmm.optim.newton import STALLED, Criterion, newton_maximize


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    n = 60
    return pd.DataFrame({"y": rng.integers(0, 2, n), "x": rng.normal(size=n),
                         "count": rng.poisson(2, n), "score": rng.integers(1, 4, n),
                         "g": np.repeat(np.arange(6), 10), "expo": rng.uniform(0.5, 2, n)})


@pytest.fixture
def no_fitting(monkeypatch):
    """Any fit reached fails the test: the checks must come first."""
    def refuse(*args, **kwargs):
        raise AssertionError("the fixed-effects model was fitted before the input was checked")
    monkeypatch.setattr(importlib.import_module("mcglmm.api.meglm"), "fit_fixed", refuse)


def _with_inf(values, row=3):
    out = np.asarray(values, dtype=float).copy()
    out[row] = np.inf
    return out


@pytest.mark.parametrize("case, match", [
    ("covariate", r"fixed-effects design \(x\) must be finite in every row; got \[inf\]"),
    ("gaussian response", r"response.* must be finite in every row; got \[inf\]"),
    ("ordinal covariate", r"fixed-effects design \(x\) must be finite in every row"),
    ("random covariate", r"random-effects design \(x in \(0 \+ x \| \.\.\.\)\) must be finite"),
    ("offset", r"offset must be finite in every row; got \[inf\]"),
    ("offset column", r"offset must be finite in every row; got \[-inf\]"),
    ("exposure", r"exposure must be finite in every row; got \[inf\]"),
])
def test_non_finite_data_is_named(data, no_fitting, case, match):
    inf_x = data.assign(x=_with_inf(data["x"]))
    calls = {
        "covariate": lambda: mc.meglm("y ~ x + (1 | g)", inf_x, family="bernoulli"),
        "gaussian response": lambda: mc.meglm("x ~ count + (1 | g)", inf_x),
        "ordinal covariate": lambda: mc.meglm("score ~ x + (1 | g)", inf_x, family="ordinal"),
        "random covariate": lambda: mc.meglm("y ~ count + (0 + x | g)", inf_x,
                                             family="bernoulli"),
        "offset": lambda: mc.meglm("count ~ x + (1 | g)", data, family="poisson",
                                   offset=_with_inf(np.zeros(len(data)))),
        "offset column": lambda: mc.meglm("count ~ x + (1 | g)", data.assign(o=-inf_x["x"]),
                                          family="poisson", offset="o"),
        "exposure": lambda: mc.meglm("count ~ x + (1 | g)", data, family="poisson",
                                     exposure=_with_inf(data["expo"])),
    }
    with pytest.raises(ValueError, match=match):
        calls[case]()


def test_inf_in_a_row_dropped_as_missing_is_not_an_error(data):
    missing = data.assign(count=data["count"].where(data.index != 5))
    fit = mc.meglm("count ~ x + (1 | g)", missing, family="poisson",
                   offset=_with_inf(np.zeros(len(data)), row=5))
    assert np.isfinite(fit.ll)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("as_dict", [False, True])
def test_non_finite_from_is_named(data, no_fitting, bad, as_dict):
    names = ["_cons", "x", "/g:psi1"]
    values = [0.1, bad, -0.5]
    from_ = dict(zip(names, values)) if as_dict else values
    with pytest.raises(ValueError, match=r"from_ must be finite; got \{'x': "):
        mc.meglm("y ~ x + (1 | g)", data, family="bernoulli", from_=from_)


def test_from_with_an_infinite_log_likelihood_is_named():
    ticks = mc.datasets.load("grouseticks")
    formula = "TICKS ~ YEAR + cHEIGHT + (1 | BROOD)"
    b = mc.meglm(formula, data=ticks, family="poisson").b.to_numpy().copy()
    b[3] = 800.0   # the intercept: exp(800) overflows every mean
    with pytest.raises(ValueError, match="from_ must be start values at which the log "
                                         "likelihood is finite"):
        mc.meglm(formula, data=ticks, family="poisson", from_=b)


def _quadratic(t):
    return -float(t @ t), -2.0 * t


@pytest.mark.parametrize("theta0, match", [
    ([np.nan, 0.0], r"start value must be finite; got \[nan, 0.0\]"),
    ([np.inf, 0.0], r"start value must be finite"),
])
def test_newton_refuses_a_non_finite_start(theta0, match):
    with pytest.raises(ValueError, match=match):
        newton_maximize(lambda theta, final: Criterion(_quadratic), theta0)


def test_newton_refuses_a_start_with_a_non_finite_value():
    def f(t):
        return -np.inf, np.zeros_like(t)
    with pytest.raises(ValueError, match="a point where the log likelihood and its gradient are "
                                         "finite; got 'log likelihood -inf'"):
        newton_maximize(lambda theta, final: Criterion(f), [1.0])


def test_newton_stops_unconverged_when_no_finite_point_improves():
    """f increases towards 0 and is NaN beyond: every step from 0 is rejected (before, the
    unchecked fallback point reached eigh as NaN: LinAlgError)."""
    def f(t):
        if t[0] > 0:
            return np.nan, np.full(1, np.nan)
        return float(t[0]), np.ones(1)
    fit = newton_maximize(lambda theta, final: Criterion(f), [0.0])
    assert not fit.converged and fit.message == STALLED
    assert fit.theta[0] == 0.0 and fit.value == 0.0


def test_newton_recovers_from_non_finite_trial_points():
    """log(t) - t has its maximum at 1; Newton's first step from 3 lands at t < 0 (NaN)."""
    def f(t):
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(np.log(t[0]) - t[0]), np.array([1.0 / t[0] - 1.0])
    crit = Criterion(f, lambda t: np.array([[-1.0 / t[0] ** 2]]))
    fit = newton_maximize(lambda theta, final: crit, [3.0])
    assert fit.converged and fit.message == "converged"
    assert fit.theta[0] == pytest.approx(1.0, abs=1e-6)


def test_the_fit_warns_why_it_stopped(data):
    with pytest.warns(mc.ConvergenceWarning, match="did not converge in 0 iterations: the "
                                                   r"iteration limit \(0\) was reached"):
        mc.meglm("y ~ x + (1 | g)", data, family="bernoulli", iterate=0)
