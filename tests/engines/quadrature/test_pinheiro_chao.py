"""pcaghermite and pclaplace: the Pinheiro-Chao decomposition against the full Hessian.

The decomposition (``engines.quadrature.pinheiro_chao``) must reproduce the dense
H = Z'WZ + P (its log determinant, solves and inverse on every chain), the full-Hessian
mode-curvature adaptation and Laplace approximation (value, exact gradient), and so the
same maximum through ``meglm`` on Contraception and on a three-level Poisson model
(grouseticks, location > brood).  Stata allows the methods only for bernoulli/binomial
logit and poisson: the Gaussian pig model is refused with the manual's wording.
"""
import numpy as np
import pandas as pd
import pytest

import mcglmm as mc
from fd import central_gradient, central_jacobian, relative_error
from mcglmm.api.meglm import build_model
from mcglmm.engines.quadrature.laplace import curvature_adapt, laplace, prior_precision
from mcglmm.engines.quadrature.nested import aghq
from mcglmm.engines.quadrature.pinheiro_chao import (Decomposition, pc_curvature_adapt,
                                                      pc_laplace, tree)
from mcglmm.engines.quadrature.factor import Prior
from mcglmm.model.families import get_family
from mcglmm.model.params import sigmas, unpack

FORMULA4 = "y ~ x + (1 + x | a) + (1 | a:b) + (1 | a:b:c)"
SLOPES = "y ~ x + (1 + x | a) + (1 + x | a:b) + (1 + x | a:b:c)"   # d = 2 at every level


def _nested(family="poisson", seed=0, sizes=(6, 3, 3, 4)):
    """Simulated three nested random-effect levels (a > b > c, c with ``sizes[3]`` rows)."""
    rng = np.random.default_rng(seed)
    n1, n2, n3, per = sizes
    a = np.repeat(np.arange(n1), n2 * n3 * per)
    b = np.repeat(np.arange(n1 * n2), n3 * per)
    c = np.repeat(np.arange(n1 * n2 * n3), per)
    x = rng.normal(size=len(a))
    eta = (0.2 + 0.5 * x + rng.normal(0, 0.7, n1)[a] + rng.normal(0, 0.5, n1 * n2)[b]
           + rng.normal(0, 0.5, n1 * n2 * n3)[c])
    y = (rng.poisson(np.exp(eta)) if family == "poisson"
         else rng.uniform(size=len(a)) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame(dict(y=y, x=x, a=a, b=b, c=c, w=rng.uniform(0.5, 2.0, len(a)),
                             wa=(1.0 + a % 3)))


def _model(family="poisson", weights=(None, {}), seed=0, formula=FORMULA4):
    model, _ = build_model(formula, _nested(family, seed), get_family(family), "unstructured",
                           False, None, None, None, weights)
    return model


def _theta(model, seed=3):
    return np.random.default_rng(seed).normal(0, 0.3, model.dim)


def test_decomposition_reproduces_the_dense_hessian():
    model = _model()
    rng = np.random.default_rng(1)
    covs = sigmas(model, unpack(model, _theta(model))[2])
    W = rng.uniform(0.1, 3.0, len(model.y))
    P, _ = prior_precision(model, covs)
    H = (model.Zj.T @ model.Zj.multiply(W[:, None]).tocsc() + P).toarray()
    fac = Decomposition.of(tree(model), Prior(tuple(np.linalg.inv(S) for S, _ in covs),
                                              (None,) * len(covs)), W)
    r = rng.normal(size=H.shape[0])
    Hinv = np.linalg.inv(H)
    # observed (relative): logdet 2e-16, solve 6e-16, chains 6e-16
    assert fac.logdet == pytest.approx(np.linalg.slogdet(H)[1], rel=1e-12)
    assert relative_error(fac.solve(r), np.linalg.solve(H, r)) < 1e-12
    for chain, idx in zip(fac.chains(), tree(model).chain):
        assert relative_error(chain, Hinv[idx[:, :, None], idx[:, None, :]]) < 1e-12


@pytest.mark.parametrize("family, formula", [("poisson", FORMULA4), ("bernoulli", FORMULA4),
                                             ("poisson", SLOPES)])
def test_pc_laplace_equals_full_hessian_laplace(family, formula):
    model = _model(family, formula=formula)
    theta = _theta(model)
    full, pc = laplace(model, theta), pc_laplace(model, theta)
    # observed: value 6e-16 (relative), gradient 1e-14, mode 7e-16
    assert pc.value == pytest.approx(full.value, rel=1e-12)
    assert relative_error(pc.gradient, full.gradient) < 1e-12
    assert np.max(np.abs(pc.mode - full.mode)) < 1e-12


@pytest.mark.parametrize("weights, formula", [((None, {}), FORMULA4), ((None, {}), SLOPES),
                                              (("iweight", {"_n": "w", "a": "wa"}), FORMULA4)])
def test_pc_curvature_adapt_equals_full_hessian_adaptation(weights, formula):
    model = _model("bernoulli", weights, formula=formula)
    theta = _theta(model)
    (full, u_full), (pc, u_pc) = curvature_adapt(model, theta), pc_curvature_adapt(model, theta)
    assert np.max(np.abs(u_pc - u_full)) < 1e-12       # observed 2e-16
    for field in ("mu", "C", "B"):
        for a, b in zip(getattr(full, field), getattr(pc, field)):
            assert a.shape == b.shape
            assert np.max(np.abs(a - b), initial=0.0) < 1e-12   # observed 4e-16


def test_pc_laplace_gradient_matches_finite_differences():
    model = _model("bernoulli")
    theta = _theta(model)
    fd = central_gradient(lambda t: pc_laplace(model, t, gradient=False).value, theta)
    # observed 1.3e-9 (central differences of a value whose mode is re-found at each step)
    assert relative_error(pc_laplace(model, theta).gradient, fd) < 1e-8


def test_pcaghermite_gradient_and_hessian_match_finite_differences():
    """With the Pinheiro-Chao adaptation held fixed the quadrature is smooth in theta."""
    model = _model("bernoulli")
    theta = _theta(model)
    adapt, _ = pc_curvature_adapt(model, theta)
    ev = aghq(model, theta, adapt, 3, hessian=True)
    fd_g = central_gradient(lambda t: aghq(model, t, adapt, 3).value, theta)
    fd_h = central_jacobian(lambda t: aghq(model, t, adapt, 3).gradient, theta)
    assert relative_error(ev.gradient, fd_g) < 1e-8    # observed 8e-10
    assert relative_error(ev.hessian, fd_h) < 1e-8     # observed 4e-10


@pytest.mark.parametrize("intmethod", ["pcaghermite", "pclaplace"])
def test_gaussian_pig_is_refused_with_statas_condition(pig, intmethod):
    with pytest.raises(ValueError, match=rf"intmethod\({intmethod}\) is available only with "
                                         r"family\(binomial\) and family\(bernoulli\) combined "
                                         r"with link\(logit\) and with family\(poisson\)"):
        mc.meglm("weight ~ week + (1 | id)", pig, intmethod=intmethod)


def test_probit_and_crossed_models_are_refused():
    data = _nested("bernoulli")
    with pytest.raises(ValueError, match="intmethod"):
        mc.meglm("y ~ x + (1 | a)", data, family="bernoulli", link="probit",
                 intmethod="pclaplace")
    with pytest.raises(ValueError, match="crossed"):
        mc.meglm("y ~ x + (1 | a) + (1 | c)", data.assign(c=data["c"] % 5), family="bernoulli",
                 intmethod="pclaplace")


def _grouseticks():
    return mc.datasets.load("grouseticks")


CASES = {
    "contraception": ("c_use ~ C(urban) + age + C(children) + (1 + C(urban) | district)",
                      "bernoulli"),
    "grouseticks": ("TICKS ~ C(YEAR) + cHEIGHT + (1 | LOCATION) + (1 | LOCATION:BROOD)",
                    "poisson"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("pc, full", [("pcaghermite", "mcaghermite"), ("pclaplace", "laplace")])
def test_pc_methods_reach_the_full_hessian_maximum(bangladesh, case, pc, full):
    formula, family = CASES[case]
    data = bangladesh if case == "contraception" else _grouseticks()
    a = mc.meglm(formula, data, family=family, intmethod=full)
    b = mc.meglm(formula, data, family=family, intmethod=pc)
    assert b.converged and b.intmethod == pc
    assert abs(b.ll - a.ll) < 1e-6                      # observed 0 (to the last digit)
    # observed 4e-14 (relative); the bound allows the two Newton paths, equal to roundoff,
    # to stop one iteration apart under the 1e-8 log-likelihood tolerance
    np.testing.assert_allclose(b.params, a.params, rtol=1e-6, atol=1e-8)
    assert ("Integration pts." in str(b.summary())) == (pc == "pcaghermite")
