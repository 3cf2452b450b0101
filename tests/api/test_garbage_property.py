"""Property: random garbage in any one argument of a front gives either a fit with finite
estimates or a ValueError/TypeError raised by mcglmm's own code -- never another exception,
a hang (the generous deadline) or a silent NaN."""
import inspect
import warnings
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fronts import BASE, DATA, FRONTS, call

SMALL_INTS = st.integers(-3, 30)
HUGE = st.sampled_from([10 ** 12, 10 ** 30, -10 ** 30, 2 ** 63, 2 ** 31])
WORDS = st.sampled_from(["", "y", "x", "g", "s", "~", "y ~ x", "(1 | g)", "y ~ (1 | g)",
                         "0 + g", "nan", "laplace", "robust", "bernoulli", "auto"])
ODD = st.sampled_from([np.int64(3), np.float64(np.nan), np.bool_(True), np.array([1.0, 2.0]),
                       np.array(4), pd.NA, object(), (), {}, b"y ~ x", DATA[["x"]],
                       DATA["x"].to_numpy(), ("cluster", "g"), slice(1)])
TOKENS = ["y", "x", "z", "g", "s", "word", "cnt", "+", "*", ":", "/", "(", ")", "|", "~", "1",
          "0", "-", "C(g)", "np.log(cnt + 1)", "I(x ** 2)", "Q('x')", "(1 | g)", "(x | s)",
          "cbind(cnt, y)", "**", ","]
FORMULAS = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=8).map(" ".join)
GARBAGE = st.one_of(st.none(), st.booleans(), SMALL_INTS, HUGE, FORMULAS,
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6), WORDS,
                    st.lists(st.one_of(SMALL_INTS, WORDS), max_size=3),
                    st.dictionaries(WORDS, SMALL_INTS, max_size=2), ODD)
SETTINGS = settings(max_examples=150, deadline=timedelta(seconds=20), derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def _arguments(front):
    return sorted(inspect.signature(FRONTS[front]).parameters)


def _raised_in_mcglmm(err):
    tb = err.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return "/mcglmm/" in tb.tb_frame.f_code.co_filename.replace("\\", "/")


def _finite_estimates(fit):
    """The estimates a front returns (a fit, start values or an LRFrame) are finite."""
    for name in ("beta", "nu", "b", "theta"):
        value = getattr(fit, name, None)
        if value is not None:
            return bool(np.all(np.isfinite(np.asarray(value, dtype=float))))
    if isinstance(fit, pd.Series):
        return bool(np.all(np.isfinite(fit.to_numpy(dtype=float))))
    return hasattr(fit, "X") and bool(np.all(np.isfinite(fit.X)))


def _check(front, name, value):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = call(front, {name: value})
    except (ValueError, TypeError) as err:
        assert _raised_in_mcglmm(err), f"{front}({name}={value!r}): {err!r} from outside mcglmm"
        return
    assert _finite_estimates(fit), f"{front}({name}={value!r}) returned non-finite estimates"


@pytest.mark.parametrize("front", sorted(BASE))
def test_garbage_in_one_argument_is_a_fit_or_mcglmms_own_error(front):
    @SETTINGS
    @given(name=st.sampled_from(_arguments(front)), value=GARBAGE)
    def prop(name, value):
        _check(front, name, value)
    prop()


FIXED_KEY = {"glmm": "fixed", "meglm": "formula", "lr2": "formula", "lr3": "formula"}
RHS = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=6).map(" ".join)
LHS = st.sampled_from(["y ~ ", "cnt ~ ", "", "y ~ x + ", "y ~ x + (1 | g) + "])


@pytest.mark.parametrize("front", sorted(BASE))
def test_garbage_formulas_are_a_fit_or_mcglmms_own_error(front):
    @SETTINGS
    @given(lhs=LHS, rhs=RHS)
    def prop(lhs, rhs):
        _check(front, FIXED_KEY[front], lhs + rhs)
    prop()


@SETTINGS
@given(rhs=RHS)
def test_garbage_random_formulas_of_glmm(rhs):
    _check("glmm", "random", rhs)
