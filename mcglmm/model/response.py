"""The response's mean, variance function, deviance, Anscombe residual and sampler, per family.

What postestimation needs besides the log density (``links``): with mu = n g^-1(eta)
(n the binomial trials, 1 otherwise) and a the family's auxiliary parameters on
their internal scale (log sd, log alpha, log delta, log scale, cut points),

    mean(eta, n), dmu_deta(eta, n)          the conditional mean and its derivative
    variance(mu, n, a)                      Stata's variance function V(mu) (Pearson)
    deviance(y, mu, n, a)                   d_i, the unit deviance (sign(y - mu) sqrt(d_i))
    anscombe(y, mu, n, a)                   {A(y) - A(mu)} / V(mu)^(1/6), A' = V^(-1/3)
    sample(rng, eta, n, a)                  a draw of y given eta

in the unscaled forms of Stata's meglm predict (gaussian V = 1; gamma V = mu^2).
Binomial: A(y) = n^(2/3) B(y/n; 2/3, 2/3) (the incomplete beta function, unregularised);
nbinomial (mean): A(y) = 3/2 y^(2/3) 2F1(1/3, 2/3; 5/3; -alpha y).  Ordinal models have
no mean, residuals or deviance here (their predictions are category probabilities), and
the constant-dispersion negative binomial no unit deviance (mu = y does not maximise its
likelihood, so 2 (l(y; y) - l(y; mu)) can be negative);
``sample`` draws a category from the latent-variable form y = #{cuts c_k < eta + e}, e ~ F.

One ``Pieces`` per family class, the mean through the row's link; ``response_of(family)``
gives them for any row of ``families.FAMILIES`` (meglm's and glmm's families alike).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import beta as beta_fn, betainc, hyp2f1, ndtri, xlogy

from ..exceptions import bad_value
from .aux_families import Gamma, Gaussian, NBinomialConstant, NBinomialMean, Ordinal
from .families import Binomial, Poisson


_QUANTILE = {"logit": lambda p: np.log(p) - np.log1p(-p), "probit": ndtri,
             "cloglog": lambda p: np.log(-np.log1p(-p))}


def _binomial_deviance(y, mu, n, a):
    return 2.0 * (xlogy(y, y / mu) + xlogy(n - y, np.where(n > y, (n - y) / (n - mu), 1.0)))


def _binomial_anscombe(y, mu, n, a):
    def A(x):
        return n ** (2.0 / 3.0) * beta_fn(2.0 / 3.0, 2.0 / 3.0) * betainc(2.0 / 3.0, 2.0 / 3.0,
                                                                          x / n)
    return (A(y) - A(mu)) / (mu * (1.0 - mu / n)) ** (1.0 / 6.0)


def _poisson_deviance(y, mu, n, a):
    return 2.0 * (xlogy(y, y / mu) - (y - mu))


def _poisson_anscombe(y, mu, n, a):
    return 1.5 * (y ** (2.0 / 3.0) - mu ** (2.0 / 3.0)) / mu ** (1.0 / 6.0)


def _nbmean_deviance(y, mu, n, a):
    alpha = np.exp(a[0])
    ratio = (1.0 + alpha * y) / (1.0 + alpha * mu)
    return 2.0 * (xlogy(y, y / mu) - (y + 1.0 / alpha) * np.log(ratio))


def _nbmean_anscombe(y, mu, n, a):
    alpha = np.exp(a[0])

    def A(x):
        return 1.5 * x ** (2.0 / 3.0) * hyp2f1(1.0 / 3.0, 2.0 / 3.0, 5.0 / 3.0, -alpha * x)
    return (A(y) - A(mu)) / (mu + alpha * mu * mu) ** (1.0 / 6.0)


def _nbconst_anscombe(y, mu, n, a):
    return _poisson_anscombe(y, mu, n, a) / np.sqrt(1.0 + np.exp(a[0]))


def _gamma_deviance(y, mu, n, a):
    return -2.0 * (np.log(y / mu) - (y - mu) / mu)


def _gamma_anscombe(y, mu, n, a):
    return 3.0 * (y ** (1.0 / 3.0) - mu ** (1.0 / 3.0)) / mu ** (1.0 / 3.0)


def _draw_gaussian(rng, mu, n, a):
    return mu + np.exp(a[0]) * rng.standard_normal(mu.shape)


def _draw_binomial(rng, mu, n, a):
    n = np.broadcast_to(n, mu.shape).astype(np.int64)
    return rng.binomial(n, np.clip(mu / np.where(n > 0, n, 1), 0.0, 1.0)).astype(float)


def _draw_poisson(rng, mu, n, a):
    return rng.poisson(mu).astype(float)


def _draw_nbmean(rng, mu, n, a):
    r = np.exp(-a[0])
    return rng.negative_binomial(r, r / (r + mu)).astype(float)


def _draw_nbconst(rng, mu, n, a):
    delta = np.exp(a[0])
    return rng.negative_binomial(mu / delta, 1.0 / (1.0 + delta)).astype(float)


def _draw_gamma(rng, mu, n, a):
    k = np.exp(-a[0])
    return rng.gamma(k, mu / k)


@dataclass(frozen=True)
class Pieces:
    """The response pieces of one family class (module docstring); name for messages."""

    name: str
    variance_fn: Callable | None
    deviance_fn: Callable | None
    anscombe_fn: Callable | None
    draw: Callable | None
    has_mean: bool = True


@dataclass(frozen=True)
class Response:
    """A family row's pieces: its link (``links.Link``) and its class's ``Pieces``."""

    pieces: Pieces
    link: object

    @property
    def name(self):
        return self.pieces.name

    @property
    def has_mean(self):
        return self.pieces.has_mean

    def mean(self, eta, n=1.0):
        """mu = n g^-1(eta)."""
        return n * self.link.inverse(eta)

    def dmu_deta(self, eta, n=1.0):
        """d mu / d eta = n (g^-1)'(eta)."""
        return n * self.link.inverse_derivs(eta)[1]

    def _need(self, fn, what):
        if fn is None:
            raise ValueError(bad_value("kind", f"a residual defined for the {self.name} family "
                                       f"(it has no {what})", what))
        return fn

    def variance(self, mu, n, a):
        return self._need(self.pieces.variance_fn, "variance function")(mu, n, a)

    def deviance(self, y, mu, n, a):
        return self._need(self.pieces.deviance_fn, "deviance")(y, mu, n, a)

    def anscombe(self, y, mu, n, a):
        return self._need(self.pieces.anscombe_fn, "Anscombe residual")(y, mu, n, a)

    def sample(self, rng, eta, n, a):
        """One draw of y per entry of eta (n, a broadcast)."""
        if not self.has_mean:
            e = _QUANTILE[self.link.name](rng.random(eta.shape))
            return (np.asarray(a)[None, :] < (eta + e)[..., None]).sum(axis=-1).astype(float)
        return self.pieces.draw(rng, self.mean(eta, n), n, a)


_PIECES = {
    Gaussian: Pieces("gaussian", lambda mu, n, a: np.ones_like(mu),
                     lambda y, mu, n, a: (y - mu) ** 2, lambda y, mu, n, a: y - mu,
                     _draw_gaussian),
    Binomial: Pieces("binomial", lambda mu, n, a: mu * (1.0 - mu / n), _binomial_deviance,
                     _binomial_anscombe, _draw_binomial),
    Poisson: Pieces("poisson", lambda mu, n, a: mu, _poisson_deviance, _poisson_anscombe,
                    _draw_poisson),
    NBinomialMean: Pieces("nbinomial", lambda mu, n, a: mu * (1.0 + np.exp(a[0]) * mu),
                          _nbmean_deviance, _nbmean_anscombe, _draw_nbmean),
    NBinomialConstant: Pieces("nbinomial", lambda mu, n, a: mu * (1.0 + np.exp(a[0])), None,
                              _nbconst_anscombe, _draw_nbconst),
    Gamma: Pieces("gamma", lambda mu, n, a: mu * mu, _gamma_deviance, _gamma_anscombe,
                  _draw_gamma),
    Ordinal: Pieces("ordinal", None, None, None, None, has_mean=False),
}


def response_of(family):
    """The ``Response`` of a family row (``families.FAMILIES``, meglm's or glmm's)."""
    return Response(_PIECES[type(family)], family.link)
