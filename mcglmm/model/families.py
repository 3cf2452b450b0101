"""Conditional distributions of the response given the random effects: one table, ``FAMILIES``.

Every (family, link) row is an instance of a ``Family`` subclass.  Its ``derivs``
maps the linear predictor ``eta`` (any shape, broadcasting with y and ntrials) to

    ll = log f(y | eta, a) - constant,  d1 = dll/deta,  d2 = d2ll/deta2,  d3 = d3ll/deta3,

(``Derivs``) and, for families with auxiliary parameters a (``params`` names them),
their ``AuxTerm``/``AuxPair`` derivatives.  The data-only constant (log C(n, y),
-log y!, ...) is ``constant(y, ntrials)``; ``check`` refuses data the family cannot
have.  With ``full=False`` a row may leave d2, d3 and the aux terms' d1_a, d2_a as None.
Engines call these methods and never branch on a family's name.

The canonical families (Bernoulli and binomial with the logit link, Poisson with the
log link) are ``CanonicalFamily``: log f = w (y eta - c(eta)) + constant, with the
cumulant c, c' (the mean) and c'' (the variance) that the MCLA and PQL use, as R
glmm (``bernoulli_glmm``, ``binomial_glmm``, ``poisson_glmm`` are their rows; R glmm
reports the kernel without the constant).  Their ``derivs`` is a fast path through
c, c', c'' for the canonical link, falling back to the generic path (``super()``)
through the link's inverse otherwise.  Where log f is -inf (likelihood 0: an eta
past exp's range, see ``links``) the eta-derivatives are 0, never NaN.

Binary families go through the link's distribution function F, with the ratios
f/F, f'/f, f''/f taken in log space:

    (log F)' = r,  (log F)'' = q1 r - r^2,  (log F)''' = q2 r - 3 q1 r^2 + 2 r^3,
    r = exp(log f - log F),  q1 = f'/f,  q2 = f''/f,

and the mirrored formulas for log(1 - F).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exceptions import bad_value
from . import params
from .aux_families import Gamma, Gaussian, NBinomialConstant, NBinomialMean, Ordinal
from .family_base import (AuxPair, AuxTerm, CanonicalFamily, Derivs, Family, binomial_constant,
                          check_bernoulli, check_binary, check_count, count_constant)
from .links import (CLOGLOG, IDENTITY, LOG, LOGIT, PROBIT, exp_eta, exp_minus_abs,
                    get_link, logistic_cumulants, logistic_moments, softplus)


def _cdf_log_derivs(log_F, log_f, q1, q2, sign):
    """(log G, 1st-3rd derivatives) for G = F (sign 1) or 1 - F (sign -1), in log space."""
    with np.errstate(invalid="ignore"):
        r = np.exp(log_f - log_F)
    return (log_F, sign * r, sign * q1 * r - r * r,
            sign * q2 * r - 3.0 * q1 * r * r + sign * 2.0 * r ** 3)


@dataclass(frozen=True, eq=False, repr=False)
class Binomial(CanonicalFamily):
    """ll = y log F(eta) + (n - y) log(1 - F(eta)) (+ log C(n, y)); logit is canonical:
    c1 = softplus(eta), c1' = F, c1'' = F(1 - F), c1''' = c1''(1 - 2 c1')."""

    canonical_link = LOGIT

    def check(self, y, ntrials):
        (check_binary if self.has_trials else check_bernoulli)(y, ntrials)

    def constant(self, y, ntrials):
        return binomial_constant(y, ntrials)

    def _cumulant1(self, eta):
        return softplus(eta)

    def _derivs1(self, eta):
        return logistic_cumulants(eta)

    def _mean_variance1(self, eta):
        return logistic_moments(eta, exp_minus_abs(eta))

    def _third1(self, c1, c2):
        return c2 * (1.0 - 2.0 * c1)

    def _generic_derivs(self, y, ntrials, eta, aux, full):
        lk = self.link
        q1, q2, log_f = lk.q1(eta), lk.q2(eta), lk.log_pdf(eta)
        lf = _cdf_log_derivs(lk.log_cdf(eta), log_f, q1, q2, 1.0)
        ls = _cdf_log_derivs(lk.log_sf(eta), log_f, q1, q2, -1.0)
        fail = ntrials - y
        ll = np.where(y > 0, y * lf[0], 0.0) + np.where(fail > 0, fail * ls[0], 0.0)
        d = [y * a + fail * b for a, b in zip(lf[1:], ls[1:])]
        return Derivs(ll, d[0], d[1], d[2])


@dataclass(frozen=True, eq=False, repr=False)
class Poisson(CanonicalFamily):
    """ll = y log mu - mu (+ -log y!); log is canonical: c = c' = c'' = c''' = exp(eta)."""

    canonical_link = LOG

    def check(self, y, ntrials):
        check_count(y, ntrials)

    def constant(self, y, ntrials):
        return count_constant(y, ntrials)

    def _cumulant1(self, eta):
        return exp_eta(eta)

    def _derivs1(self, eta):
        c = exp_eta(eta)
        return c, c, c

    def _mean_variance1(self, eta):
        c = exp_eta(eta)
        return c, c

    def _third1(self, c1, c2):
        return c2

    def _generic_derivs(self, y, ntrials, eta, aux, full):
        """Chain rule through mu = g^-1(eta): l1 = y/mu - 1, l2 = -y/mu^2, l3 = 2y/mu^3."""
        mu, m1, m2, m3 = self.link.inverse_derivs(eta)
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = np.where(y > 0, y * np.log(mu), 0.0) - mu
            l1, l2, l3 = y / mu - 1.0, -y / mu ** 2, 2.0 * y / mu ** 3
        return Derivs(ll, l1 * m1, l2 * m1 * m1 + l1 * m2,
                      l3 * m1 ** 3 + 3.0 * l2 * m1 * m2 + l1 * m3)


def _rows():
    """{(key, link name): Family}: Stata's allowed (family, link) pairs (key nbinomial-mean
    or nbinomial-constant for the two dispersions)."""
    sd, cuts, fixed = params.LogSD(), params.Cuts(), {}
    rows = [Gaussian("gaussian", IDENTITY, "Gaussian", sd, "linear"),
            Gaussian("gaussian", LOG, "Gaussian", sd),
            Poisson("poisson", LOG, "Poisson", fixed_model="Poisson", glmm_name="poisson.glmm"),
            Gamma("gamma", LOG, "Gamma", params.LogParameter("logs")),
            NBinomialMean("nbinomial", LOG, "Negative binomial", params.LogParameter("lnalpha"),
                          "nbinomial"),
            NBinomialConstant("nbinomial", LOG, "Negative binomial",
                              params.LogParameter("lndelta"), "nbinomial")]
    for link in (LOGIT, PROBIT, CLOGLOG):
        canonical = link is LOGIT
        rows += [Binomial("bernoulli", link, "Bernoulli", fixed_model="logistic" * canonical,
                          glmm_name="bernoulli.glmm" * canonical),
                 Binomial("binomial", link, "Binomial", fixed_model="logistic" * canonical,
                          has_trials=True, glmm_name="binomial.glmm" * canonical),
                 Ordinal("ordinal", link, "Ordinal", cuts,
                         {"logit": "ologit", "probit": "oprobit"}.get(link.name, ""))]
    keys = {NBinomialMean: "nbinomial-mean", NBinomialConstant: "nbinomial-constant"}
    for row in rows:
        fixed[(keys.get(type(row), row.name), row.link.name)] = row
    return fixed


FAMILIES = _rows()
DEFAULT_LINK = {"gaussian": "identity", "bernoulli": "logit", "binomial": "logit",
                "poisson": "log", "gamma": "log", "nbinomial": "log", "ordinal": "logit"}
DISPERSIONS = ("mean", "constant")

bernoulli_glmm = FAMILIES[("bernoulli", "logit")]
binomial_glmm = FAMILIES[("binomial", "logit")]
poisson_glmm = FAMILIES[("poisson", "log")]
GLMM_FAMILIES = {f.glmm_name: f for f in (bernoulli_glmm, binomial_glmm, poisson_glmm)}


def get_family(family="gaussian", link=None, dispersion="mean"):
    """The table row for Stata's (family, link); ValueError naming the argument otherwise."""
    if not isinstance(family, str) or family.lower() not in DEFAULT_LINK:
        raise ValueError(bad_value("family", "one of " + ", ".join(sorted(DEFAULT_LINK)), family))
    family = family.lower()
    link = get_link(DEFAULT_LINK[family] if link is None else link).name
    if dispersion not in DISPERSIONS:
        raise ValueError(bad_value("dispersion", "'mean' or 'constant'", dispersion))
    key = f"{family}-{dispersion}" if (f"{family}-{dispersion}", "log") in FAMILIES else family
    if (key, link) not in FAMILIES:
        ok = sorted(lk for (f, lk) in FAMILIES if f == key)
        raise ValueError(bad_value("link", f"one of {', '.join(ok)} for family {family!r} "
                                   "(Stata's allowed combinations)", link))
    return FAMILIES[(key, link)]


me_family = get_family


def table_row(key, link):
    """FAMILIES[(key, link)] (how a row unpickles)."""
    return FAMILIES[(key, link)]


def get_glmm_family(family):
    """A glmm family by object or by name ("bernoulli", "bernoulli.glmm", "bernoulli_glmm")."""
    if isinstance(family, CanonicalFamily) and family.glmm_name:
        return family
    if isinstance(family, str):
        key = family.replace("_", ".")
        if not key.endswith(".glmm"):
            key += ".glmm"
        if key in GLMM_FAMILIES:
            return GLMM_FAMILIES[key]
    allowed = "one of " + ", ".join(sorted(n.replace(".", "_") for n in GLMM_FAMILIES))
    raise ValueError(bad_value("family_glmm", allowed + " (object or string)", family))


__all__ = ["FAMILIES", "DEFAULT_LINK", "Family", "CanonicalFamily", "Derivs", "AuxTerm",
           "AuxPair", "get_family", "me_family", "get_glmm_family", "bernoulli_glmm",
           "binomial_glmm", "poisson_glmm"]
