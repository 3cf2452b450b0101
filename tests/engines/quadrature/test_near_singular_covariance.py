"""A near-singular 3x3 unstructured covariance makes theta infeasible, never a raw error.

The mode-curvature adaptation inverts each group's block of the curvature and factors the
inverse: with Sigma near-singular that inverse is not numerically positive definite (a
LinAlgError from numpy before issue 12), or the penalised Hessian of the mode search has no
factor even with the curvatures floored (an AttributeError).  Both now make the adaptation
None, so the quadrature's value is -inf and the optimiser halves its step.
"""
import warnings

import numpy as np
import pandas as pd
import pytest

from mcglmm.api.meglm import build_model
from mcglmm.engines.quadrature.laplace import (_conditionals, curvature_adapt,
                                               mode_and_curvature)
from mcglmm.engines.quadrature.objective import Objective, StartSearch
from mcglmm.model.families import get_family

# theta = (beta (3), psi (6): the rows of L's lower triangle, its diagonal as logs)
RAW_LINALG = np.r_[np.zeros(3), 0.2, -77.6, -5.8, -16.1, -12.2, -6.1]
NO_FACTOR = np.r_[np.zeros(3), 0.0, 1.0, -10.0, 1.0, 1.0, -10.0]


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(1)
    n, groups = 400, 40
    data = pd.DataFrame(dict(y=(rng.uniform(size=n) < 0.5).astype(float),
                             x=rng.normal(size=n), z=rng.normal(size=n),
                             g=np.repeat(np.arange(groups), n // groups)))
    family = get_family("bernoulli", None, "mean")
    return build_model("y ~ x + z + (1 + x + z | g)", data, family, "unstructured", False,
                       None, None, 1.0)[0]


def test_the_case_is_reproduced(model):
    """The blocks' computation itself still raises: the guard, not the data, changed."""
    u, _, K, c_lev = mode_and_curvature(model, RAW_LINALG)
    with pytest.raises(np.linalg.LinAlgError):
        _conditionals(model, u, K, c_lev)


@pytest.mark.parametrize("theta", [RAW_LINALG, NO_FACTOR], ids=["inverse-not-pd", "no-factor"])
def test_the_adaptation_is_infeasible_not_an_error(model, theta):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adapt, mode = curvature_adapt(model, theta)
    assert adapt is None and mode.shape == (model.Zj.shape[1],)


@pytest.mark.parametrize("intmethod", ["mcaghermite", "mvaghermite"])
@pytest.mark.parametrize("theta", [RAW_LINALG, NO_FACTOR], ids=["inverse-not-pd", "no-factor"])
def test_the_quadrature_value_is_minus_infinity_so_newton_halves(model, intmethod, theta):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = StartSearch(model, intmethod, 3)
        assert search.value(theta) == -np.inf
        crit = Objective(model, intmethod, 3, search.state).refresh(theta)
        assert crit.value_grad(theta)[0] == -np.inf
