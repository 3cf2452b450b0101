"""The one step-halving rule: try t = 1, 1/2, 1/4, ... along a step until the objective is
finite and not below the current value.

``halve_step(value_at, value)`` knows nothing of the step itself: ``value_at(t)`` evaluates
the objective at the trial point for t and returns a tuple whose first entry is the value
(the rest, such as derivatives there, is handed back so the caller need not recompute it).
A trial point whose value is NaN or -inf, or below ``value - slack``, is rejected; when
``max_halvings`` halvings find nothing the rule returns None and the caller stays where it
is.  So a worse or non-finite point is never accepted.  ``slack`` (>= 0, default 0) admits
a decrease of that size, for callers whose values carry summation rounding of that order
at the optimum (Newton on a quadrature log likelihood: 1e-10 |value|).
"""
from __future__ import annotations

import numpy as np

from ..exceptions import bad_value

MAX_HALVINGS = 40


def halve_step(value_at, value, max_halvings=MAX_HALVINGS, slack=0.0):
    """(t, value_at(t)) for the first t in 1, 1/2, ..., 2^-max_halvings with value_at(t)[0]
    finite and >= value - slack; None when there is none.

    value_at: t (float) -> tuple (value, ...); value: the current value (finite);
    max_halvings: non-negative int; slack: non-negative float.
    """
    if isinstance(max_halvings, bool) or not isinstance(max_halvings, (int, np.integer)) \
            or max_halvings < 0:
        raise ValueError(bad_value("max_halvings", "a non-negative integer", max_halvings))
    if not (np.isfinite(slack) and slack >= 0):
        raise ValueError(bad_value("slack", "a finite number >= 0", slack))
    floor = value - slack
    t = 1.0
    for _ in range(max_halvings + 1):
        trial = value_at(t)
        if np.isfinite(trial[0]) and trial[0] >= floor:
            return t, trial
        t *= 0.5
    return None


__all__ = ["halve_step", "MAX_HALVINGS"]
