"""Every misuse R glmm rejects raises a ValueError that names the argument, before any fitting."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import mcglmm as mc

SAL = mc.datasets.load("salamander")
BASE = dict(fixed="Mate ~ 0 + Cross", random=["0 + Female", "0 + Male"], varcomps_names=["F", "M"],
            data=SAL, family_glmm=mc.bernoulli_glmm, m=100, seed=1)


def fit(**changes):
    return mc.glmm(**{**BASE, **changes})


@pytest.mark.parametrize("changes, match", [
    (dict(varcomps_names=None), "varcomps_names must be"),
    (dict(varcomps_names=["F"]), "varcomps_names must be of length 2"),
    (dict(varcomps_names=["F", "M", "X"]), "varcomps_names must be of length 2"),
    (dict(varcomps_equal=[2, 2], varcomps_names=["A"]), "varcomps_equal must be integers starting at 1"),
    (dict(varcomps_equal=[1, 3]), "varcomps_equal must be consecutive"),
    (dict(varcomps_equal=[1, 1, 2]), "varcomps_equal must be of length 2"),
    (dict(varcomps_equal=[1.0, 2.0]), "varcomps_equal must be a list of integers"),
    (dict(p1=-0.1, p2=0.6, p3=0.5), "p1 must be a number between 0 and 1"),
    (dict(p1=0.5, p2=1.5, p3=0.0), "p2 must be a number between 0 and 1"),
    (dict(p1=0.0, p2=0.5, p3=0.5), "p1 must be positive"),
    (dict(p1=0.5, p2=0.3, p3=0.3), r"p1 \+ p2 \+ p3 must be 1"),
    (dict(par_init=[0.0] * 5), "par_init must be a vector of length 6"),
    (dict(par_init=[0.0] * 4 + [1.0, 1e-10]), "variance components in par_init must be greater"),
    (dict(weights=np.ones(5)), "weights must be a vector of length 360"),
    (dict(weights=-np.ones(360)), "weights must be non-negative"),
    (dict(weights=np.r_[np.nan, np.ones(359)]), "weights must be without missing values"),
    (dict(m=0), "m must be a positive integer"),
    (dict(m=10.5), "m must be a positive integer"),
    (dict(family_glmm="gaussian"), "family_glmm must be one of"),
    (dict(n_jobs=0), "n_jobs must be a non-zero integer"),
    (dict(seed=-3), "seed must be None or a non-negative integer"),
    (dict(iterlim=0), "iterlim must be a positive integer"),
    (dict(zeta=0), "zeta must be a positive number"),
    (dict(memory_budget=0), "memory_budget must be a positive number"),
])
def test_misuse_is_rejected_by_name(changes, match):
    with pytest.raises(ValueError, match=match):
        fit(**changes)


def test_bernoulli_response_outside_zero_one_is_rejected():
    data = SAL.assign(Mate=SAL["Mate"] * 2)
    with pytest.raises(ValueError, match="response of a Bernoulli family must be 0 or 1"):
        fit(data=data)


@pytest.mark.parametrize("bad, match", [(-1, "non-negative integers"), (1.5, "non-negative integers")])
def test_poisson_response_must_be_counts(bad, match):
    data = SAL.assign(Mate=SAL["Mate"].astype(float))
    data.loc[0, "Mate"] = bad
    with pytest.raises(ValueError, match=match):
        fit(data=data, family_glmm=mc.poisson_glmm)


def test_binomial_response_needs_two_columns():
    cbpp = mc.datasets.load("cbpp")
    with pytest.raises(ValueError, match="binomial response must be two columns"):
        mc.glmm("cbind(incidence, size, size) ~ period", "0 + herd", ["H"], cbpp,
                mc.binomial_glmm, m=10)


def test_two_column_response_only_for_binomial():
    cbpp = mc.datasets.load("cbpp")
    with pytest.raises(ValueError, match="only for binomial_glmm"):
        mc.glmm("cbind(incidence, size - incidence) ~ period", "0 + herd", ["H"], cbpp,
                mc.poisson_glmm, m=10)


def test_missing_values_drop_rows_and_are_counted():
    data = SAL.copy()
    data.loc[[0, 5], "Mate"] = np.nan
    res = fit(data=data, par_init=[0.0] * 4 + [1.0, 1.0], m=200, iterlim=3)
    assert res.n_dropped == 2 and len(res.y) == 358


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.floats(-2, 2), st.floats(-2, 2), st.floats(-2, 2))
def test_any_invalid_mixture_probabilities_are_rejected(p1, p2, p3):
    valid = 0 < p1 <= 1 and 0 <= p2 <= 1 and 0 <= p3 <= 1 and abs(p1 + p2 + p3 - 1) <= 1e-12
    assume(not valid)
    with pytest.raises(ValueError, match=r"p1|p2|p3"):
        fit(p1=p1, p2=p2, p3=p3)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.lists(st.integers(-1, 4), min_size=2, max_size=2))
def test_varcomps_equal_follows_glmm_rules(equal):
    distinct = sorted(set(equal))
    valid = distinct == list(range(1, len(distinct) + 1))
    names = [f"v{i}" for i in range(len(distinct))]
    assume(not valid)
    with pytest.raises(ValueError, match="varcomps_equal|varcomps_names"):
        fit(varcomps_equal=equal, varcomps_names=names)


@pytest.mark.parametrize("changes, match", [
    (dict(random=["0 + Female", ""]), "each random formula must be a non-empty formula"),
    (dict(weights=np.r_[np.inf, np.ones(359)]), "weights must be finite"),
    (dict(data=SAL.assign(x=np.r_[np.inf, np.ones(359)]), fixed="Mate ~ 0 + Cross + x"),
     r"fixed-effects design \(x\) must be finite"),
    (dict(zeta=np.int64(0)), "zeta must be a positive number"),
    (dict(sampler=mc.SamplerInputs(np.zeros(4), np.array([np.nan, 1.0]), np.zeros(120))),
     "sampler.nu must be finite"),
    (dict(sampler=mc.SamplerInputs(np.zeros(4), np.ones(2), np.zeros(120)), par_init=[0.0] * 5),
     "par_init must be a vector of length 6"),
])
def test_non_finite_or_empty_input_is_rejected_by_name(changes, match):
    with pytest.raises(ValueError, match=match):
        fit(**changes)


def test_numpy_scalars_are_accepted_for_numeric_options():
    res = fit(zeta=np.int64(5), rmax=np.float64(100.0), p1=np.float64(0.5), p2=0.25, p3=0.25,
              par_init=[0.0] * 4 + [1.0, 1.0], iterlim=1, m=50)
    assert res.zeta == 5
