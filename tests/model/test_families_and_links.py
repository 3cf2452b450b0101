"""Every FAMILIES row: eta- and aux-derivatives by central differences, the canonical fast path
against the generic path, the full log density against scipy.stats, and the overflow policy."""
import pickle

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit

from fd import central_jacobian, relative_error
from mcglmm.model.families import FAMILIES, CanonicalFamily
from mcglmm.model.links import LINKS, CDFLink

N = 24


def _data(row, seed=20261127):
    """Response, trials, eta and aux values suitable for a family row."""
    rng = np.random.default_rng(seed)
    eta, ntrials, name = rng.normal(0.0, 1.0, N), np.ones(N), row.name
    if name == "bernoulli":
        return rng.integers(0, 2, N).astype(float), ntrials, eta, np.array([])
    if name == "binomial":
        ntrials = rng.integers(1, 6, N).astype(float)
        return np.floor(ntrials * rng.uniform(0, 1, N)), ntrials, eta, np.array([])
    if name in ("poisson", "nbinomial"):
        aux = np.array([]) if name == "poisson" else np.array([-0.5])
        return rng.poisson(2.0, N).astype(float), ntrials, eta, aux
    if name == "gamma":
        return rng.gamma(2.0, 1.0, N), ntrials, eta, np.array([-0.3])
    if name == "gaussian":
        return rng.normal(1.0, 1.0, N), ntrials, eta, np.array([0.2])
    return rng.integers(0, 4, N).astype(float), ntrials, eta, np.array([-1.0, 0.2, 1.3])


def _scipy_logpdf(key, row, y, nt, eta, aux):
    """The full log density from scipy.stats, for ll + constant."""
    mu = row.link.inverse(eta)
    name = key[0]
    if name in ("bernoulli", "binomial"):
        return stats.binom.logpmf(y, nt, mu)
    if name == "poisson":
        return stats.poisson.logpmf(y, mu)
    if name == "gaussian":
        return stats.norm.logpdf(y, mu, np.exp(aux[0]))
    if name == "gamma":
        k = np.exp(-aux[0])
        return stats.gamma.logpdf(y, a=k, scale=mu / k)
    if name == "nbinomial-mean":
        r = np.exp(-aux[0])
        return stats.nbinom.logpmf(y, r, r / (r + mu))
    if name == "nbinomial-constant":
        delta = np.exp(aux[0])
        return stats.nbinom.logpmf(y, mu / delta, 1 / (1 + delta))
    F = row.link.inverse
    cuts = np.concatenate([[-np.inf], aux, [np.inf]])
    k = y.astype(int)
    return np.log(F(cuts[k + 1] - eta) - F(cuts[k] - eta))


def _aux_matrix(terms, field, m):
    """(N, m) per observation and auxiliary parameter, from AuxTerm columns."""
    out = np.zeros((N, m))
    for t in terms:
        rows = np.flatnonzero(t.col >= 0)
        out[rows, t.col[rows]] += getattr(t, field)[rows]
    return out


def _pair_matrix(pairs, m):
    out = np.zeros((N, m, m))
    for pair in pairs:
        ok = np.flatnonzero((pair.col_a >= 0) & (pair.col_b >= 0))
        out[ok, pair.col_a[ok], pair.col_b[ok]] += pair.ll_ab[ok]
        off = ok[pair.col_a[ok] != pair.col_b[ok]]
        out[off, pair.col_b[off], pair.col_a[off]] += pair.ll_ab[off]
    return out


@pytest.mark.parametrize("key", sorted(FAMILIES), ids=lambda k: f"{k[0]}-{k[1]}")
def test_family_row(key):
    row = FAMILIES[key]
    y, nt, eta, aux = _data(row)
    d = row.derivs(y, nt, eta, aux)
    # the full log density: ll + the data constant
    full = d.ll + row.constant(y, nt)
    assert relative_error(full, _scipy_logpdf(key, row, y, nt, eta, aux)) < 1e-12  # seen 2.5e-14
    # eta-derivatives (each observation's ll depends on its own eta only: diagonal Jacobians)
    for lower, upper in (("ll", "d1"), ("d1", "d2"), ("d2", "d3")):
        num = np.diag(central_jacobian(lambda e: getattr(row.derivs(y, nt, e, aux), lower), eta))
        assert relative_error(num, getattr(d, upper)) < 2e-8            # seen 3.5e-9
    part = row.derivs(y, nt, eta, aux, full=False)
    np.testing.assert_array_equal(part.ll, d.ll)
    np.testing.assert_array_equal(part.d1, d.d1)
    m = len(aux)
    if m:
        for field, base in (("ll_a", "ll"), ("d1_a", "d1"), ("d2_a", "d2")):
            num = central_jacobian(lambda a: getattr(row.derivs(y, nt, eta, a), base), aux)
            assert relative_error(num, _aux_matrix(d.aux, field, m)) < 2e-8  # seen 2.7e-9
        num = central_jacobian(
            lambda a: _aux_matrix(row.derivs(y, nt, eta, a).aux, "ll_a", m).ravel(), aux)
        assert relative_error(num.reshape(N, m, m), _pair_matrix(d.aux2, m)) < 1e-8  # seen 1.5e-9
    if isinstance(row, CanonicalFamily):
        generic = row.generic_derivs(y, nt, eta, aux)
        for field in ("ll", "d1", "d2", "d3"):
            assert relative_error(getattr(generic, field), getattr(d, field)) < 1e-12  # seen 7e-16
        c, c1, c2 = row.cumulant_derivs(eta, nt)
        np.testing.assert_allclose(row.loglik_terms(y, eta, nt), y * eta - c, rtol=1e-14)
        np.testing.assert_allclose(np.diag(central_jacobian(lambda e: row.cumulant(e, nt), eta)),
                                   c1, rtol=1e-9)                        # seen 1.4e-10
        np.testing.assert_array_equal(row.mean_variance(eta, nt)[1], c2)


@pytest.mark.parametrize("key", sorted(FAMILIES), ids=lambda k: f"{k[0]}-{k[1]}")
def test_overflow_gives_likelihood_zero_never_nan(key):
    """eta far past exp's range: ll is finite or -inf, and where it is -inf, d1 = d2 = d3 = 0."""
    row = FAMILIES[key]
    y, nt, _, aux = _data(row)
    for far in (-800.0, 800.0, 1e4):
        d = row.derivs(y, nt, np.full(N, far), aux)
        assert not np.isnan(d.ll).any()
        dead = d.ll == -np.inf
        for field in ("d1", "d2", "d3"):
            assert np.all(getattr(d, field)[dead] == 0.0)
        for t in d.aux:
            assert all(np.all(getattr(t, f)[dead] == 0.0) for f in ("ll_a", "d1_a", "d2_a"))


@pytest.mark.parametrize("name", sorted(LINKS))
def test_link_inverse_and_its_derivatives(name):
    link = LINKS[name]
    eta = np.random.default_rng(4).normal(0, 1.5, 16)
    mu, m1, m2, m3 = link.inverse_derivs(eta)
    np.testing.assert_allclose(link.inverse(link.link(mu)), mu, rtol=1e-14)   # seen 9e-16
    for lower, upper in ((0, m1), (1, m2), (2, m3)):
        num = np.diag(central_jacobian(lambda e: link.inverse_derivs(e)[lower], eta))
        assert relative_error(num, upper) < 1e-9                         # seen 1e-10
    if isinstance(link, CDFLink):
        np.testing.assert_allclose(np.exp(link.log_cdf(eta)), mu, rtol=1e-13)
        np.testing.assert_allclose(np.exp(link.log_sf(eta)), 1 - mu, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(np.exp(link.log_pdf(eta)), m1, rtol=1e-13)
        np.testing.assert_allclose(link.q1(eta) * m1, m2, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(link.q2(eta) * m1, m3, rtol=1e-12, atol=1e-15)
    assert link.start_eta(float(link.inverse(np.array(0.3)))) == pytest.approx(0.3, abs=1e-12)


def test_canonical_logistic_is_exact_in_the_tails():
    """c' = expit(eta) and c'' = expit(eta) expit(-eta) without cancellation, c finite."""
    row = FAMILIES[("bernoulli", "logit")]
    eta = np.array([-700.0, -40.0, 0.0, 40.0, 700.0])
    c, c1, c2 = row.cumulant_derivs(eta)
    np.testing.assert_allclose(c1, expit(eta), rtol=1e-15)
    np.testing.assert_allclose(c2, expit(eta) * expit(-eta), rtol=1e-15)
    assert np.all(np.isfinite(c))


def test_rows_and_links_unpickle_as_themselves():
    """joblib workers get the table's own rows and links (the canonical fast path is chosen
    by the link's type, and ``family is mc.bernoulli_glmm`` holds after a round trip)."""
    for row in FAMILIES.values():
        assert pickle.loads(pickle.dumps(row)) is row
    for link in LINKS.values():
        assert pickle.loads(pickle.dumps(link)) is link
