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

One row per (family, link); ``response_of(family)`` looks the row up for a meglm family
(``links.MEFamily``) or a glmm family (``families.CanonicalFamily``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import beta as beta_fn, betainc, expit, hyp2f1, ndtr, ndtri, xlogy

from ..exceptions import bad_value


def _d_expit(eta):
    p = expit(eta)
    return p * (1.0 - p)


def _normal_pdf(eta):
    return np.exp(-0.5 * eta * eta) / np.sqrt(2.0 * np.pi)


def _cloglog_inv(eta):
    return -np.expm1(-np.exp(eta))


def _d_cloglog_inv(eta):
    return np.exp(eta - np.exp(eta))


_INVERSE = {"identity": (lambda e: e, np.ones_like), "log": (np.exp, np.exp),
            "logit": (expit, _d_expit), "probit": (ndtr, _normal_pdf),
            "cloglog": (_cloglog_inv, _d_cloglog_inv)}
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
class Response:
    """One (family, link) row of the pieces above (module docstring)."""

    name: str
    link: str
    variance_fn: Callable | None
    deviance_fn: Callable | None
    anscombe_fn: Callable | None
    draw: Callable
    has_mean: bool = True

    def mean(self, eta, n=1.0):
        """mu = n g^-1(eta)."""
        return n * _INVERSE[self.link][0](eta)

    def dmu_deta(self, eta, n=1.0):
        """d mu / d eta = n (g^-1)'(eta)."""
        return n * _INVERSE[self.link][1](eta)

    def _need(self, fn, what):
        if fn is None:
            raise ValueError(bad_value("kind", f"a residual defined for the {self.name} family "
                                       f"(it has no {what})", what))
        return fn

    def variance(self, mu, n, a):
        return self._need(self.variance_fn, "variance function")(mu, n, a)

    def deviance(self, y, mu, n, a):
        return self._need(self.deviance_fn, "deviance")(y, mu, n, a)

    def anscombe(self, y, mu, n, a):
        return self._need(self.anscombe_fn, "Anscombe residual")(y, mu, n, a)

    def sample(self, rng, eta, n, a):
        """One draw of y per entry of eta (n, a broadcast)."""
        if not self.has_mean:
            e = _QUANTILE[self.link](rng.random(eta.shape))
            return (np.asarray(a)[None, :] < (eta + e)[..., None]).sum(axis=-1).astype(float)
        return self.draw(rng, self.mean(eta, n), n, a)


def _ordinal(link):
    return Response("ordinal", link, None, None, None, None, has_mean=False)


def _binary(link):
    return Response("binomial", link, lambda mu, n, a: mu * (1.0 - mu / n), _binomial_deviance,
                    _binomial_anscombe, _draw_binomial)


_GAUSSIAN = {link: Response("gaussian", link, lambda mu, n, a: np.ones_like(mu),
                            lambda y, mu, n, a: (y - mu) ** 2, lambda y, mu, n, a: y - mu,
                            _draw_gaussian) for link in ("identity", "log")}
_ROWS = {("gaussian", link): row for link, row in _GAUSSIAN.items()}
_ROWS.update({("binomial", link): _binary(link) for link in ("logit", "probit", "cloglog")})
_ROWS.update({("ordinal", link): _ordinal(link) for link in ("logit", "probit", "cloglog")})
_ROWS[("poisson", "log")] = Response("poisson", "log", lambda mu, n, a: mu, _poisson_deviance,
                                     _poisson_anscombe, _draw_poisson)
_ROWS[("nbinomial-mean", "log")] = Response(
    "nbinomial", "log", lambda mu, n, a: mu * (1.0 + np.exp(a[0]) * mu), _nbmean_deviance,
    _nbmean_anscombe, _draw_nbmean)
_ROWS[("nbinomial-constant", "log")] = Response(
    "nbinomial", "log", lambda mu, n, a: mu * (1.0 + np.exp(a[0])), None,
    _nbconst_anscombe, _draw_nbconst)
_ROWS[("gamma", "log")] = Response("gamma", "log", lambda mu, n, a: mu * mu, _gamma_deviance,
                                   _gamma_anscombe, _draw_gamma)

_GLMM_NAMES = {"bernoulli.glmm": ("binomial", "logit"), "binomial.glmm": ("binomial", "logit"),
               "poisson.glmm": ("poisson", "log")}


def response_of(family):
    """The ``Response`` row of a meglm family (``links.MEFamily``) or a glmm family."""
    name = getattr(family, "family", None)
    if name is None:
        return _ROWS[_GLMM_NAMES[family.name]]
    if name == "bernoulli":
        name = "binomial"
    if name == "nbinomial":
        name = "nbinomial-constant" if family.aux_kind == "lndelta" else "nbinomial-mean"
    return _ROWS[(name, family.link)]


_GLMM_TO_MEGLM = {"bernoulli.glmm": "bernoulli", "binomial.glmm": "binomial",
                  "poisson.glmm": "poisson"}


def meglm_family_of(family):
    """The meglm (family, link) row (``links.MEFamily``) of a glmm canonical family."""
    from .links import me_family
    return me_family(_GLMM_TO_MEGLM[family.name])
