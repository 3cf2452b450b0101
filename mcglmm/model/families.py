"""Conditional distributions of the response given the random effects.

The MCLA engine (R glmm's method) uses canonical exponential families written
through their cumulant function ``c``:

    log f(y | eta) = w * (y * eta - c(eta))        (R glmm drops the constant in y)

with ``c'(eta)`` the mean and ``c''(eta)`` the variance.  For a binomial with
``n`` trials the cumulant is ``n * log(1 + exp(eta))``.  Each family is one row
(an instance) of ``CanonicalFamily``; engines call its methods and never branch
on a family's name.

Shapes: ``eta`` and ``ntrials`` broadcast together (``(n,)`` or ``(n, m)``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import expit

from ..exceptions import DesignError, bad_value


def _softplus(eta):
    """log(1 + exp(eta)), exact for any finite eta."""
    return np.logaddexp(0.0, eta)


def _logistic_variance(eta):
    """expit(eta) * expit(-eta), without cancellation in the tails."""
    return expit(eta) * expit(-eta)


def _exp_minus_abs(eta):
    """exp(-|eta|), in (0, 1] for any finite eta, computed in place."""
    e = np.abs(eta)
    np.negative(e, out=e)
    return np.exp(e, out=e)


def _logistic_moments(eta, e):
    """(c', c'') of the logistic cumulant from e = exp(-|eta|), r = 1 / (1 + e):
    c' = r or e r by the sign of eta, c'' = e r^2."""
    r = e + 1.0
    np.reciprocal(r, out=r)
    c2 = e * r
    c1 = np.where(eta >= 0, r, c2)
    c2 *= r
    return c1, c2


def _logistic_mean_variance(eta):
    """(c', c'') of the logistic cumulant without c: one exp, no log."""
    return _logistic_moments(eta, _exp_minus_abs(eta))


def _logistic_derivs(eta):
    """(c, c', c'') of the logistic cumulant from one exp and one log1p:
    c = max(eta, 0) + log1p(exp(-|eta|)); exact and finite for any finite eta.
    Written with in-place operations: it runs on (n, m) blocks."""
    e = _exp_minus_abs(eta)
    c = np.log1p(e)
    c += np.maximum(eta, 0.0)
    return (c, *_logistic_moments(eta, e))


def _logistic_third(c1, c2):
    """c3 = c'' (1 - 2 c') for one trial."""
    return c2 * (1.0 - 2.0 * c1)


def _poisson_third(c1, c2):
    """c3 = exp(eta) = c''."""
    return c2


def _poisson_mean_variance(eta):
    """(c', c'') = exp(eta) twice."""
    c = _exp(eta)
    return c, c


def _exp(eta):
    """exp(eta); inf beyond eta = 709.78 (a zero likelihood, which engines treat as such)."""
    with np.errstate(over="ignore"):
        return np.exp(eta)


def _poisson_derivs(eta):
    """(c, c', c'') = exp(eta) three times."""
    c = _exp(eta)
    return c, c, c


def _check_bernoulli(y, ntrials):
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        raise DesignError(bad_value("the response of a Bernoulli family",
                                    "0 or 1 in every row", y[bad][:5].tolist()))


def _check_binomial(y, ntrials):
    if np.any(ntrials < 0) or np.any(ntrials != np.round(ntrials)):
        raise DesignError(bad_value("the number of trials (successes + failures)",
                                    "a non-negative integer", ntrials[:5].tolist()))
    bad = (y < 0) | (y > ntrials) | (y != np.round(y))
    if bad.any():
        raise DesignError(bad_value("the successes of a binomial response",
                                    "integers between 0 and the number of trials",
                                    y[bad][:5].tolist()))


def _check_poisson(y, ntrials):
    bad = (y < 0) | (y != np.round(y))
    if bad.any():
        raise DesignError(bad_value("the response of a count family (poisson, nbinomial)",
                                    "non-negative integers", y[bad][:5].tolist()))


@dataclass(frozen=True)
class CanonicalFamily:
    """A canonical-link exponential family, described by its cumulant.

    ``cum``, ``mean`` and ``var`` are c, c' and c'' for one trial; the binomial
    family scales them by ``ntrials``.
    """

    name: str            # R glmm's name, e.g. "bernoulli.glmm"
    link: str            # printed by summary(): glmm's "Link is: ..."
    cum: Callable
    mean1: Callable
    var1: Callable
    check: Callable
    derivs1: Callable
    mean_variance1: Callable
    third1: Callable
    has_trials: bool = False

    def cumulant(self, eta, ntrials=1.0):
        """c(eta) = ntrials * c1(eta) (ntrials is ignored by one-trial families)."""
        return ntrials * self.cum(eta) if self.has_trials else self.cum(eta)

    def mean(self, eta, ntrials=1.0):
        """c'(eta), the conditional mean of y."""
        return ntrials * self.mean1(eta) if self.has_trials else self.mean1(eta)

    def variance(self, eta, ntrials=1.0):
        """c''(eta), the conditional variance of y (the IRLS working weight)."""
        return ntrials * self.var1(eta) if self.has_trials else self.var1(eta)

    def cumulant_derivs(self, eta, ntrials=1.0):
        """(c(eta), c'(eta), c''(eta)) together, sharing their exponentials."""
        c, c1, c2 = self.derivs1(eta)
        if not self.has_trials:
            return c, c1, c2
        return ntrials * c, ntrials * c1, ntrials * c2

    def mean_variance(self, eta, ntrials=1.0):
        """(c'(eta), c''(eta)) together, without c (the MCLA's derivative pass)."""
        c1, c2 = self.mean_variance1(eta)
        if not self.has_trials:
            return c1, c2
        return ntrials * c1, ntrials * c2

    def third(self, c1, c2, ntrials=1.0):
        """c3(eta), the third derivative of c, from c' and c'' (quadrature's d3)."""
        if not self.has_trials:
            return self.third1(c1, c2)
        per_trial = np.where(ntrials > 0, ntrials, 1.0)
        return ntrials * self.third1(c1 / per_trial, c2 / per_trial)

    def loglik_terms(self, y, eta, ntrials=1.0):
        """Per-observation y * eta - c(eta) (R glmm's convention: no constants)."""
        return y * eta - self.cumulant(eta, ntrials)

    def check_response(self, y, ntrials):
        """Raise a DesignError if ``y`` (with ``ntrials``) is not data of this family."""
        self.check(np.asarray(y, dtype=float), np.asarray(ntrials, dtype=float))

    def __repr__(self):
        return self.name.replace(".", "_")


bernoulli_glmm = CanonicalFamily("bernoulli.glmm", "logit (log odds)",
                                 _softplus, expit, _logistic_variance, _check_bernoulli,
                                 _logistic_derivs, _logistic_mean_variance, _logistic_third)
binomial_glmm = CanonicalFamily("binomial.glmm", "logit (log odds)",
                                _softplus, expit, _logistic_variance, _check_binomial,
                                _logistic_derivs, _logistic_mean_variance, _logistic_third,
                                has_trials=True)
poisson_glmm = CanonicalFamily("poisson.glmm", "log",
                               _exp, _exp, _exp, _check_poisson, _poisson_derivs,
                               _poisson_mean_variance, _poisson_third)

GLMM_FAMILIES = {f.name: f for f in (bernoulli_glmm, binomial_glmm, poisson_glmm)}


def get_glmm_family(family):
    """Look up a glmm family by object or by name ("bernoulli", "bernoulli.glmm", "bernoulli_glmm")."""
    if isinstance(family, CanonicalFamily):
        return family
    if isinstance(family, str):
        key = family.replace("_", ".")
        if not key.endswith(".glmm"):
            key += ".glmm"
        if key in GLMM_FAMILIES:
            return GLMM_FAMILIES[key]
    allowed = "one of " + ", ".join(sorted(n.replace(".", "_") for n in GLMM_FAMILIES))
    raise ValueError(bad_value("family_glmm", allowed + " (object or string)", family))
