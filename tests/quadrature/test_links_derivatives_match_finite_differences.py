"""Every (family, link) row: d1, d2, d3 and the aux derivatives against central differences."""
import numpy as np
import pytest

from mcglmm.model.links import _ROWS, me_family

rng = np.random.default_rng(20261127)
N = 40


def _data(key):
    """Response, trials, eta and aux values suitable for a family row."""
    fam = key.split("-")[0]
    eta = rng.normal(0.0, 1.0, N)
    ntrials = np.ones(N)
    if fam == "bernoulli":
        y, aux = rng.integers(0, 2, N).astype(float), np.array([])
    elif fam == "binomial":
        ntrials = rng.integers(1, 6, N).astype(float)
        y, aux = np.floor(ntrials * rng.uniform(0, 1, N)), np.array([])
    elif fam in ("poisson", "nbinomial"):
        y, aux = rng.poisson(2.0, N).astype(float), np.array([0.0 if fam == "poisson" else -0.5])
        aux = aux[:0] if fam == "poisson" else aux
    elif fam == "gamma":
        y, aux = rng.gamma(2.0, 1.0, N), np.array([-0.3])
    elif fam == "gaussian":
        y, aux = rng.normal(1.0, 1.0, N), np.array([0.2])
    else:
        y, aux = rng.integers(0, 4, N).astype(float), np.array([-1.0, 0.2, 1.3])
    return y, ntrials, eta, aux


def _fd(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("key", sorted(_ROWS), ids=lambda k: f"{k[0]}-{k[1]}")
def test_eta_derivatives(key):
    derivs = _ROWS[key][0]
    y, nt, eta, aux = _data(key[0])
    d = derivs(y, nt, eta, aux)
    for lower, upper in (("ll", "d1"), ("d1", "d2"), ("d2", "d3")):
        num = _fd(lambda e: getattr(derivs(y, nt, e, aux), lower), eta)
        np.testing.assert_allclose(getattr(d, upper), num, rtol=1e-5, atol=1e-6)  # seen 2.5e-7


@pytest.mark.parametrize("key", [k for k in sorted(_ROWS) if _ROWS[k][1]],
                         ids=lambda k: f"{k[0]}-{k[1]}")
def test_aux_derivatives(key):
    derivs = _ROWS[key][0]
    y, nt, eta, aux = _data(key[0])
    d = derivs(y, nt, eta, aux)
    for j in range(len(aux)):
        def at(a, field, j=j):
            b = aux.copy()
            b[j] = a
            return getattr(derivs(y, nt, eta, b), field)
        want = {"ll_a": "ll", "d1_a": "d1", "d2_a": "d2"}
        for field, base in want.items():
            got = sum(np.where(t.col == j, getattr(t, field), 0.0) for t in d.aux)
            num = _fd(lambda a: at(a, base), aux[j])
            np.testing.assert_allclose(got, num, rtol=1e-5, atol=1e-6)  # seen 3.4e-6


def test_quadrature_path_agrees_with_full_path():
    fam = me_family("ordinal", "probit")
    y, nt, eta, aux = _data("ordinal")
    full, part = fam.derivs(y, nt, eta, aux), fam.derivs(y, nt, eta, aux, full=False)
    np.testing.assert_array_equal(full.ll, part.ll)
    np.testing.assert_array_equal(full.d1, part.d1)


@pytest.mark.parametrize("key", [k for k in sorted(_ROWS) if _ROWS[k][1]],
                         ids=lambda k: f"{k[0]}-{k[1]}")
def test_aux_second_derivatives(key):
    """AuxPair (each unordered pair once) against differences of ll_a."""
    derivs = _ROWS[key][0]
    y, nt, eta, aux = _data(key[0])
    d = derivs(y, nt, eta, aux)
    m = len(aux)
    got = np.zeros((N, m, m))
    for pair in d.aux2:
        ok = (pair.col_a >= 0) & (pair.col_b >= 0)
        rows = np.flatnonzero(ok)
        got[rows, pair.col_a[ok], pair.col_b[ok]] += pair.ll_ab[ok]
        off = ok & (pair.col_a != pair.col_b)
        rows = np.flatnonzero(off)
        got[rows, pair.col_b[off], pair.col_a[off]] += pair.ll_ab[off]
    for j in range(m):
        def score(a, j=j):
            b = aux.copy()
            b[j] = a
            out = np.zeros((N, m))
            for t in derivs(y, nt, eta, b).aux:
                rows = np.flatnonzero(t.col >= 0)
                out[rows, t.col[t.col >= 0]] += t.ll_a[t.col >= 0]
            return out
        num = _fd(score, aux[j])
        np.testing.assert_allclose(got[:, :, j], num, rtol=5e-5, atol=1e-6)  # seen 8e-6
