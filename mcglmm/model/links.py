"""meglm's conditional distributions and links: one table row per family and per link.

Every row maps the linear predictor ``eta`` (any shape, broadcasting with the
response arrays) to the per-observation log density and its derivatives

    ll = log f(y | eta, a),   d1 = dll/deta,   d2 = d2ll/deta2,   d3 = d3ll/deta3,

(terms free of eta and of the auxiliary parameters, such as log y!, are left
to ``MEFamily.constant`` and added once per fit) and, for families with
auxiliary parameters ``a`` (Gaussian log sd, ordinal
cut points, negative-binomial log dispersion, gamma log scale), a tuple of
``AuxTerm``: which parameter each observation's term belongs to (``col``, -1 for
none) and dll/da, d(d1)/da, d(d2)/da, and pairs ``AuxPair`` of second derivatives
d2ll/da_i da_j (each unordered pair once).  Engines never branch on a family's name.
With ``full=False`` a row may leave d2, d3 and the aux terms' d1_a, d2_a as
None (quadrature needs only ll, d1 and ll_a); rows whose higher derivatives
cost little compute them anyway.

Binary and ordinal families are written through a cumulative distribution
function F (the link's inverse), with the ratios f/F, f'/f, f''/f taken in log
space so that no tail underflows:

    (log F)'   = r,                     r = exp(log f - log F)
    (log F)''  = q1 r - r^2,            q1 = f'/f,  q2 = f''/f
    (log F)''' = q2 r - 3 q1 r^2 + 2 r^3,

and the mirrored formulas for log(1 - F).  The ordinal probability of category
k is F(c_k - eta) - F(c_{k-1} - eta).  Stata's allowed (family, link) pairs and
defaults are the tables ``_ROWS`` (one row per allowed pair) and ``DEFAULT_LINK``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import digamma, expit, gammaln, log_ndtr, polygamma

from ..exceptions import DesignError, bad_value
from .families import binomial_glmm, poisson_glmm

_LOG2PI = np.log(2.0 * np.pi)


@dataclass(frozen=True)
class AuxTerm:
    """One auxiliary-parameter contribution: col (n,) int, -1 where absent; arrays like eta."""

    col: np.ndarray
    ll_a: np.ndarray
    d1_a: np.ndarray
    d2_a: np.ndarray


@dataclass(frozen=True)
class AuxPair:
    """d2 ll / da_i da_j per observation for i = col_a, j = col_b (both (n,), -1 where absent)."""

    col_a: np.ndarray
    col_b: np.ndarray
    ll_ab: np.ndarray


@dataclass(frozen=True)
class Derivs:
    """ll, d1, d2, d3 (shape of eta); aux terms (AuxTerm) and, with full, pairs (AuxPair)."""

    ll: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    d3: np.ndarray
    aux: tuple
    aux2: tuple = ()


def _single(y, ll_tt):
    """The one AuxPair of a family with one auxiliary parameter."""
    zero = np.zeros(np.shape(y)[0], dtype=int)
    return (AuxPair(zero, zero, ll_tt),)


# ---------------------------------------------------------------- CDF links
@dataclass(frozen=True)
class CDFLink:
    """A link through a CDF F: log F, log(1-F), log f, f'/f and f''/f as functions of x."""

    name: str
    log_cdf: Callable
    log_sf: Callable
    log_pdf: Callable
    q1: Callable
    q2: Callable
    inverse: Callable


def _logit_q2(x):
    F = expit(x)
    return 1.0 - 6.0 * F * (1.0 - F)


def _cloglog_log_cdf(x):
    return np.log(-np.expm1(-np.exp(np.minimum(x, 700.0))))


LOGIT = CDFLink("logit", lambda x: -np.logaddexp(0.0, -x), lambda x: -np.logaddexp(0.0, x),
                lambda x: -np.logaddexp(0.0, x) - np.logaddexp(0.0, -x),
                lambda x: 1.0 - 2.0 * expit(x), _logit_q2, expit)
PROBIT = CDFLink("probit", log_ndtr, lambda x: log_ndtr(-x),
                 lambda x: -0.5 * x * x - 0.5 * _LOG2PI,
                 lambda x: -x, lambda x: x * x - 1.0, lambda x: np.exp(log_ndtr(x)))
CLOGLOG = CDFLink("cloglog", _cloglog_log_cdf, lambda x: -np.exp(np.minimum(x, 700.0)),
                  lambda x: x - np.exp(np.minimum(x, 700.0)),
                  lambda x: 1.0 - np.exp(x),
                  lambda x: (1.0 - np.exp(x)) ** 2 - np.exp(x),
                  lambda x: -np.expm1(-np.exp(x)))


def _log_cdf_derivs(link, x):
    """(log F, its 1st-3rd derivatives) at x."""
    r = np.exp(link.log_pdf(x) - link.log_cdf(x))
    q1, q2 = link.q1(x), link.q2(x)
    return link.log_cdf(x), r, q1 * r - r * r, q2 * r - 3.0 * q1 * r * r + 2.0 * r ** 3


def _log_sf_derivs(link, x):
    """(log(1 - F), its 1st-3rd derivatives) at x."""
    r = np.exp(link.log_pdf(x) - link.log_sf(x))
    q1, q2 = link.q1(x), link.q2(x)
    return link.log_sf(x), -r, -q1 * r - r * r, -q2 * r - 3.0 * q1 * r * r - 2.0 * r ** 3


# ------------------------------------------------------------ distributions
def _binary_derivs(link):
    """ll = y log F(eta) + (n - y) log(1 - F(eta))  (+ log C(n, y), in ``constant``)."""
    def derivs(y, ntrials, eta, aux, full=True):
        lf = _log_cdf_derivs(link, eta)
        ls = _log_sf_derivs(link, eta)
        fail = ntrials - y
        ll = np.where(y > 0, y * lf[0], 0.0) + np.where(fail > 0, fail * ls[0], 0.0)
        d = [y * a + fail * b for a, b in zip(lf[1:], ls[1:])]
        return Derivs(ll, d[0], d[1], d[2], ())
    return derivs


def _canonical_derivs(row):
    """Canonical-link fast path from a cumulant row of ``families``:
    ll = y eta - c(eta), d1 = y - c'(eta), d2 = -c''(eta), d3 = -c3(eta)."""
    def derivs(y, ntrials, eta, aux, full=True):
        c, c1, c2 = row.cumulant_derivs(eta, ntrials)
        if not full:
            return Derivs(y * eta - c, y - c1, None, None, ())
        return Derivs(y * eta - c, y - c1, -c2, -row.third(c1, c2, ntrials), ())
    return derivs


def _gaussian_derivs(link_mu):
    """ll = -log(2 pi)/2 - s - (y - mu)^2 e^{-2s} / 2, s = log sd (aux 0), mu = g^{-1}(eta)."""
    def derivs(y, ntrials, eta, aux, full=True):
        s = aux[0]
        prec = np.exp(-2.0 * s)
        mu, m1, m2, m3 = link_mu(eta)
        res = y - mu
        l1, l2 = res * prec, -prec
        ll = -0.5 * _LOG2PI - s - 0.5 * res * res * prec
        d1 = l1 * m1
        d2 = l2 * m1 * m1 + l1 * m2
        d3 = 3.0 * l2 * m1 * m2 + l1 * m3
        l1_s, l2_s = -2.0 * l1, 2.0 * prec
        term = AuxTerm(np.zeros(np.shape(y)[0], dtype=int), -1.0 + res * res * prec,
                       l1_s * m1, l2_s * m1 * m1 + l1_s * m2)
        return Derivs(ll, d1, d2, d3, (term,), _single(y, -2.0 * res * res * prec))
    return derivs


def _identity_mu(eta):
    one = np.ones_like(eta)
    return eta, one, 0.0 * one, 0.0 * one


def _log_mu(eta):
    mu = np.exp(np.minimum(eta, 700.0))
    return mu, mu, mu, mu


def _gamma_derivs(y, ntrials, eta, aux, full=True):
    """ll = -lgamma(k) + k log k - k eta + (k - 1) log y - k y e^{-eta}.

    k = e^{-t} is the shape, t the log scale (aux 0).
    """
    k = np.exp(-aux[0])
    z = y * np.exp(-eta)
    ll = -gammaln(k) + k * np.log(k) - k * eta + (k - 1.0) * np.log(y) - k * z
    d1, d2 = k * (z - 1.0), -k * z
    ll_t = -k * (-digamma(k) + np.log(k) + 1.0 - eta + np.log(y) - z)
    term = AuxTerm(np.zeros(np.shape(y)[0], dtype=int), ll_t, -d1, -d2)
    ll_tt = -ll_t + k - k * k * polygamma(1, k)
    return Derivs(ll, d1, d2, k * z, (term,), _single(y, ll_tt))


def _nbinomial_mean_derivs(y, ntrials, eta, aux, full=True):
    """NB with Var = mu (1 + alpha mu): r = 1/alpha, p = mu / (r + mu), aux t = log alpha."""
    r = np.exp(-aux[0])
    mu = np.exp(np.minimum(eta, 700.0))
    p = mu / (r + mu)
    ll = (gammaln(y + r) - gammaln(r) + r * np.log1p(-p)
          + np.where(y > 0, y * np.log(p), 0.0))
    d1 = y - (y + r) * p
    v = p * (1.0 - p)
    d2 = -(y + r) * v
    d3 = d2 * (1.0 - 2.0 * p)
    dp_dr = -p / (r + mu)
    ll_r = digamma(y + r) - digamma(r) + np.log1p(-p) + 1.0 - (r + y) / (r + mu)
    d1_r = -p - (y + r) * dp_dr
    d2_r = -v - (y + r) * (1.0 - 2.0 * p) * dp_dr
    term = AuxTerm(np.zeros(np.shape(y)[0], dtype=int), -r * ll_r, -r * d1_r, -r * d2_r)
    ll_rr = (polygamma(1, y + r) - polygamma(1, r) + 1.0 / r - 1.0 / (r + mu)
             - (mu - y) / (r + mu) ** 2)
    return Derivs(ll, d1, d2, d3, (term,), _single(y, r * ll_r + r * r * ll_rr))


def _nbinomial_constant_derivs(y, ntrials, eta, aux, full=True):
    """NB with Var = mu (1 + delta): size r = mu / delta, aux t = log delta."""
    delta = np.exp(aux[0])
    r = np.exp(np.minimum(eta, 700.0)) / delta
    lg = np.log1p(delta)
    D = digamma(y + r) - digamma(r) - lg
    T = polygamma(1, y + r) - polygamma(1, r)
    T2 = polygamma(2, y + r) - polygamma(2, r)
    ll = (gammaln(y + r) - gammaln(r) - r * lg
          + y * (aux[0] - lg))
    d1 = r * D
    d2 = d1 + r * r * T
    d3 = d2 + 2.0 * r * r * T + r ** 3 * T2
    share = delta / (1.0 + delta)
    d1_t = -d2 - r * share
    term = AuxTerm(np.zeros(np.shape(y)[0], dtype=int),
                   -d1 - r * share + y / (1.0 + delta), d1_t, d1_t - (d3 - d2))
    ll_tt = -d1_t + r * share - (r + y) * delta / (1.0 + delta) ** 2
    return Derivs(ll, d1, d2, d3, (term,), _single(y, ll_tt))


def _ordinal_derivs(link):
    """ll = log(F(c_k - eta) - F(c_{k-1} - eta)) for y = k in 0..K-1.

    c_{-1} = -inf and c_{K-1} = inf; aux holds the K - 1 cut points.
    """
    def derivs(y, ntrials, eta, aux, full=True):
        cuts = np.asarray(aux, dtype=float)
        K = len(cuts) + 1
        k = y.astype(int)
        has_hi, has_lo = k < K - 1, k > 0
        c_hi = np.where(has_hi, cuts[np.minimum(k, K - 2)], 0.0)
        c_lo = np.where(has_lo, cuts[np.maximum(k - 1, 0)], 0.0)
        a, b = c_hi - eta, c_lo - eta
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            logP = _log_interval(link, a, b, has_hi, has_lo)
            ra = np.where(has_hi, np.exp(link.log_pdf(a) - logP), 0.0)
            rb = np.where(has_lo, np.exp(link.log_pdf(b) - logP), 0.0)
        L1 = -(ra - rb)
        if not full:
            return Derivs(logP, L1, None, None, (AuxTerm(np.where(has_hi, k, -1), ra, None, None),
                                                 AuxTerm(np.where(has_lo, k - 1, -1), -rb, None,
                                                         None)))
        qa1, qa2, qb1, qb2 = link.q1(a), link.q2(a), link.q1(b), link.q2(b)
        P2 = qa1 * ra - qb1 * rb
        L2 = P2 - L1 * L1
        L3 = -(qa2 * ra - qb2 * rb) - P2 * L1 - 2.0 * L1 * L2
        terms = []
        for col, has, rc, q1, q2, sign in ((k, has_hi, ra, qa1, qa2, 1.0),
                                            (k - 1, has_lo, rb, qb1, qb2, -1.0)):
            lc = sign * rc
            l1c = -sign * q1 * rc - L1 * lc
            l2c = sign * q2 * rc - P2 * lc - 2.0 * L1 * l1c
            terms.append(AuxTerm(np.where(has, col, -1), lc, l1c, l2c))
        hi, lo = terms[0].col, terms[1].col
        pairs = (AuxPair(hi, hi, qa1 * ra - ra * ra), AuxPair(lo, lo, -qb1 * rb - rb * rb),
                 AuxPair(hi, lo, ra * rb))
        return Derivs(logP, L1, L2, L3, tuple(terms), pairs)
    return derivs


def _log_interval(link, a, b, has_hi, has_lo):
    """log(F(a) - F(b)), a > b, with F(b) = 0 where not has_lo and F(a) = 1 where not has_hi."""
    la, lb = link.log_cdf(a), link.log_cdf(b)
    sa, sb = link.log_sf(a), link.log_sf(b)
    low = la + np.log1p(-np.exp(np.minimum(lb - la, 0.0)))
    high = sb + np.log1p(-np.exp(np.minimum(sa - sb, 0.0)))
    middle = np.where(b > 0, high, low)
    out = np.where(has_hi & has_lo, middle, np.where(has_hi, la, sb))
    return np.where(np.isnan(out) | ((a <= b) & has_hi & has_lo), -np.inf, out)


# ------------------------------------------------------- data-only constants
def _binomial_constant(y, ntrials):
    """log C(n, y) per observation."""
    return gammaln(ntrials + 1.0) - gammaln(y + 1.0) - gammaln(ntrials - y + 1.0)


def _count_constant(y, ntrials):
    """-log y! per observation."""
    return -gammaln(y + 1.0)


def _no_constant(y, ntrials):
    return np.zeros(np.shape(y))


# ------------------------------------------------------------------ checks
_check_binary = binomial_glmm.check
_check_count = poisson_glmm.check


def _check_positive(y, ntrials):
    if np.any(y <= 0):
        raise DesignError(bad_value("the response of the gamma family", "positive",
                                    y[y <= 0][:5].tolist()))


def _check_any(y, ntrials):
    return None


@dataclass(frozen=True)
class MEFamily:
    """One (family, link) row: derivs(y, ntrials, eta, aux) -> Derivs; aux names; data check."""

    family: str
    link: str
    derivs: Callable       # derivs(y, ntrials, eta, aux, full=True) -> Derivs
    aux_kind: str          # "", "sd", "cuts", "lnalpha", "lndelta", "logs"
    check: Callable
    constant: Callable     # constant(y, ntrials) -> (n,) terms of log f free of eta and aux


_ROWS = {
    ("gaussian", "identity"): (_gaussian_derivs(_identity_mu), "sd", _check_any),
    ("gaussian", "log"): (_gaussian_derivs(_log_mu), "sd", _check_any),
    ("bernoulli", "logit"): (_canonical_derivs(binomial_glmm), "", _check_binary),
    ("bernoulli", "probit"): (_binary_derivs(PROBIT), "", _check_binary),
    ("bernoulli", "cloglog"): (_binary_derivs(CLOGLOG), "", _check_binary),
    ("binomial", "logit"): (_canonical_derivs(binomial_glmm), "", _check_binary),
    ("binomial", "probit"): (_binary_derivs(PROBIT), "", _check_binary),
    ("binomial", "cloglog"): (_binary_derivs(CLOGLOG), "", _check_binary),
    ("poisson", "log"): (_canonical_derivs(poisson_glmm), "", _check_count),
    ("gamma", "log"): (_gamma_derivs, "logs", _check_positive),
    ("nbinomial-mean", "log"): (_nbinomial_mean_derivs, "lnalpha", _check_count),
    ("nbinomial-constant", "log"): (_nbinomial_constant_derivs, "lndelta", _check_count),
    ("ordinal", "logit"): (_ordinal_derivs(LOGIT), "cuts", _check_any),
    ("ordinal", "probit"): (_ordinal_derivs(PROBIT), "cuts", _check_any),
    ("ordinal", "cloglog"): (_ordinal_derivs(CLOGLOG), "cuts", _check_any),
}

DEFAULT_LINK = {"gaussian": "identity", "bernoulli": "logit", "binomial": "logit",
                "poisson": "log", "gamma": "log", "nbinomial": "log", "ordinal": "logit"}
LINKS = ("identity", "log", "logit", "probit", "cloglog")


def me_family(family="gaussian", link=None, dispersion="mean"):
    """The table row for Stata's (family, link); ValueError naming the argument otherwise."""
    if not isinstance(family, str) or family.lower() not in DEFAULT_LINK:
        raise ValueError(bad_value("family", "one of " + ", ".join(sorted(DEFAULT_LINK)), family))
    family = family.lower()
    link = DEFAULT_LINK[family] if link is None else link
    if not isinstance(link, str) or link.lower() not in LINKS:
        raise ValueError(bad_value("link", "one of " + ", ".join(LINKS), link))
    link = link.lower()
    if dispersion not in ("mean", "constant"):
        raise ValueError(bad_value("dispersion", "'mean' or 'constant'", dispersion))
    key = f"nbinomial-{dispersion}" if family == "nbinomial" else family
    if (key, link) not in _ROWS:
        ok = sorted(lk for (f, lk) in _ROWS if f == key)
        raise ValueError(bad_value("link", f"one of {', '.join(ok)} for family {family!r} "
                                   "(Stata's allowed combinations)", link))
    derivs, aux_kind, check = _ROWS[(key, link)]
    constant = {"bernoulli": _binomial_constant, "binomial": _binomial_constant,
                "poisson": _count_constant, "nbinomial": _count_constant}.get(family, _no_constant)
    return MEFamily(family, link, derivs, aux_kind, check, constant)
