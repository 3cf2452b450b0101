"""The family contract (``Family``) and its canonical fast path (``CanonicalFamily``).

The rows of the one table (``families.FAMILIES``) are instances of subclasses of these;
the module docstring of ``families`` states the equations.  Where log f is -inf
(likelihood 0: an eta past exp's range, see ``links``) ``Family.derivs`` reports
eta-derivatives 0 and ll -inf, never NaN, so a node or draw of weight 0 adds exactly
0 to every weighted sum.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from ..exceptions import DesignError, bad_value
from . import params


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
    aux: tuple = ()
    aux2: tuple = ()


def single_pair(y, ll_tt):
    """The one AuxPair of a family with one auxiliary parameter."""
    zero = np.zeros(np.shape(y)[0], dtype=int)
    return (AuxPair(zero, zero, ll_tt),)


def _zero_where_impossible(der):
    """Derivs with ll = -inf and every derivative (eta and aux) 0 where ll is -inf or NaN
    (likelihood 0), so that a weight of 0 there gives exactly 0 in every weighted sum."""
    bad = ~(der.ll > -np.inf)
    if not bad.any():
        return der

    def fix(a):
        return None if a is None else np.where(bad, 0.0, a)
    aux = tuple(AuxTerm(t.col, fix(t.ll_a), fix(t.d1_a), fix(t.d2_a)) for t in der.aux)
    aux2 = tuple(AuxPair(t.col_a, t.col_b, fix(t.ll_ab)) for t in der.aux2)
    return Derivs(np.where(bad, -np.inf, der.ll), fix(der.d1), fix(der.d2), fix(der.d3),
                  aux, aux2)


# ------------------------------------------------------------------ checks and constants
def check_binary(y, ntrials):
    """0 <= y <= ntrials, integers (ntrials a non-negative integer)."""
    if np.any(ntrials < 0) or np.any(ntrials != np.round(ntrials)):
        raise DesignError(bad_value("the number of trials (successes + failures)",
                                    "a non-negative integer", ntrials[:5].tolist()))
    bad = (y < 0) | (y > ntrials) | (y != np.round(y))
    if bad.any():
        raise DesignError(bad_value("the successes of a binomial response",
                                    "integers between 0 and the number of trials",
                                    y[bad][:5].tolist()))


def check_bernoulli(y, ntrials):
    """y in {0, 1}."""
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        raise DesignError(bad_value("the response of a Bernoulli family",
                                    "0 or 1 in every row", y[bad][:5].tolist()))


def check_count(y, ntrials):
    """y a non-negative integer."""
    bad = (y < 0) | (y != np.round(y))
    if bad.any():
        raise DesignError(bad_value("the response of a count family (poisson, nbinomial)",
                                    "non-negative integers", y[bad][:5].tolist()))


def binomial_constant(y, ntrials):
    """log C(n, y) per observation."""
    return gammaln(ntrials + 1.0) - gammaln(y + 1.0) - gammaln(ntrials - y + 1.0)


def count_constant(y, ntrials):
    """-log y! per observation."""
    return -gammaln(y + 1.0)


# ------------------------------------------------------------------ the base classes
@dataclass(frozen=True, eq=False, repr=False)
class Family:
    """One (family, link) row.

    name: Stata's family name; link: a ``links.Link``; title: Stata's printed
    family; aux: the auxiliary parameters (``params.Aux``); fixed_model: Stata's
    name of the model without random effects (its LR test line); has_trials:
    binomial counts out of ntrials.
    """

    name: str
    link: object
    title: str
    aux: object = params.NO_AUX
    fixed_model: str = ""
    has_trials: bool = False

    def derivs(self, y, ntrials, eta, aux, full=True):
        """``Derivs`` of the log density (without ``constant``) at eta; 0 derivatives where
        the likelihood is 0."""
        with np.errstate(over="ignore", invalid="ignore"):   # exp past 709.78: ``links``
            return _zero_where_impossible(self._derivs(y, ntrials, eta, aux, full))

    def _derivs(self, y, ntrials, eta, aux, full):
        raise NotImplementedError

    def check(self, y, ntrials):
        """Raise a DesignError if y (with ntrials) is not data of this family."""

    def check_response(self, y, ntrials):
        """``check`` on arrays of floats."""
        self.check(np.asarray(y, dtype=float), np.asarray(ntrials, dtype=float))

    def constant(self, y, ntrials):
        """(n,) terms of log f free of eta and of the auxiliary parameters."""
        return np.zeros(np.shape(y))

    def data_constant(self, y, ntrials, weights=None):
        """sum_i w_i constant_i: what a kernel log likelihood lacks of the full one."""
        const = self.constant(np.asarray(y, dtype=float), np.asarray(ntrials, dtype=float))
        return float(np.sum(const if weights is None else np.asarray(weights) * const))

    @property
    def canonical(self):
        """Whether the link is the family's canonical one (Bernoulli/binomial logit, Poisson
        log): Stata's condition for intmethod pcaghermite and pclaplace."""
        return False

    @property
    def fixed_model_label(self):
        """Stata's name of the model without random effects (the LR test line)."""
        return self.fixed_model or f"{self.name} {self.link.name}"

    def __repr__(self):
        return f"<family {self.name}/{self.link.name}>"

    def __reduce__(self):
        """A row of ``families.FAMILIES`` unpickles as that row (joblib workers share it)."""
        from .families import FAMILIES, table_row
        for key, row in FAMILIES.items():
            if row is self:
                return table_row, key
        return super().__reduce__()


@dataclass(frozen=True, eq=False, repr=False)
class CanonicalFamily(Family):
    """A family with a canonical link: log f = y eta - c(eta) (+ constant), c for one trial
    scaled by ``ntrials`` when ``has_trials``.  Subclasses give ``canonical_link`` and
    ``_cumulant1(eta)`` = c, ``_derivs1(eta)`` = (c, c', c''), ``_mean_variance1(eta)`` =
    (c', c''),
    ``_third1(c1, c2)`` = c'''.  ``glmm_name`` is R glmm's name."""

    glmm_name: str = ""
    canonical_link = None

    @property
    def canonical(self):
        return isinstance(self.link, type(self.canonical_link))

    def _scale(self, values, ntrials):
        return values if not self.has_trials else tuple(ntrials * v for v in values)

    def cumulant(self, eta, ntrials=1.0):
        """c(eta) = ntrials * c1(eta) (ntrials is ignored by one-trial families)."""
        c = self._cumulant1(eta)
        return ntrials * c if self.has_trials else c

    def mean(self, eta, ntrials=1.0):
        """c'(eta), the conditional mean of y."""
        return self.mean_variance(eta, ntrials)[0]

    def variance(self, eta, ntrials=1.0):
        """c''(eta), the conditional variance of y (the IRLS working weight)."""
        return self.mean_variance(eta, ntrials)[1]

    def cumulant_derivs(self, eta, ntrials=1.0):
        """(c(eta), c'(eta), c''(eta)) together, sharing their exponentials."""
        return self._scale(self._derivs1(eta), ntrials)

    def mean_variance(self, eta, ntrials=1.0):
        """(c'(eta), c''(eta)) together, without c (the MCLA's derivative pass)."""
        return self._scale(self._mean_variance1(eta), ntrials)

    def third(self, c1, c2, ntrials=1.0):
        """c'''(eta) from c' and c'' (quadrature's d3)."""
        if not self.has_trials:
            return self._third1(c1, c2)
        per_trial = np.where(ntrials > 0, ntrials, 1.0)
        return ntrials * self._third1(c1 / per_trial, c2 / per_trial)

    def loglik_terms(self, y, eta, ntrials=1.0):
        """Per-observation y * eta - c(eta) (R glmm's kernel: no constants)."""
        return y * eta - self.cumulant(eta, ntrials)

    def _derivs(self, y, ntrials, eta, aux, full):
        """Fast path: ll = y eta - c, d1 = y - c', d2 = -c'', d3 = -c''' (canonical link)."""
        if not isinstance(self.link, type(self.canonical_link)):
            return self._generic_derivs(y, ntrials, eta, aux, full)
        c, c1, c2 = self.cumulant_derivs(eta, ntrials)
        if not full:
            return Derivs(y * eta - c, y - c1, None, None)
        return Derivs(y * eta - c, y - c1, -c2, -self.third(c1, c2, ntrials))

    def _generic_derivs(self, y, ntrials, eta, aux, full):
        raise NotImplementedError

    def generic_derivs(self, y, ntrials, eta, aux=(), full=True):
        """The generic (link-inverse) path, whatever the link: checks the fast path."""
        with np.errstate(over="ignore", invalid="ignore"):
            return _zero_where_impossible(self._generic_derivs(y, ntrials, eta, aux, full))

    def __repr__(self):
        return self.glmm_name.replace(".", "_") if self.glmm_name else super().__repr__()
