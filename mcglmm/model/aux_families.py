"""The families with auxiliary parameters: Gaussian, gamma, negative binomial, ordinal.

Each is a ``family_base.Family``; its auxiliary parameters a are named by ``params``
(log sd, log scale, log dispersion, cut points) and enter ``Derivs.aux`` as one
``AuxTerm`` per parameter an observation's term depends on (dll/da, d(d1)/da,
d(d2)/da) and ``Derivs.aux2`` as ``AuxPair`` second derivatives (each unordered pair
once).  The ordinal probability of category k is F(c_k - eta) - F(c_{k-1} - eta)
with F the link's distribution function.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln, polygamma

from ..exceptions import DesignError, bad_value
from .family_base import AuxPair, AuxTerm, Derivs, Family, count_constant, check_count, single_pair
from .links import exp_eta, softplus

_LOG2PI = np.log(2.0 * np.pi)


def _zeros_col(y):
    return np.zeros(np.shape(y)[0], dtype=int)


@dataclass(frozen=True, eq=False, repr=False)
class Gaussian(Family):
    """ll = -log(2 pi)/2 - s - (y - mu)^2 e^{-2s} / 2, s = log sd (aux 0), mu = g^{-1}(eta)."""

    def _derivs(self, y, ntrials, eta, aux, full):
        s = aux[0]
        prec = np.exp(-2.0 * s)
        mu, m1, m2, m3 = self.link.inverse_derivs(eta)
        res = y - mu
        l1, l2 = res * prec, -prec
        ll = -0.5 * _LOG2PI - s - 0.5 * res * res * prec
        d1 = l1 * m1
        d2 = l2 * m1 * m1 + l1 * m2
        d3 = 3.0 * l2 * m1 * m2 + l1 * m3
        l1_s, l2_s = -2.0 * l1, 2.0 * prec
        term = AuxTerm(_zeros_col(y), -1.0 + res * res * prec, l1_s * m1,
                       l2_s * m1 * m1 + l1_s * m2)
        return Derivs(ll, d1, d2, d3, (term,), single_pair(y, -2.0 * res * res * prec))


@dataclass(frozen=True, eq=False, repr=False)
class Gamma(Family):
    """ll = -lgamma(k) + k log k - k eta + (k - 1) log y - k y e^{-eta} (log link);
    k = e^{-t} is the shape, t the log scale (aux 0)."""

    def check(self, y, ntrials):
        if np.any(y <= 0):
            raise DesignError(bad_value("the response of the gamma family", "positive",
                                        y[y <= 0][:5].tolist()))

    def _derivs(self, y, ntrials, eta, aux, full):
        k = np.exp(-aux[0])
        z = y * exp_eta(-eta)
        ll = -gammaln(k) + k * np.log(k) - k * eta + (k - 1.0) * np.log(y) - k * z
        d1, d2 = k * (z - 1.0), -k * z
        ll_t = -k * (-digamma(k) + np.log(k) + 1.0 - eta + np.log(y) - z)
        term = AuxTerm(_zeros_col(y), ll_t, -d1, -d2)
        ll_tt = -ll_t + k - k * k * polygamma(1, k)
        return Derivs(ll, d1, d2, k * z, (term,), single_pair(y, ll_tt))


@dataclass(frozen=True, eq=False, repr=False)
class NBinomialMean(Family):
    """NB with Var = mu (1 + alpha mu), log link: r = 1/alpha, p = mu / (r + mu) =
    expit(x), x = eta + t, aux t = log alpha; 1 - p = exp(-softplus(x)) = r / (r + mu),
    so that every term is finite for any eta."""

    def check(self, y, ntrials):
        check_count(y, ntrials)

    def constant(self, y, ntrials):
        return count_constant(y, ntrials)

    def _derivs(self, y, ntrials, eta, aux, full):
        r = np.exp(-aux[0])
        x = eta + aux[0]
        sp = softplus(x)
        p, q = np.exp(x - sp), np.exp(-sp)
        ll = gammaln(y + r) - gammaln(r) - r * sp + np.where(y > 0, y * (x - sp), 0.0)
        d1 = y - (y + r) * p
        v = p * q
        d2 = -(y + r) * v
        d3 = d2 * (1.0 - 2.0 * p)
        dp_dr = -v / r
        ll_r = digamma(y + r) - digamma(r) - sp + 1.0 - (r + y) * q / r
        d1_r = -p - (y + r) * dp_dr
        d2_r = -v - (y + r) * (1.0 - 2.0 * p) * dp_dr
        term = AuxTerm(_zeros_col(y), -r * ll_r, -r * d1_r, -r * d2_r)
        ll_rr = (polygamma(1, y + r) - polygamma(1, r) + p / r - v / r + y * q * q / (r * r))
        return Derivs(ll, d1, d2, d3, (term,), single_pair(y, r * ll_r + r * r * ll_rr))


@dataclass(frozen=True, eq=False, repr=False)
class NBinomialConstant(NBinomialMean):
    """NB with Var = mu (1 + delta), log link: size r = mu / delta, aux t = log delta."""

    def _derivs(self, y, ntrials, eta, aux, full):
        delta = np.exp(aux[0])
        r = exp_eta(eta) / delta
        lg = np.log1p(delta)
        D = digamma(y + r) - digamma(r) - lg
        T = polygamma(1, y + r) - polygamma(1, r)
        T2 = polygamma(2, y + r) - polygamma(2, r)
        ll = gammaln(y + r) - gammaln(r) - r * lg + y * (aux[0] - lg)
        d1 = r * D
        d2 = d1 + r * r * T
        d3 = d2 + 2.0 * r * r * T + r ** 3 * T2
        share = delta / (1.0 + delta)
        d1_t = -d2 - r * share
        term = AuxTerm(_zeros_col(y), -d1 - r * share + y / (1.0 + delta), d1_t, d1_t - (d3 - d2))
        ll_tt = -d1_t + r * share - (r + y) * delta / (1.0 + delta) ** 2
        return Derivs(ll, d1, d2, d3, (term,), single_pair(y, ll_tt))


def _log_interval(link, a, b, has_hi, has_lo):
    """log(F(a) - F(b)), a > b, with F(b) = 0 where not has_lo and F(a) = 1 where not has_hi."""
    la, lb = link.log_cdf(a), link.log_cdf(b)
    sa, sb = link.log_sf(a), link.log_sf(b)
    low = la + np.log1p(-np.exp(np.minimum(lb - la, 0.0)))
    high = sb + np.log1p(-np.exp(np.minimum(sa - sb, 0.0)))
    middle = np.where(b > 0, high, low)
    out = np.where(has_hi & has_lo, middle, np.where(has_hi, la, sb))
    return np.where(np.isnan(out) | ((a <= b) & has_hi & has_lo), -np.inf, out)


@dataclass(frozen=True, eq=False, repr=False)
class Ordinal(Family):
    """ll = log(F(c_k - eta) - F(c_{k-1} - eta)) for y = k in 0..K-1, F the link's
    distribution function; c_{-1} = -inf, c_{K-1} = inf; aux holds the K - 1 cut points."""

    def _derivs(self, y, ntrials, eta, aux, full):
        link, cuts = self.link, np.asarray(aux, dtype=float)
        K = len(cuts) + 1
        k = y.astype(int)
        has_hi, has_lo = k < K - 1, k > 0
        a = np.where(has_hi, cuts[np.minimum(k, K - 2)], 0.0) - eta
        b = np.where(has_lo, cuts[np.maximum(k - 1, 0)], 0.0) - eta
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
