"""Gauss-Hermite rules against the standard normal density.

``gh_rule(k)`` returns nodes ``x`` and weights ``w`` (both ``(k,)``) with

    sum_j w_j f(x_j)  =  integral f(x) phi(x) dx

exactly for polynomials f of degree <= 2k - 1 (phi the N(0, 1) density).  The
nodes come from numpy's probabilists' Hermite rule (Golub-Welsch), the weights
are rescaled to sum to one, and the rule is made exactly symmetric.
"""
from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from ...exceptions import bad_value


@lru_cache(maxsize=64)
def _gh_rule_cached(k):
    x, w = hermegauss(k)
    w = w / w.sum()
    x = 0.5 * (x - x[::-1])
    w = 0.5 * (w + w[::-1])
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def gh_rule(k):
    """Nodes and weights of the k-point Gauss-Hermite rule for N(0, 1); k >= 1."""
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(bad_value("the number of quadrature points", "an integer >= 1", k))
    return _gh_rule_cached(int(k))
