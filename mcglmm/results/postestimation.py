"""After the fit: random effects, predictions, residuals, simulation, information criteria.

Every front's result gets these methods from ``Postestimation`` through one ``Source``
(``post_source``): the model as the quadrature engine sees it and the estimate theta.

Random effects (Stata's ``predict, reffects ebmeans|ebmodes reses``): posterior means
and standard deviations by the fit's own quadrature at theta, or the joint posterior
mode and the square roots of the diagonal of the inverse curvature there
(``engines.quadrature.posterior``).  Predictions (``predict``), with u~ those effects:

    eta_i = x_i'beta + offset_i + sum_l z_il' u~_l,g(i),     mu_i = n_i g^-1(eta_i)

A group not seen in the fit gets u = 0 (``new_groups="zero"``) or is integrated out
(``"marginal"``): its levels add s_i Z to eta with s_i^2 = sum_l z_il' Sigma_l z_il and
Z ~ N(0, 1), so E[mu_i] is a one-dimensional Gauss-Hermite integral (``MARGINAL_POINTS``
nodes); ``conditional=False`` integrates every level (the population-averaged mean).
``se=True`` gives the delta-method standard error of the fixed part,
se = |d mu / d eta| sqrt(x' V_beta x) (the marginal mean: E[d mu / d eta] instead).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._checks import LAPLACE_METHODS
from ..design.levels import group_table
from ..engines.quadrature.posterior import posterior_means, posterior_modes
from ..engines.quadrature.rules import gh_rule
from ..exceptions import MCGLMMWarning, bad_value
from ..model.response import response_of
from ..model.params import sigmas, unpack
from .post_source import label_strings

MARGINAL_POINTS = 40
WHICH = ("mu", "eta", "fixed", "density")
RESIDUALS = ("response", "pearson", "deviance", "anscombe")


class MissingCovariatesWarning(MCGLMMWarning):
    """Some rows of new data lack a covariate: their predictions are NaN."""


def _check_choice(name, value, allowed):
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(bad_value(name, "one of " + ", ".join(repr(a) for a in allowed), value))


def importance_moments(U, v):
    """Self-normalised importance estimates of E[u | y], sd(u | y) and the Monte Carlo
    standard error of the mean, per column of U (m, q); v (m,) or (m, q) sums to 1:

        u_bar = sum_k v_k u_k,   sd^2 = sum_k v_k (u_k - u_bar)^2,
        mcse^2 = sum_k v_k^2 (u_k - u_bar)^2      (the ratio estimator's delta method).
    """
    v = v[:, None] if v.ndim == 1 else v
    mean = (v * U).sum(axis=0)
    dev2 = (U - mean) ** 2
    return mean, np.sqrt((v * dev2).sum(axis=0)), np.sqrt((v * v * dev2).sum(axis=0))


def _importance_effects(src):
    U, v = src.importance()
    mean, sd, mcse = importance_moments(U, np.asarray(v))
    cols = [np.flatnonzero(src.z_component == t) for t in range(len(src.model.levels))]
    return ([mean[c][:, None] for c in cols], [(sd[c] ** 2)[:, None, None] for c in cols],
            [mcse[c][:, None] for c in cols])


def effects(src, kind):
    """([u~_l (G_l, d)], [Var (G_l, d, d)], [MC error (G_l, d)] or None) per level."""
    if src.model is None:
        raise ValueError(bad_value("the fit", "a glmm fit whose random formulas are grouping "
                                   "factors (one nonzero per row and component)", "another Z"))
    if src.importance is not None and kind == "mean":
        return _importance_effects(src)
    if kind == "mode" or src.intmethod in LAPLACE_METHODS:
        return (*posterior_modes(src.model, src.theta), None)
    return (*posterior_means(src.model, src.theta, src.intmethod, src.k), None)


def _random_effects_frame(src, kind, se):
    """DataFrame indexed by (level, group): one column per random term, then se(term)."""
    means, covs, mcse = effects(src, kind)
    parts = []
    for l, (lev, labels, u, V) in enumerate(zip(src.model.levels, src.labels, means, covs)):
        frame = pd.DataFrame(u, columns=list(lev.z_names))
        if se:
            sd = np.sqrt(np.maximum(np.diagonal(V, axis1=1, axis2=2), 0.0))
            frame = frame.join(pd.DataFrame(sd, columns=[f"se({z})" for z in lev.z_names]))
        if mcse is not None:
            frame = frame.join(pd.DataFrame(mcse[l], columns=[f"mcse({z})" for z in lev.z_names]))
        frame.index = pd.MultiIndex.from_arrays([[lev.name] * lev.n_groups,
                                                 label_strings(labels)], names=["level", "group"])
        parts.append(frame)
    out = pd.concat(parts)
    order = list(dict.fromkeys(c for p in parts for c in p.columns if "(" not in c))
    extra = ([f"se({c})" for c in order] if se else []) + (
        [f"mcse({c})" for c in order] if mcse is not None else [])
    return out[order + extra]


def _fixed_eta(src, X, offset):
    beta = unpack(src.model, src.theta)[0]
    return X @ beta + offset


def _random_part(src, codes, Zs, kind, integrate):
    """(sum of z'u~ over the levels with a known group, variance s^2 of the integrated rest)."""
    means = effects(src, kind)[0] if kind is not None else None
    covs = sigmas(src.model, unpack(src.model, src.theta)[2])
    known = np.zeros(len(codes[0]))
    spread = np.zeros(len(codes[0]))
    for l, (code, Z) in enumerate(zip(codes, Zs)):
        seen = (code >= 0) & (kind is not None)
        if means is not None:
            known += np.where(seen, np.einsum("nd,nd->n", Z, means[l][np.maximum(code, 0)]), 0.0)
        if integrate:
            s2 = np.einsum("nd,de,ne->n", Z, covs[l][0], Z)
            spread += np.where(seen, 0.0, s2)
    return known, spread


def _marginal_mean(response, eta, s2, ntrials):
    """(E[mu], E[d mu/d eta]) with eta + s Z, Z ~ N(0, 1), by Gauss-Hermite quadrature."""
    x, w = gh_rule(MARGINAL_POINTS)
    e = eta[:, None] + np.sqrt(s2)[:, None] * x[None, :]
    n = np.asarray(ntrials)[:, None]
    return response.mean(e, n) @ w, response.dmu_deta(e, n) @ w


def _in_sample(src):
    """The fit's own rows as new-design arrays (codes, Z per level)."""
    m = src.model
    return (m.X, m.offset, m.ntrials, [lev.index for lev in m.levels],
            [lev.Z for lev in m.levels], np.ones(len(m.y), dtype=bool))


def predict(src, data=None, which="mu", conditional=True, new_groups="zero", se=False,
            kind="mean"):
    """Predictions (Series, or DataFrame with ``se``), NaN on rows missing a covariate."""
    _check_choice("which", which, WHICH)
    _check_choice("new_groups", new_groups, ("zero", "marginal"))
    _check_choice("kind", kind, ("mean", "mode"))
    if not isinstance(conditional, (bool, np.bool_)) or not isinstance(se, (bool, np.bool_)):
        raise ValueError(bad_value("conditional and se", "True or False", (conditional, se)))
    response = response_of(src.model.family)
    if which in ("mu", "fixed") and not response.has_mean:
        raise ValueError(bad_value("which", "'eta' for an ordinal model (its mean is a set of "
                                   "category probabilities)", which))
    if data is None:
        X, offset, ntrials, codes, Zs, complete = _in_sample(src)
        index = pd.RangeIndex(len(X))
    else:
        if src.recipe is None:
            raise ValueError(bad_value("data", "None for this fit (its random formulas are not "
                                       "grouping factors that new data could name)", "new data"))
        design = src.recipe.build(data)
        X, offset, ntrials, codes, Zs, complete = (design.X, design.offset, design.ntrials,
                                                   design.codes, design.Z, design.complete)
        index = data.index
        n_missing = int((~complete).sum())
        if n_missing:
            warnings.warn(f"{n_missing} of {len(X)} rows of data lack a covariate (or group); "
                          "their predictions are NaN.", MissingCovariatesWarning, stacklevel=3)
    if which == "density" and data is not None:
        raise ValueError(bad_value("which", "'mu', 'eta' or 'fixed' with new data (the density "
                                   "is of the fitted responses)", which))
    Xc = np.where(complete[:, None], X, 0.0)
    eta0 = _fixed_eta(src, Xc, np.where(complete, offset, 0.0))
    use = None if which == "fixed" or not conditional else kind
    integrate = which == "mu" and (new_groups == "marginal" or not conditional)
    known, s2 = _random_part(src, [np.where(complete, c, -1) for c in codes],
                             [np.where(complete[:, None], Z, 0.0) for Z in Zs], use, integrate)
    eta = eta0 + known
    if which == "eta":
        value, slope = eta, np.ones_like(eta)
    elif which == "density":
        value, slope = _density(src, eta), None
    elif integrate:
        value, slope = _marginal_mean(response, eta, s2, ntrials)
    else:
        value, slope = response.mean(eta, ntrials), response.dmu_deta(eta, ntrials)
    value = np.where(complete, value, np.nan)
    out = pd.Series(value, index=index, name=which)
    out.attrs["n_missing"] = int((~complete).sum())
    if not se:
        return out
    if slope is None:
        raise ValueError(bad_value("se", "False with which='density'", se))
    se_xb = np.sqrt(np.einsum("np,pq,nq->n", Xc, src.cov_beta, Xc))
    return pd.DataFrame({which: out, "se": np.where(complete, np.abs(slope) * se_xb, np.nan)},
                        index=index)


def _density(src, eta):
    """f(y_i | u~) of the fitted responses at eta."""
    m = src.model
    aux = unpack(m, src.theta)[1]
    der = m.family.derivs(m.y, m.ntrials, eta, aux, full=False)
    return np.exp(der.ll + m.family.constant(m.y, m.ntrials))


def residuals(src, kind="response", effects_kind="mean"):
    """Stata's meglm residuals at mu_i conditional on the predicted random effects (n,)."""
    _check_choice("kind", kind, RESIDUALS)
    response = response_of(src.model.family)
    if not response.has_mean:
        raise ValueError(bad_value("kind", "residuals of a model with a mean (not ordinal)", kind))
    m = src.model
    mu = predict(src, which="mu", kind=effects_kind).to_numpy()
    aux = unpack(m, src.theta)[1]
    y, n = m.y, m.ntrials
    if kind == "response":
        r = y - mu
    elif kind == "pearson":
        r = (y - mu) / np.sqrt(response.variance(mu, n, aux))
    elif kind == "deviance":
        r = np.sign(y - mu) * np.sqrt(np.maximum(response.deviance(y, mu, n, aux), 0.0))
    else:
        r = response.anscombe(y, mu, n, aux)
    return pd.Series(r, name=kind)


def simulate(src, n_sims=1, seed=None):
    """(n, n_sims) responses drawn from the fitted model with new random effects.

    u_l,g = chol(Sigma_l) z (z standard normal), eta = X beta + offset + Z u, y ~ f(y | eta);
    every number from ``numpy.random.default_rng(seed)`` in a fixed order.
    """
    if isinstance(n_sims, bool) or not isinstance(n_sims, (int, np.integer)) or n_sims < 1:
        raise ValueError(bad_value("n_sims", "a positive integer", n_sims))
    rng = np.random.default_rng(seed)
    m = src.model
    beta, aux, psis = unpack(m, src.theta)
    eta = np.repeat((m.X @ beta + m.offset)[:, None], n_sims, axis=1)
    for lev, (S, _) in zip(m.levels, sigmas(m, psis)):
        L = np.linalg.cholesky(S)
        u = rng.standard_normal((n_sims, lev.n_groups, lev.d)) @ L.T
        eta += np.einsum("nd,snd->ns", lev.Z, u[:, lev.index, :])
    y = response_of(m.family).sample(rng, eta, m.ntrials[:, None], aux)
    if src.categories:
        y = np.asarray(src.categories, dtype=object)[y.astype(int)]
    return y


def _source(fit):
    src = getattr(fit, "post", None)
    if src is None:
        why = (" (an unpickled fit: the model's arrays are not pickled; refit)"
               if isinstance(fit, Postestimation) else "")
        raise ValueError(bad_value("the fit", "a result of glmm, meglm, lr2 or lr3 (it carries "
                                   "the model's data)", type(fit).__name__ + why))
    return src


class Postestimation:
    """Methods every front's result shares (module docstring); the data come from ``post``.

    ``post`` (a field of each result, set when the front builds it) holds the model's arrays
    and functions (family rows, patsy design infos) and is left out when the result is
    pickled: an unpickled fit keeps its estimates and tables."""

    def __getstate__(self):
        state = dict(self.__dict__)
        state["post"] = None
        return state

    def random_effects(self, kind="mean", se=True):
        """Predicted random effects: a DataFrame indexed by (level, group), one column per
        random term and, with ``se``, their conditional standard errors se(term).

        kind="mean": posterior means by the fit's quadrature (Stata's ebmeans, reses);
        "mode": posterior modes and the curvature's standard errors (ebmodes).  After a
        Laplace fit both are the modes (one quadrature node at the mode)."""
        _check_choice("kind", kind, ("mean", "mode"))
        return _random_effects_frame(_source(self), kind, se)

    def predict(self, data=None, which="mu", conditional=True, new_groups="zero", se=False,
                kind="mean"):
        """Predictions on the fitted rows (data=None) or on new data.

        which: "mu" (mean of y), "eta" (linear predictor), "fixed" (mu of the fixed part:
        Stata's fixedonly) or "density" (f(y | u~) of the fitted rows); conditional: on
        the predicted random effects (``kind`` "mean" or "mode"), else the marginal mean;
        new_groups: a group unseen in the fit gets u = 0 ("zero") or is integrated out
        ("marginal"); se: delta-method standard errors of the fixed part (a DataFrame).
        Rows of new data missing a covariate or group variable are NaN (counted in a
        warning and in ``.attrs["n_missing"]``)."""
        return predict(_source(self), data, which, conditional, new_groups, se, kind)

    def residuals(self, kind="response", effects="mean"):
        """Residuals (Series, one per fitted row) at mu conditional on the predicted random
        effects (``effects``: "mean" or "mode"): "response" y - mu, "pearson"
        (y - mu)/sqrt(V(mu)), "deviance" sign(y - mu) sqrt(d), "anscombe" (Stata's meglm)."""
        _check_choice("effects", effects, ("mean", "mode"))
        return residuals(_source(self), kind, effects)

    def simulate(self, n_sims=1, seed=None):
        """Responses (n, n_sims) drawn from the fitted model with new random effects; the same
        seed gives the same draws, bit for bit."""
        return simulate(_source(self), n_sims, seed)

    def estat_group(self):
        """Groups and observations per group (min, avg, max) at each level (Stata's estat group)."""
        table = group_table(_source(self).model.levels)
        return table.set_index("group")

    def plot_random_effects(self, kind="mean", level=95, ax=None):
        """Caterpillar plot of the predicted random effects with ``level``% intervals; the Axes
        (an array of them when there are several random terms)."""
        from .plots import caterpillar
        return caterpillar(self.random_effects(kind=kind, se=True), level, ax)

    def plot_mcla(self, ax=None):
        """An MCLA fit's importance weights at the MCMLE (histogram per block, with the
        effective sample size) and, for a fit with ``debug=True``, the trust path (the log
        likelihood at the start of each trust iteration); the Axes."""
        from .plots import mcla_plot
        src = _source(self)
        if src.importance is None:
            raise ValueError(bad_value("the fit", "an MCLA fit (glmm)", src.front))
        U, v = src.importance()
        v = np.asarray(v)
        if v.ndim == 2:                                  # one column per effect: per block
            v = np.unique(v, axis=1)
        debug = getattr(self, "debug", None)
        steps = debug.get("trust_path") if isinstance(debug, dict) else None
        path = None if steps is None else np.array([step.value for step in steps])
        return mcla_plot(v, path, ax)

    def plot_residuals(self, kind="pearson", ax=None):
        """Residuals against the fitted means; the Axes."""
        from .plots import residual_plot
        fitted = self.predict(which="mu")
        return residual_plot(fitted, self.residuals(kind), kind, ax)
