"""The Schur-complement Laplace engine against a dense reference written from the equations.

The reference forms Z, P and H densely, finds the mode by plain Newton steps, and takes
log|H| and H^-1 from numpy; its gradient is the implicit-function identity of the
``laplace`` module docstring with the dense H^-1.  Crossed designs with one or two
random effects per group, three crossed factors, and the sparse S path.
"""
import numpy as np
import pandas as pd
import pytest

from fd import central_gradient, relative_error
from mcglmm.api.meglm import build_model
from mcglmm.engines.quadrature import cg, schur
from mcglmm.engines.quadrature import laplace as lap
from mcglmm.engines.quadrature.laplace import laplace
from mcglmm.exceptions import WorkTooLargeError
from mcglmm.model.families import me_family
from mcglmm.model.params import sigmas, unpack
from mcglmm.model.spec import linear_predictor


def _dense_reference(model, theta):
    """(value, gradient) of the Laplace log likelihood with dense Z, P and H."""
    beta, aux, psis = unpack(model, theta)
    covs = sigmas(model, psis)
    Z = model.Zj.toarray()
    P = np.zeros((Z.shape[1], Z.shape[1]))
    start, logdet_S = 0, 0.0
    for lev, (S, _) in zip(model.levels, covs):
        for g in range(lev.n_groups):
            sl = slice(start + g * lev.d, start + (g + 1) * lev.d)
            P[sl, sl] = np.linalg.inv(S)
        logdet_S += lev.n_groups * np.linalg.slogdet(S)[1]
        start += lev.n_groups * lev.d
    eta0 = linear_predictor(model, beta)
    u = np.zeros(Z.shape[1])
    for _ in range(50):
        der = model.family.derivs(model.y, model.ntrials, eta0 + Z @ u, aux)
        H = Z.T @ (-der.d2[:, None] * Z) + P
        step = np.linalg.solve(H, Z.T @ der.d1 - P @ u)
        u = u + step
        if np.max(np.abs(step)) < 1e-13:
            break
    der = model.family.derivs(model.y, model.ntrials, eta0 + Z @ u, aux)
    H = Z.T @ (-der.d2[:, None] * Z) + P
    value = (der.ll.sum() - 0.5 * u @ P @ u - 0.5 * logdet_S - 0.5 * np.linalg.slogdet(H)[1]
             + model.ll_const)
    Hinv = np.linalg.inv(H)
    s = np.einsum("ij,jk,ik->i", Z, Hinv, Z)
    w = Hinv @ (0.5 * Z.T @ (der.d3 * s))
    grad = [model.X.T @ (der.d1 + 0.5 * der.d3 * s + der.d2 * (Z @ w))]
    start = 0
    for lev, cov, psi in zip(model.levels, model.covariances, psis):
        G, d = lev.n_groups, lev.d
        sl = slice(start, start + G * d)
        ug, wg = u[sl].reshape(G, d), w[sl].reshape(G, d)
        Hb = sum(Hinv[start + g * d:start + (g + 1) * d, start + g * d:start + (g + 1) * d]
                 for g in range(G))
        grad.append(cov.score(psi, ug.T @ ug + Hb + ug.T @ wg + wg.T @ ug, G))
        start += G * d
    return value, np.concatenate(grad)


def _data(seed, n=240, sizes=(12, 7, 5)):
    rng = np.random.default_rng(seed)
    a, b, c = (rng.integers(0, k, n) for k in sizes)
    x, z = rng.normal(size=n), rng.normal(size=n)
    eta = 0.2 + 0.6 * x + rng.normal(0, 0.7, sizes[0])[a] + rng.normal(0, 0.5, sizes[1])[b]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"y": y, "x": x, "z": z, "a": a, "b": b, "c": c})


SOLVE = cg.solve
FORMULAS = ["y ~ x + (1 | a) + (1 | b)", "y ~ x + (1 + z | a) + (1 | b)",
            "y ~ x + (1 | a) + (1 + z | b)", "y ~ x + (1 | a) + (1 | b) + (1 | c)"]


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("covariance", ["independent", "unstructured"])
@pytest.mark.parametrize("dense_c", [True, False])
def test_schur_laplace_matches_dense_reference(formula, covariance, dense_c, monkeypatch):
    """C stored dense (BLAS products) or by its slots (products of slot pairs)."""
    monkeypatch.setattr(schur, "DENSE_C", schur.DENSE_C if dense_c else 0)
    model, _ = build_model(formula, _data(3), me_family("bernoulli"), covariance, False, None,
                           None, None)
    assert schur.structure(model).dense_c == dense_c
    theta = 0.1 * np.random.default_rng(5).normal(size=model.dim)
    value, grad = _dense_reference(model, theta)
    ev = laplace(model, theta)
    assert ev.value == pytest.approx(value, abs=1e-11)           # seen 3e-14
    np.testing.assert_allclose(ev.gradient, grad, rtol=0, atol=1e-11)  # seen 1e-14


def test_sparse_schur_complement_matches_dense_reference(monkeypatch):
    """Force the sparse S path (SuperLU in a fixed order) on a small model."""
    monkeypatch.setattr(schur, "DENSE_S", 0)
    monkeypatch.setattr(schur, "DENSE_FILL", 1.1)
    model, _ = build_model("y ~ x + (1 | a) + (1 | b) + (1 | c)", _data(4, sizes=(40, 9, 6)),
                           me_family("bernoulli"), "independent", False, None, None, None)
    assert not schur.structure(model).dense
    theta = 0.1 * np.random.default_rng(6).normal(size=model.dim)
    value, grad = _dense_reference(model, theta)
    ev = laplace(model, theta)
    assert ev.value == pytest.approx(value, abs=1e-11)           # seen 3e-14
    np.testing.assert_allclose(ev.gradient, grad, rtol=0, atol=1e-11)  # seen 1e-14


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("covariance", ["independent", "unstructured"])
def test_chunked_schur_complement_matches_dense_reference(formula, covariance, monkeypatch):
    """Pairs of C slots generated a few columns of S at a time (a large crossing's path: S
    dense from the lower-triangle pairs, the mode's Newton steps by conjugate gradients)."""
    monkeypatch.setattr(schur, "MAX_PAIRS", 0)
    monkeypatch.setattr(schur, "DENSE_C", 0)
    monkeypatch.setattr(schur, "BLOCK_PAIRS", 50)
    model, _ = build_model(formula, _data(3), me_family("bernoulli"), covariance, False, None,
                           None, None)
    st = schur.structure(model)
    assert st.chunked and st.dense and len(st.pair1) == 0
    assert len(list(schur.column_pairs(st))) > 3
    solves = []
    monkeypatch.setattr(cg, "solve", lambda *a: solves.append(1) or SOLVE(*a))
    theta = 0.1 * np.random.default_rng(5).normal(size=model.dim)
    value, grad = _dense_reference(model, theta)
    ev = laplace(model, theta)
    assert solves
    assert ev.value == pytest.approx(value, abs=1e-11)           # seen 3e-14
    np.testing.assert_allclose(ev.gradient, grad, rtol=0, atol=1e-11)  # seen 7e-15


def test_chunked_gradient_matches_central_differences(monkeypatch):
    """The chunked path's gradient against central differences of its own value (the mode
    warm-started at theta's), on a larger crossing: 2,000 rows, 2 x 60 levels."""
    monkeypatch.setattr(schur, "MAX_PAIRS", 0)
    monkeypatch.setattr(schur, "DENSE_C", 0)
    monkeypatch.setattr(schur, "BLOCK_PAIRS", 5000)
    model, _ = build_model("y ~ x + (1 + z | a) + (1 | b)", _data(7, n=2000, sizes=(60, 60, 2)),
                           me_family("bernoulli"), "unstructured", False, None, None, None)
    assert schur.structure(model).chunked
    theta = 0.1 * np.random.default_rng(8).normal(size=model.dim)
    ev = laplace(model, theta)
    num = central_gradient(lambda t: laplace(model, t, ev.mode, gradient=False).value, theta,
                           h=1e-5)
    assert relative_error(num, ev.gradient) < 1e-9              # seen 4e-11


@pytest.mark.parametrize("limit, value, error, match", [
    ("MAX_Q_GRADIENT", 5, ValueError, "formula.*at most 5 random effects"),
    ("MAX_CHUNKED_PAIRS", 10, WorkTooLargeError, "formula must be a crossed model.*pairs"),
])
def test_crossing_too_large_for_the_chunked_path_is_refused(monkeypatch, limit, value, error,
                                                            match):
    """More pairs than can be stored, and either an S too large to hold dense or more pairs
    than an evaluation should visit (10^8 take about 4 s): an error naming the formula,
    before any evaluation."""
    monkeypatch.setattr(schur, "MAX_PAIRS", 0)
    monkeypatch.setattr(schur, "DENSE_C", 0)
    monkeypatch.setattr(schur, limit, value)
    model, _ = build_model("y ~ x + (1 | a) + (1 | b)", _data(3), me_family("bernoulli"),
                           "independent", False, None, None, None)
    with pytest.raises(error, match=match):
        schur.structure(model)


def test_chunked_mode_factorises_when_cg_does_not_converge(monkeypatch):
    """CG stopped after one step (MAX_STEPS = 1) reports it: the Newton step is then taken
    by the factor, and the value is still the dense reference's."""
    monkeypatch.setattr(schur, "MAX_PAIRS", 0)
    monkeypatch.setattr(schur, "DENSE_C", 0)
    monkeypatch.setattr(cg, "MAX_STEPS", 1)
    model, _ = build_model("y ~ x + (1 | a) + (1 | b)", _data(3), me_family("bernoulli"),
                           "independent", False, None, None, None)
    outcomes, factored = [], []
    monkeypatch.setattr(cg, "solve", lambda *a: outcomes.append(SOLVE(*a)) or outcomes[-1])
    by_factor = lap.Algebra.newton_solve
    monkeypatch.setattr(lap.Algebra, "newton_solve",
                        lambda self, W, g: factored.append(1) or by_factor(self, W, g))
    theta = 0.1 * np.random.default_rng(5).normal(size=model.dim)
    value, _ = _dense_reference(model, theta)
    ev = laplace(model, theta)
    assert outcomes and not any(o[1] for o in outcomes if o is not None)
    assert len(factored) == len(outcomes)
    assert ev.value == pytest.approx(value, abs=1e-11)           # seen 3e-14 with CG steps
