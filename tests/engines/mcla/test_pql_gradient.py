"""PQL's outer criterion F(log sigma): its exact gradient and the mode's derivatives against
central differences, and the polished mode that makes F a smooth function of sigma."""
import numpy as np
import pandas as pd
import pytest

import mcglmm as mc
from fd import central_gradient, central_jacobian, relative_error
from mcglmm.design import glmm_design
from mcglmm.design.gram import WeightedGram
from mcglmm.engines import fixed_pattern
from mcglmm.engines.fixed_pattern import FactorPlan
from mcglmm.engines.mcla.pql import outer_point, pql_start


def _murder():
    """Overdispersed Poisson with one random effect per respondent (q = n = 1308)."""
    data = mc.datasets.load("murder")
    data["y"] = data["y"] - 1
    data["id"] = pd.Categorical(np.arange(len(data)))
    return glmm_design("y ~ 0 + race", "0 + id", data, mc.poisson_glmm, ["respondent"]), \
        mc.poisson_glmm


def _salamander(family, equal=False):
    """Equal: one variance for females and males, whose block of H is not diagonal (LU)."""
    d = glmm_design("Mate ~ 0 + Cross", ["0 + Female", "0 + Male"],
                    mc.datasets.load("salamander"), family, ["FM"] if equal else ["F", "M"],
                    varcomps_equal=[1, 1] if equal else None)
    return d, family


CASES = {"salamander-bernoulli": lambda: _salamander(mc.bernoulli_glmm),
         "salamander-poisson": lambda: _salamander(mc.poisson_glmm),
         "salamander-equal-lu": lambda: _salamander(mc.bernoulli_glmm, equal=True),
         "murder": _murder}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    design, family = CASES[request.param]()
    gram = WeightedGram.build(design.Z)
    x = np.log(np.array([1.1, 0.8])[:design.T])
    at = outer_point(design, family, gram, FactorPlan.build(gram, design.vc_index), x,
                     np.zeros(design.p), np.ones(design.q))
    assert at.converged
    return design, family, gram, FactorPlan.build(gram, design.vc_index), x, at


def _warm(case, x):
    design, family, gram, plan, _, at = case
    return outer_point(design, family, gram, plan, x, at.beta, at.u)


def test_gradient_of_F_matches_central_differences(case):
    x, at = case[4], case[5]
    fd = central_gradient(lambda t: _warm(case, t).value, x, h=1e-5)
    # seen 1.5e-9 (salamander), 9.5e-10 (murder) relative: F's rounding over 2h and h^2
    assert relative_error(at.gradient, fd) < 1e-8


def test_mode_derivatives_match_central_differences(case):
    x, at = case[4], case[5]
    du = central_jacobian(lambda t: _warm(case, t).u, x, h=1e-6)
    dbeta = central_jacobian(lambda t: _warm(case, t).beta, x, h=1e-6)
    assert relative_error(at.du, du) < 2e-9          # seen 1.6e-10 (salamander), 1.1e-10 (murder)
    assert relative_error(at.dbeta, dbeta) < 2e-9    # seen 2.3e-10 (salamander), 9.1e-11 (murder)


def test_F_does_not_depend_on_the_inner_start(case):
    """The polished mode: before it, murder's log det moved by 1e-6 between two starts."""
    design, family, gram, plan, x, at = case
    cold = outer_point(design, family, gram, plan, x, np.zeros(design.p), np.zeros(design.q))
    assert abs(cold.value - at.value) < 1e-10 * abs(at.value)       # seen 8e-12 relative


def test_pql_gradient_vanishes_at_the_start_it_returns():
    design, family = _salamander(mc.bernoulli_glmm)
    start = pql_start(design, family)
    gram = WeightedGram.build(design.Z)
    at = outer_point(design, family, gram, FactorPlan.build(gram, design.vc_index),
                     np.log(start.sigma), start.beta, start.u)
    # seen 2.2e-9 (F = 210): L-BFGS-B stops on F's relative decrease (pql.FTOL 1e-10)
    assert np.max(np.abs(at.gradient)) < 1e-8
    np.testing.assert_allclose(at.u, start.u, atol=1e-10)          # seen 0: the same solve


def test_forward_differences_where_the_selected_inverse_is_dear(monkeypatch):
    """An LU plan past LU_SELECTED_MAX: L-BFGS-B's own differences, the same PQL."""
    design, family = _salamander(mc.bernoulli_glmm, equal=True)
    gram = WeightedGram.build(design.Z)
    assert FactorPlan.build(gram, design.vc_index).lead is None
    exact = pql_start(design, family)
    monkeypatch.setattr(fixed_pattern, "LU_SELECTED_MAX", 0)
    assert not FactorPlan.build(gram, design.vc_index).cheap_selected
    differenced = pql_start(design, family)
    assert exact.converged and differenced.converged
    np.testing.assert_allclose(differenced.nu, exact.nu, rtol=5e-4)        # seen 1.0e-4
    np.testing.assert_allclose(differenced.beta, exact.beta, atol=1e-4)    # seen 2.5e-5
