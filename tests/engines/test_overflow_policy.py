"""The one overflow policy for exp(eta) (``model.links``), seen from the quadrature engine.

With a random-intercept sd of 250 the outer Gauss-Hermite nodes put eta far past 709.78:
mu = exp(eta) is +inf there, those nodes have likelihood 0 (weight 0), and the log
likelihood and its gradient stay finite: no NaN from 0 * inf in the weighted sums.
"""
import warnings

import numpy as np
import pandas as pd
import pytest

from mcglmm.api.meglm import build_model
from mcglmm.engines.quadrature.nested import aghq
from mcglmm.model.families import get_family


@pytest.mark.parametrize("family,aux", [("poisson", []), ("nbinomial", [0.0]),
                                        ("gamma", [0.0]), ("gaussian", [0.0])])
def test_nodes_past_exp_range_have_weight_zero_not_nan(family, aux):
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"y": rng.poisson(2.0, 30) + 1.0, "x": rng.normal(size=30),
                         "g": np.repeat(np.arange(6), 5)})
    model, _ = build_model("y ~ x + (1 | g)", data, get_family(family, "log"), "independent",
                           False, None, None, None)
    theta = np.r_[[0.5, 0.1], aux, np.log(250.0)]
    assert np.max(np.abs(model.X @ theta[:2])) + 250.0 * 3.75 > 709.78   # some nodes overflow
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                  # no RuntimeWarning either
        ev = aghq(model, theta, None, 7)
    assert np.isfinite(ev.value) and np.all(np.isfinite(ev.gradient))
