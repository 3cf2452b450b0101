"""Links g: mean mu = g^-1(eta).  One class per link; one instance each in ``LINKS``.

Every link gives ``link(mu)`` (eta for start values), ``inverse(eta)`` and
``inverse_derivs(eta)`` = (mu, dmu/deta, d2mu/deta2, d3mu/deta3).  Links whose
inverse is a distribution function F (logit, probit, cloglog: the binary and
ordinal families) also give, as functions of x, log F, log(1 - F), log f and the
ratios q1 = f'/f, q2 = f''/f, from which the families take their derivatives in
log space (no tail underflows).

The logistic function is written here once: F(x) = expit(x), log F = -softplus(-x),
log(1 - F) = -softplus(x), softplus(x) = log(1 + e^x); the canonical Bernoulli
cumulant c = softplus and its derivatives c' = F, c'' = F(1 - F) come from one
e = exp(-|x|) (``logistic_cumulants``, ``logistic_moments``).

**Overflow policy for exp(eta)** (the only one in the package): exp is taken as is,
so it is +inf past eta = 709.78 (``exp_eta``), never clipped.  The families turn
that into a log density of -inf (likelihood 0), never NaN, with eta-derivatives 0
there (``families.Family.derivs``); the engines reject such a point (Newton, step
halving and the trust region refuse a non-finite value; the MCLA gives such a draw
weight 0).
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit, log_ndtr, logit, ndtri

from ..exceptions import bad_value

_LOG2PI = np.log(2.0 * np.pi)


def exp_eta(x):
    """exp(x), +inf past x = 709.78 (the package's one overflow policy)."""
    with np.errstate(over="ignore"):
        return np.exp(x)


def softplus(x):
    """log(1 + e^x) = max(x, 0) + log1p(e^-|x|), finite for any finite x (np.logaddexp(0, x)
    to 2.3e-16 relative at half its cost: logaddexp calls the scalar exp and log1p)."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def exp_minus_abs(x):
    """exp(-|x|), in (0, 1] for any finite x, computed in place."""
    e = np.abs(x)
    np.negative(e, out=e)
    return np.exp(e, out=e)


def _logistic(x, e):
    """(r, F(x), F(x)(1 - F(x))) of the logistic F from e = exp(-|x|), r = 1 / (1 + e):
    F = r where x >= 0 and e r elsewhere, chosen by multiplying with the 0/1 masks (each
    product exact; np.where costs as much as the exponential), F(1 - F) = e r^2."""
    r = e + 1.0
    np.reciprocal(r, out=r)
    c2 = e * r
    pos = x >= 0
    c1 = r * pos
    np.logical_not(pos, out=pos)
    c1 += c2 * pos
    c2 *= r
    return r, c1, c2


def logistic_moments(x, e):
    """(F(x), F(x)(1 - F(x))) of the logistic F from e = exp(-|x|) (``_logistic``)."""
    return _logistic(x, e)[1:]


def logistic_cumulants(x):
    """(softplus(x), F(x), F(x)(1 - F(x))) from one e = exp(-|x|) and r = 1 / (1 + e):
    softplus(x) = max(x, 0) + log(1 + e) = max(x, 0) - log r.  log r is log1p(e) to
    rounding (absolute error below 3e-16) at two thirds of log1p's cost."""
    r, c1, c2 = _logistic(x, exp_minus_abs(x))
    c = np.log(r)
    np.subtract(np.maximum(x, 0.0), c, out=c)
    return c, c1, c2


class Link:
    """A link g with inverse mu = g^-1(eta); subclasses set ``name`` and the three maps."""

    name = ""
    label = ""            # R glmm's printed label ("Link is: ...")

    def link(self, mu):
        """eta = g(mu)."""
        raise NotImplementedError

    def inverse(self, eta):
        """mu = g^-1(eta)."""
        return self.inverse_derivs(eta)[0]

    def inverse_derivs(self, eta):
        """(mu, dmu/deta, d2mu/deta2, d3mu/deta3), each shaped like eta."""
        raise NotImplementedError

    def start_eta(self, mean):
        """g(mean) for a start value, 0 where the mean is outside g's domain."""
        with np.errstate(divide="ignore", invalid="ignore"):
            eta = float(self.link(mean))
        return eta if np.isfinite(eta) else 0.0

    def __str__(self):
        return self.name

    def __reduce__(self):
        """Unpickles as the one instance of ``LINKS``."""
        return get_link, (self.name,)

    def __repr__(self):
        return f"<link {self.name}>"


class IdentityLink(Link):
    name = label = "identity"

    def link(self, mu):
        return mu

    def inverse_derivs(self, eta):
        one = np.ones_like(eta)
        return eta, one, 0.0 * one, 0.0 * one


class LogLink(Link):
    name = label = "log"

    def link(self, mu):
        return np.log(mu)

    def inverse_derivs(self, eta):
        mu = exp_eta(eta)
        return mu, mu, mu, mu


class CDFLink(Link):
    """A link whose inverse is a distribution function F (binary and ordinal families)."""

    def log_cdf(self, x):
        raise NotImplementedError

    def log_sf(self, x):
        raise NotImplementedError

    def log_pdf(self, x):
        raise NotImplementedError

    def q1(self, x):
        """f'(x) / f(x)."""
        raise NotImplementedError

    def q2(self, x):
        """f''(x) / f(x)."""
        raise NotImplementedError

    def inverse_derivs(self, eta):
        f = np.exp(self.log_pdf(eta))
        q1 = self.q1(eta)
        return self.inverse(eta), f, f * q1, f * self.q2(eta)


class LogitLink(CDFLink):
    name = "logit"
    label = "logit (log odds)"

    def link(self, mu):
        return logit(mu)

    def inverse(self, eta):
        return expit(eta)

    def log_cdf(self, x):
        return -softplus(-x)

    def log_sf(self, x):
        return -softplus(x)

    def log_pdf(self, x):
        return -softplus(x) - softplus(-x)

    def q1(self, x):
        return 1.0 - 2.0 * expit(x)

    def q2(self, x):
        F = expit(x)
        return 1.0 - 6.0 * F * (1.0 - F)


class ProbitLink(CDFLink):
    name = label = "probit"

    def link(self, mu):
        return ndtri(mu)

    def inverse(self, eta):
        return np.exp(log_ndtr(eta))

    def log_cdf(self, x):
        return log_ndtr(x)

    def log_sf(self, x):
        return log_ndtr(-x)

    def log_pdf(self, x):
        return -0.5 * x * x - 0.5 * _LOG2PI

    def q1(self, x):
        return -x

    def q2(self, x):
        return x * x - 1.0


class CloglogLink(CDFLink):
    """F(x) = 1 - exp(-exp(x)); exp(x) by ``exp_eta`` (inf past 709.78: F = 1, log(1-F) = -inf)."""

    name = label = "cloglog"

    def link(self, mu):
        return np.log(-np.log1p(-mu))

    def inverse(self, eta):
        return -np.expm1(-exp_eta(eta))

    def log_cdf(self, x):
        return np.log(-np.expm1(-exp_eta(x)))

    def log_sf(self, x):
        return -exp_eta(x)

    def log_pdf(self, x):
        return x - exp_eta(x)

    def q1(self, x):
        return 1.0 - exp_eta(x)

    def q2(self, x):
        e = exp_eta(x)
        return (1.0 - e) ** 2 - e


IDENTITY, LOG, LOGIT, PROBIT, CLOGLOG = (IdentityLink(), LogLink(), LogitLink(), ProbitLink(),
                                         CloglogLink())
LINKS = {lk.name: lk for lk in (IDENTITY, LOG, LOGIT, PROBIT, CLOGLOG)}


def get_link(link):
    """The Link for a Link object or a name (ValueError naming ``link`` otherwise)."""
    if isinstance(link, Link):
        return link
    if isinstance(link, str) and link.lower() in LINKS:
        return LINKS[link.lower()]
    raise ValueError(bad_value("link", "one of " + ", ".join(LINKS), link))
