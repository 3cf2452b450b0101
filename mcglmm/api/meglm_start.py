"""Start values of meglm(): Stata's startvalues(), startgrid() and from().

theta = [beta, aux, psi_1..psi_L] (``model.params``).  The fixed part comes
from the fixed-effects fit (fixedonly), the constant-only model (constantonly) or
zeros; the random effects start at standard deviation 0.5 (times the residual sd
for the Gaussian family), or, with ``iv``, at moment estimates from the fixed fit's
working residuals e_i = d1_i / (-d2_i) (the generalized residuals on the scale of
eta): for level l with covariates z_i (d,), pairs i != j in one group have
E[e_i e_j] = z_i' Sigma_l z_j (plus the ancestors' variances), so with
A_g = sum_{i in g} z_i e_i and Sigma_l = diag(s)

    sum_g A_ga^2 - sum_i z_ia^2 e_i^2 = sum_k s_k M_ak,
    M_ak = sum_g (sum_{i in g} z_ia z_ik)^2 - sum_i z_ia^2 z_ik^2,

solved for s by least squares; a level's estimate less its ancestors' estimates for the
same covariate, floored at 1e-3 mean(e^2).  (Stata's "instrumental-variable methods with
generalized residuals" are not documented in detail; this is a moment estimator in
their spirit.)  ``startgrid`` then tries every combination of the grid values for the
chosen variances and keeps the best log likelihood; a dict may name the residual
variance of a Gaussian model as Stata's ``e.depvar`` (e.g. "e.weight").

``start_method`` reads Stata's ``startvalues(svmethod, iterate(#))``: the fixed-effects
fit that gives fixedonly's and iv's start values is then limited to # iterations.
"""
from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd

from ..model.params import grid_names, pack, reported, sigmas, unpack
from ..model.spec import linear_predictor
from ..engines.quadrature.nested import indicator
from ..exceptions import bad_value

GRID = (0.5, 0.2, 1.0, 2.0)   # standard deviations of the random effects tried, in order
DEFAULT_GRID = (0.1, 1.0, 10.0)   # Stata's startgrid values (variances)


def fixed_start(model, x_names):
    """Constant-only start: intercept at the link of the mean, cut points at the cumulative
    proportions, log sd of y; other coefficients 0 (the MLE of the constant-only model
    for the canonical links without offset)."""
    family = model.family
    beta = np.zeros(model.p)
    if "_cons" in x_names and not family.aux.ordinal:
        mean = float(np.mean(model.y / np.maximum(model.ntrials, 1.0)))
        beta[x_names.index("_cons")] = family.link.start_eta(mean)
    return np.concatenate([beta, family.aux.start(model.y, model.n_aux)])


def psi_start(model, scale):
    """psi for every level with standard deviations ``scale``."""
    return [cov.from_sigma(scale ** 2 * np.eye(lev.d))
            for cov, lev in zip(model.covariances, model.levels)]


def iv_psi(model, theta_fixed):
    """psi per level from the moment estimates of the module docstring at the fixed fit."""
    beta, aux = theta_fixed[:model.p], theta_fixed[model.p:]
    der = model.family.derivs(model.y, model.ntrials, linear_predictor(model, beta), aux)
    e = der.d1 / np.maximum(-der.d2, 1e-8)
    floor = 1e-3 * float(np.mean(e * e))
    done, out = {}, []
    for cov, lev in zip(model.covariances, model.levels):
        Z, A = lev.Z, indicator(lev.index, lev.n_groups)
        ZZ = Z[:, :, None] * Z[:, None, :]
        B = (A @ ZZ.reshape(len(Z), -1)).reshape(-1, lev.d, lev.d)
        M = (B ** 2).sum(axis=0) - (ZZ ** 2).sum(axis=0)
        q = ((A @ (Z * e[:, None])) ** 2).sum(axis=0) - ((Z * e[:, None]) ** 2).sum(axis=0)
        s = np.linalg.lstsq(M, q, rcond=None)[0]
        s = np.array([s[a] - done.get(name, 0.0) for a, name in enumerate(lev.z_names)])
        s = np.maximum(s, floor)
        for name, v in zip(lev.z_names, s):
            done[name] = done.get(name, 0.0) + v
        out.append(cov.from_sigma(np.diag(s)))
    return out


def start_method(startvalues):
    """(svmethod, iterations or None) from startvalues: a method name, Stata's string
    "fixedonly, iterate(5)" / "iterate(5)", or a tuple ("fixedonly", 5).

    iterate(#) is allowed with fixedonly and iv only (as Stata) and must be a positive
    integer; anything else is refused (ValueError naming startvalues)."""
    allowed = ("'fixedonly', 'constantonly', 'zero' or 'iv', optionally with an iteration "
               "limit as ('fixedonly', 5) or 'fixedonly, iterate(5)' (fixedonly and iv only)")
    if isinstance(startvalues, str):
        m = re.fullmatch(r"\s*(\w*)\s*,?\s*iterate\(\s*([^)]*?)\s*\)\s*", startvalues)
        if m is None:
            return startvalues, None          # a method name alone: checked with the options
        if not re.fullmatch(r"\+?\d+", m.group(2)):
            raise ValueError(bad_value("startvalues", allowed, startvalues))
        startvalues = (m.group(1) or "fixedonly", int(m.group(2)))
    if not isinstance(startvalues, tuple):
        return startvalues, None          # not a method with a limit: checked with the options
    if len(startvalues) != 2 or not isinstance(startvalues[0], str):
        raise ValueError(bad_value("startvalues", allowed, startvalues))
    method, count = startvalues
    if method not in ("fixedonly", "iv") or isinstance(count, bool) \
            or not isinstance(count, (int, np.integer)) or count <= 0:
        raise ValueError(bad_value("startvalues", allowed, startvalues))
    return method, int(count)


RESIDUAL = -1   # the level of a grid target that is the residual variance (e.depvar)


def _residual_target(model, key, y_name):
    """The grid target key naming the residual variance e.<y_name>, or None."""
    if y_name is None or key != f"e.{y_name}":
        return None
    aux = np.zeros(model.n_aux)
    if model.family.aux.with_residual_variance(aux, 1.0) is None:
        raise ValueError(bad_value("startgrid", "e.depvar only for a family with a residual "
                                   "variance (gaussian)", key))
    return RESIDUAL, 0, 0


def _grid_targets(model, startgrid, y_name=None):
    """[(level, a, b, values)] of the entries of Sigma (or, level RESIDUAL, the residual
    variance) to search, variances first."""
    every = [(l, a, a) for l, cov in enumerate(model.covariances)
             for a, b in cov.reported_pairs() if a == b]
    if startgrid is True:
        return [t + (DEFAULT_GRID,) for t in every]
    if isinstance(startgrid, (list, tuple)) and startgrid and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in startgrid):
        return [t + (tuple(float(v) for v in startgrid),) for t in every]
    if not isinstance(startgrid, dict) or not startgrid:
        raise ValueError(bad_value("startgrid", "True, a list of positive variances or a dict "
                                   "{term: values or None}", startgrid))
    names = grid_names(model)
    out = []
    for term, values in startgrid.items():
        key = re.sub(r"\s+", "", str(term))
        target = _residual_target(model, key, y_name) or names.get(key)
        if target is None:
            extra = [f"e.{y_name}"] if y_name is not None and \
                model.family.aux.with_residual_variance(np.zeros(model.n_aux), 1.0) is not None \
                else []
            raise ValueError(bad_value("startgrid", f"terms among {sorted(names) + extra}", term))
        vals = DEFAULT_GRID if values is None else tuple(float(v) for v in values)
        l, a, b = target
        if not vals or (a == b and min(vals) <= 0):
            raise ValueError(bad_value("startgrid", "positive variances", values))
        out.append((l, a, b, vals))
    return sorted(out, key=lambda t: t[1] != t[2])


def _with_values(model, theta, targets, combo):
    """theta with the target entries of Sigma set to ``combo`` (a variance keeps its
    correlations), or None if a covariance makes Sigma not positive definite."""
    beta, aux, psis = unpack(model, theta)
    covs = [S.copy() for S, _ in sigmas(model, psis)]
    for (l, a, b, _), v in zip(targets, combo):
        if l == RESIDUAL:
            aux = model.family.aux.with_residual_variance(aux, v)
            continue
        S, tied = covs[l], model.covariances[l].tied(a, b)
        if a != b:
            covs[l] = np.where(tied, v, S)
            continue
        scale = np.ones(len(S))
        for j in np.flatnonzero(np.diag(tied)):
            scale[j] = np.sqrt(v / S[j, j])
        covs[l] = S * np.outer(scale, scale)
    if any(np.linalg.eigvalsh(S).min() <= 0 for S in covs):
        return None
    return pack(beta, aux, [cov.from_sigma(S) for cov, S in zip(model.covariances, covs)])


def grid_search(model, theta, startgrid, value, log=False, y_name=None):
    """The best of every combination of grid values (Stata's startgrid); ``y_name`` names
    the response, for the residual-variance term "e.<y_name>"."""
    targets = _grid_targets(model, startgrid, y_name)
    best, best_val = theta, value(theta)
    for node, combo in enumerate(itertools.product(*[t[3] for t in targets])):
        cand = _with_values(model, theta, targets, combo)
        val = -np.inf if cand is None else value(cand)
        if log:
            print(f"Grid node {node + 1}: Log likelihood = {val:.8g}")
        if np.isfinite(val) and not val <= best_val:
            best, best_val = cand, val
    return best


def start_theta(model, fixed_fit, x_names, startvalues, theta_from, refresh_value, log):
    """Start values: Stata's fixedonly/constantonly/zero/iv or from_ (``theta_from``, from
    ``from_vector``: theta from the default start), which must give a finite log likelihood.

    The random effects start with standard deviation 0.5 (times the residual sd for
    the Gaussian family) or at the iv moment estimates; further grid nodes are tried
    only while the log likelihood is not finite, as Stata's default grid search.
    """
    def default():
        return _default_start(model, fixed_fit, x_names, startvalues, refresh_value, log)
    if theta_from is None:
        return default()
    theta = theta_from(default)
    value = refresh_value(theta)
    if not np.isfinite(value):
        raise ValueError(bad_value("from_", "start values at which the log likelihood is "
                                   "finite", f"log likelihood {value}"))
    return theta


def _default_start(model, fixed_fit, x_names, startvalues, refresh_value, log):
    """``start_theta`` without from_."""
    if startvalues == "zero":
        base = np.zeros(model.p + model.n_aux)
        base[model.p:] = fixed_start(model, x_names)[model.p:]
    elif startvalues == "constantonly":
        base = fixed_start(model, x_names)
    else:
        base = fixed_fit.theta.copy()
    scale = model.family.aux.sd_scale(base[model.p:])
    if log:
        print("Refining starting values:")
    first = iv_psi(model, fixed_fit.theta) if startvalues == "iv" else None
    theta = None
    for node, factor in enumerate(GRID):
        psis = first if node == 0 and first is not None else psi_start(model, factor * scale)
        theta = np.concatenate([base] + psis)
        val = refresh_value(theta)
        if log:
            print(f"Grid node {node}: Log likelihood = {val:.8g}")
        if np.isfinite(val):
            break
    return theta


def eb_targets(model, x_names, y_name):
    """{name: target} of every parameter from_ may name on Stata's scale: e(b)'s names as
    ``res.b`` writes them ("weight:week", "id:var(_cons)", "var(e.weight)", "/:/cut1") and
    as Stata's e(b) does ("/:var(_cons[id])", "/:cov(_cons[id],week[id])", "/:cut1");
    targets ("b", j), ("aux", j) or ("sigma", level, a, b)."""
    out = {f"{y_name}:{x}": ("b", j) for j, x in enumerate(x_names)}
    p, theta = model.p, np.zeros(model.dim)
    for row in reported(model, x_names, y_name, theta):
        j = int(np.argmax(np.abs(row.jac)))
        if row.kind != "b" and p <= j < p + model.n_aux:
            label = row.label.lstrip("/")
            for key in (f"{row.eq}:{row.label}" if row.eq else row.label, f"/:{label}"):
                out[key] = ("aux", j - p)
    for l, (cov, lev) in enumerate(zip(model.covariances, model.levels)):
        labels, pairs = cov.reported(lev.z_names)
        groups = {lev.name, lev.name.replace(":", ">")}
        for label, (a, b) in zip(labels, pairs):
            out[f"{lev.name}:{label}"] = ("sigma", l, a, b)
            za, zb = lev.z_names[a], lev.z_names[b]
            for g in groups:
                if a == b:
                    out[f"/:var({za}[{g}])"] = ("sigma", l, a, b)
                else:
                    out[f"/:cov({za}[{g}],{zb}[{g}])"] = ("sigma", l, a, b)
                    out[f"/:cov({zb}[{g}],{za}[{g}])"] = ("sigma", l, a, b)
    return out


def eb_first(eb, target):
    """The first (``res.b``'s) name of ``target`` in ``eb_targets``."""
    return next(k for k, t in eb.items() if t == target)


def _covered(model, targets, internal):
    """Whether the named entries fix every entry of theta (no default start needed)."""
    given = set(internal)
    p = model.p
    given |= {t[1] for t in targets if t[0] == "b"}
    given |= {p + t[1] for t in targets if t[0] == "aux"}
    start = p + model.n_aux
    for l, cov in enumerate(model.covariances):
        pairs = {(t[2], t[3]) for t in targets if t[0] == "sigma" and t[1] == l}
        if pairs >= set(cov.reported_pairs()):
            given |= set(range(start, start + cov.n_params))
        start += cov.n_params
    return given >= set(range(model.dim))


def _named_theta(model, base, items, internal):
    """theta (dim,) from base with the e(b) entries ``items`` [(target, value)] and the
    internal entries ``internal`` {index: value} set (variances before covariances)."""
    theta = np.array(base, dtype=float)
    p, sig = model.p, []
    for target, v in items:
        if target[0] == "b":
            theta[target[1]] = v
        elif target[0] == "aux":
            theta[p + target[1]] = model.family.aux.from_reported(v)
        else:
            sig.append(target[1:] + (None,))
    if sig:
        values = [v for target, v in items if target[0] == "sigma"]
        order = sorted(range(len(sig)), key=lambda k: sig[k][1] != sig[k][2])
        theta = _with_values(model, theta, [sig[k] for k in order], [values[k] for k in order])
        if theta is None:
            raise ValueError(bad_value("from_", "variances and covariances giving positive-"
                                       "definite covariance matrices",
                                       [v for _, v in items]))
    for j, v in internal.items():
        theta[j] = v
    return theta


def from_vector(from_, model, names, x_names, y_name, sc):
    """from_ checked, as a function of the default start: ``f(default)`` -> theta (dim,) on
    the optimiser's scale, ``default()`` the start values there (called only when from_
    leaves some parameter unset); ``sc`` the ``design.scaling.ColumnScaling`` between the
    user's scale and the optimiser's.

    A dict or Series is read by name on Stata's scale (Stata's from(b)): e(b)'s names
    (``eb_targets``: ``res.b`` of an earlier fit restarts there) or theta's internal names
    (``model.params.internal_names``, on the internal scale: log standard deviations,
    Cholesky entries); parameters not named keep their default start.  Any other value is a
    vector (dim,) in theta's internal order and scale."""
    if isinstance(from_, (dict, pd.Series)):
        return _from_named(dict(from_.items()), model, names, x_names, y_name, sc)
    arr = _finite("from_", np.asarray(from_, dtype=float), names)
    if arr.shape != (model.dim,):
        raise ValueError(bad_value("from_", f"a vector of length {model.dim} (theta on the "
                                   "internal scale) or a dict/Series named like e(b)",
                                   f"shape {arr.shape}"))
    return lambda default: sc.to_internal(arr)


def _finite(what, arr, names):
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(bad_value(what, "finite", {names[j] if j < len(names) else j:
                                                    float(arr[j]) for j in np.flatnonzero(bad)}))
    return arr


def _from_named(given, model, names, x_names, y_name, sc):
    """``from_vector`` for a dict {name: value} (see there)."""
    eb, index = eb_targets(model, x_names, y_name), {n: j for j, n in enumerate(names)}
    items, internal = [], {}
    for key, value in given.items():
        name = re.sub(r"\s+", "", str(key))
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(bad_value("from_", "numbers", {key: value})) from None
        if not np.isfinite(v):
            raise ValueError(bad_value("from_", "finite", {key: v}))
        if name in index:
            internal[index[name]] = v
        elif name in eb:
            target = eb[name]
            if target[0] == "sigma" and target[2] == target[3] and not v > 0:
                raise ValueError(bad_value("from_", "positive variances", {key: v}))
            items.append((target, v))
        else:
            primary = [k for k, t in eb.items() if eb_first(eb, t) == k]
            raise ValueError(bad_value("from_", f"named as e(b) ({', '.join(primary)}; or "
                                       f"Stata's /:var(z[g]) form) or by theta's internal "
                                       f"names {list(names)}", key))
    complete = _covered(model, [t for t, _ in items], internal)

    def resolve(default):
        base = np.zeros(model.dim) if complete else sc.to_user(default())
        return sc.to_internal(_named_theta(model, base, items, internal))
    return resolve


__all__ = ["eb_targets", "fixed_start", "grid_search", "iv_psi", "start_method",
           "start_theta", "from_vector"]
