"""Every maximiser returns the one OptimizeResult; the old names stay as aliases."""
import dataclasses

import numpy as np
import pytest

from mcglmm.engines.base import Evaluation
from mcglmm.optim.constraints import maximize as constrained_maximize
from mcglmm.optim.newton import Criterion, newton_maximize
from mcglmm.optim.result import STATUS, OptimizeResult
from mcglmm.optim.trust import maximize as trust_maximize

A = np.array([[-2.0, 0.5], [0.5, -1.0]])
C = np.array([1.0, 2.0])


def _value_grad(x):
    return float(C @ x + 0.5 * x @ A @ x), C + A @ x


def _evaluation(x):
    value, grad = _value_grad(x)
    return Evaluation(value, grad, A)


FITS = {
    "trust": lambda: trust_maximize(_evaluation, np.zeros(2)),
    "newton": lambda: newton_maximize(lambda t, final: Criterion(_value_grad), np.zeros(2)),
    "constrained newton": lambda: constrained_maximize(
        lambda t, final: Criterion(_value_grad, lambda x: A), np.zeros(2), None, None),
}


@pytest.mark.parametrize("name", sorted(FITS))
def test_fields_and_aliases(name):
    fit = FITS[name]()
    assert isinstance(fit, OptimizeResult)
    assert [f.name for f in dataclasses.fields(fit)][:9] == [
        "x", "value", "grad", "hess", "converged", "status", "message", "nit", "path"]
    np.testing.assert_allclose(fit.x, np.linalg.solve(-A, C), rtol=1e-8)
    assert fit.converged and fit.status == 0 and STATUS[fit.status] == "converged"
    assert fit.argument is fit.x and fit.theta is fit.x
    assert fit.gradient is fit.grad and fit.hessian is fit.hess and fit.iterations == fit.nit
    assert fit.argpath.shape == (len(fit.path) + 1, 2) and len(fit.log) == len(fit.path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.x = None


def test_trust_keeps_what_the_objective_returned():
    fit = FITS["trust"]()
    assert isinstance(fit.evaluation, Evaluation)
    assert fit.evaluation.value == fit.value
