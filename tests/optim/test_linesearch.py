"""The one step-halving rule: the first acceptable t, never a worse or non-finite point."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcglmm.optim.linesearch import halve_step


def _along(f, x, step):
    return lambda t: (f(x + t * step), x + t * step)


def test_a_full_step_that_improves_is_taken():
    t, (value, x) = halve_step(_along(lambda x: -x ** 2, 2.0, -2.0), -4.0)
    assert t == 1.0 and value == 0.0 and x == 0.0


def test_an_overshooting_step_is_halved_until_it_improves():
    """-x^2 from x = 1 along -8: t = 1 lands at -7, 1/2 at -3, 1/4 at -1 (equal: accepted)."""
    t, (value, x) = halve_step(_along(lambda x: -x ** 2, 1.0, -8.0), -1.0)
    assert t == 0.25 and x == -1.0 and value == -1.0


@pytest.mark.parametrize("bad", [np.nan, -np.inf, np.inf])
def test_non_finite_trial_values_are_rejected(bad):
    """Beyond x = 0.3 the objective is not finite; the first finite, better point is taken."""
    def f(x):
        return bad if x > 0.3 else x
    t, (value, _) = halve_step(_along(f, 0.0, 1.0), 0.0)
    assert t == 0.25 and value == 0.25


def test_nothing_acceptable_returns_none_after_max_halvings_plus_one_tries():
    tried = []

    def value_at(t):
        tried.append(t)
        return (-1.0 - t,)
    assert halve_step(value_at, 0.0, max_halvings=5) is None
    assert tried == [2.0 ** -j for j in range(6)]


def test_slack_admits_a_decrease_no_larger_than_itself():
    assert halve_step(lambda t: (-1e-12,), 0.0, 3) is None
    t, value = halve_step(lambda t: (-1e-12,), 0.0, 3, slack=1e-12)
    assert t == 1.0 and value == (-1e-12,)


@pytest.mark.parametrize("kwargs, match", [({"max_halvings": -1}, "max_halvings must be"),
                                           ({"max_halvings": 2.5}, "max_halvings must be"),
                                           ({"max_halvings": True}, "max_halvings must be"),
                                           ({"slack": -1.0}, "slack must be a finite number"),
                                           ({"slack": np.nan}, "slack must be a finite number")])
def test_bad_options_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        halve_step(lambda t: (0.0,), 0.0, **kwargs)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(np.nan)),
                min_size=1, max_size=12), st.floats(-1e6, 1e6))
def test_never_accepts_a_worse_or_non_finite_value(values, current):
    """Whatever the trial values, the accepted one is finite and >= current, and it is the
    first such in the sequence."""
    found = halve_step(lambda t: (values[int(round(-np.log2(t)))],), current,
                       max_halvings=len(values) - 1)
    good = [j for j, v in enumerate(values) if np.isfinite(v) and v >= current]
    if not good:
        assert found is None
        return
    t, (value,) = found
    assert np.isfinite(value) and value >= current
    assert t == 2.0 ** -good[0]
