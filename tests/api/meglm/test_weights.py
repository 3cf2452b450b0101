"""meglm weights: frequency weights equal expanded data; weighted derivatives; misuse.

Stata's weighted likelihood (Rabe-Hesketh & Skrondal 2006): observation weights
multiply log densities inside the innermost integral, a level's group weights
multiply the log of each group's integrated likelihood.
"""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcglmm.api.meglm import build_model, meglm
from mcglmm.design.weights import weight_spec
from mcglmm.engines.quadrature.laplace import curvature_adapt
from mcglmm.engines.quadrature.nested import aghq
from mcglmm.exceptions import DesignError
from mcglmm.model.families import me_family


def _two_level(seed=5, G=30, per=8):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), per)
    x = rng.normal(size=g.size)
    eta = 0.3 + 0.8 * x + rng.normal(0, 1, G)[g]
    y = (rng.uniform(size=g.size) < 1 / (1 + np.exp(-eta))).astype(int)
    return pd.DataFrame({"y": y, "x": x, "g": g, "fw": rng.integers(1, 4, g.size),
                         "gw": rng.integers(1, 4, G)[g]})


def _three_level(seed=8):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(10), 12)
    h = g * 3 + rng.integers(0, 3, g.size)
    x = rng.normal(size=g.size)
    eta = 0.2 + 0.5 * x + rng.normal(0, 0.7, 10)[g] + rng.normal(0, 0.5, 30)[h]
    y = rng.poisson(np.exp(eta))
    return pd.DataFrame({"y": y, "x": x, "g": g, "h": h, "w1": rng.uniform(0.5, 2, g.size),
                         "w2": rng.uniform(0.5, 2, 30)[h], "w3": rng.uniform(0.5, 2, 10)[g]})


def _expand_groups(data, group, weight):
    """Each group repeated ``weight`` times under new group codes."""
    top = int(data[weight].max())
    parts = [data[data[weight] > k].assign(**{group: data[group] + 10_000 * k})
             for k in range(top)]
    return pd.concat(parts, ignore_index=True)


def _agree(a, b):
    assert a.ll == pytest.approx(b.ll, abs=1e-8)                       # seen 0 to 1.1e-13
    np.testing.assert_allclose(a.b.to_numpy(), b.b.to_numpy(), atol=1e-6)   # seen 1.2e-15
    np.testing.assert_allclose(a.V.to_numpy(), b.V.to_numpy(), atol=1e-6)   # seen 5.8e-16


def test_level_one_frequency_weights_equal_expanded_rows():
    d = _two_level()
    weighted = meglm("y ~ x + (1 | g)", data=d, family="bernoulli", fweight="fw")
    expanded = meglm("y ~ x + (1 | g)", data=d.loc[d.index.repeat(d.fw)], family="bernoulli")
    _agree(weighted, expanded)
    assert weighted.N == expanded.N == d.fw.sum()
    importance = meglm("y ~ x + (1 | g)", data=d, family="bernoulli", iweight="fw")
    assert importance.ll == weighted.ll and importance.vcetype is None


def test_level_two_frequency_weights_equal_replicated_groups():
    d = _two_level()
    weighted = meglm("y ~ x + (1 | g)", data=d, family="bernoulli", fweight={"g": "gw"})
    _agree(weighted, meglm("y ~ x + (1 | g)", data=_expand_groups(d, "g", "gw"),
                           family="bernoulli"))


def test_frequency_weights_at_both_levels_of_a_three_level_model():
    d = _three_level().assign(f1=lambda f: np.ceil(f.w1 * 1.5).astype(int),
                              f2=lambda f: np.ceil(f.w2 * 1.5).astype(int))
    weighted = meglm("y ~ x + (1 | g/h)", data=d, family="poisson",
                     fweight={"_n": "f1", "g:h": "f2"})
    rows = d.loc[d.index.repeat(d.f1)].reset_index(drop=True)
    expanded = _expand_groups(rows, "h", "f2")
    _agree(weighted, meglm("y ~ x + (1 | g/h)", data=expanded, family="poisson"))


def _weighted_model(data, spec, family="poisson"):
    return build_model("y ~ x + (1 + x | g) + (1 | g:h)", data, me_family(family),
                       "unstructured", False, None, None, None, weight_spec(None, None, spec))[0]


def _central(f, theta, h=1e-6):
    return np.array([(f(theta + e) - f(theta - e)) / (2 * h) for e in h * np.eye(len(theta))])


@pytest.mark.parametrize("family", ["poisson", "gaussian"])
def test_weighted_gradient_and_hessian_match_finite_differences(family):
    d = _three_level()
    if family == "gaussian":
        d = d.assign(y=np.log1p(d.y) + np.random.default_rng(1).normal(0, 0.3, len(d)))
    model = _weighted_model(d, {"_n": "w1", "g:h": "w2", "g": "w3"}, family)
    theta = np.random.default_rng(3).normal(0, 0.2, model.dim)
    adapt = curvature_adapt(model, theta)[0]
    ev = aghq(model, theta, adapt, 4, hessian=True)
    num = _central(lambda t: aghq(model, t, adapt, 4).value, theta)
    np.testing.assert_allclose(ev.gradient, num, rtol=1e-5, atol=1e-5)   # seen 7.6e-9
    hess = np.array([(aghq(model, theta + e, adapt, 4).gradient - aghq(model, theta - e, adapt, 4).gradient)
                     / 2e-6 for e in 1e-6 * np.eye(len(theta))]).T
    np.testing.assert_allclose(ev.hessian, hess, rtol=1e-5,
                               atol=1e-6 * np.abs(hess).max())      # seen 5e-10
    nonadaptive = aghq(model, theta, None, 4)
    num = _central(lambda t: aghq(model, t, None, 4).value, theta)
    np.testing.assert_allclose(nonadaptive.gradient, num, rtol=1e-5, atol=1e-5)   # seen 6.7e-9


def test_weighted_scores_sum_to_the_gradient():
    d = _three_level()
    model = _weighted_model(d, {"_n": "w1", "g:h": "w2", "g": "w3"})
    theta = np.random.default_rng(4).normal(0, 0.2, model.dim)
    adapt = curvature_adapt(model, theta)[0]
    ev = aghq(model, theta, adapt, 4, scores=True)
    np.testing.assert_allclose(ev.scores.sum(axis=0), ev.gradient, atol=1e-10)   # seen 5.7e-14


@pytest.mark.parametrize("intmethod", ["mcaghermite", "ghermite"])
def test_frequency_weights_at_both_levels_under_every_quadrature(intmethod):
    """Mode-curvature adaptation uses the weighted mode; non-adaptive nodes need none."""
    d = _two_level()
    weighted = meglm("y ~ x + (1 | g)", data=d, family="bernoulli",
                     fweight={"_n": "fw", "g": "gw"}, intmethod=intmethod)
    rows = d.loc[d.index.repeat(d.fw)].reset_index(drop=True)
    _agree(weighted, meglm("y ~ x + (1 | g)", data=_expand_groups(rows, "g", "gw"),
                           family="bernoulli", intmethod=intmethod))   # seen 2.3e-13 in ll


@settings(derandomize=True, max_examples=30, deadline=None)
@given(st.lists(st.floats(0.1, 10.0), min_size=6, max_size=6),
       st.integers(0, 5), st.floats(1e-6, 1.0))
def test_group_weights_must_be_constant_within_groups(per_group, row, bump):
    """A school weight that changes in any one row is refused; constant ones are taken."""
    d = _two_level(G=6, per=4)
    w = np.asarray(per_group)[d.g.to_numpy()]
    spec = weight_spec(None, None, {"g": w})
    model = build_model("y ~ x + (1 | g)", d, me_family("bernoulli"), "independent", False,
                        None, None, None, spec)[0]
    np.testing.assert_array_equal(model.weights.level[0], per_group)
    w_bad = w.copy()
    w_bad[4 * row] += bump
    with pytest.raises(DesignError, match="constant within the groups of 'g'"):
        build_model("y ~ x + (1 | g)", d, me_family("bernoulli"), "independent", False,
                    None, None, None, weight_spec(None, None, {"g": w_bad}))
