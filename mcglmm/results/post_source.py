"""What postestimation reads from a fit, the same for every front.

A ``Source`` holds the model's arrays as the quadrature engine sees them (``MEModel``:
y, trials, offset, X, the grouping levels with their Z), the estimate theta on that
engine's scale, how the random effects were integrated (intmethod, points), the
covariance of the fixed effects, the log likelihood and parameter count, and a
``Recipe`` that rebuilds X, the offset, the trials and each level's group codes and Z
on new data with the fit's codings (patsy design infos from the fitted frame).

``attach(result, source)`` stores the source on a result object (the result classes
are read-only; the fronts call this once, after building the result).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import patsy

from ..design.evaluate import dmatrix
from ..design.missing import complete_rows
from ..exceptions import FormulaError, bad_value


@dataclass(frozen=True)
class NewDesign:
    """Arrays for new rows: X (n, p), offset, ntrials (n,), codes [(n,) group or -1],
    Z [(n, d)] per level, complete (n,) rows with every covariate present."""

    X: np.ndarray
    offset: np.ndarray
    ntrials: np.ndarray
    codes: list
    Z: list
    complete: np.ndarray


def _build(info, data, rows):
    """Matrix of a patsy design info on data, NaN on the rows with a missing value."""
    out = np.full((len(data), len(info.column_names)), np.nan)
    M = patsy.build_design_matrices([info], data, NA_action="drop", return_type="dataframe")[0]
    out[rows.get_indexer(M.index)] = M.to_numpy(dtype=float)
    return out


def _cbind_trials(lhs, data):
    """Row sums of the cbind(...) response on new data; 1 (a mean per trial) without it."""
    try:
        Y = dmatrix(f"0 + {lhs}", data)
    except FormulaError:
        return np.ones(len(data))
    return np.asarray(Y, dtype=float).sum(axis=1)


def _column(spec, data, name, default):
    """A column named by spec, a number, or the default; vectors cannot follow new data."""
    if spec is None:
        return np.full(len(data), default)
    if isinstance(spec, str):
        if spec not in data.columns:
            raise ValueError(bad_value("data", f"a DataFrame with the column {spec!r} ({name})",
                                       list(data.columns)))
        return data[spec].to_numpy(dtype=float)
    if not isinstance(spec, tuple) and np.ndim(spec) == 0:
        return np.full(len(data), float(spec))
    raise ValueError(bad_value(name, "a column name (not a vector) to predict on new data",
                               "a vector"))


@dataclass(frozen=True)
class Recipe:
    """How to rebuild the design on new data.

    x_info: patsy DesignInfo of X; z_infos: per level, the design infos of its terms;
    factors: per level, its grouping columns; labels: per level, the fitted groups
    (Index or MultiIndex in code order); offset, exposure, trials: the fit's specs.
    """

    x_info: object
    z_infos: tuple
    factors: tuple
    labels: tuple
    offset: object = None
    exposure: object = None
    trials: object = 1.0
    as_text: bool = False          # group labels are the text of the values (glmm's Z names)

    def build(self, data):
        if not isinstance(data, pd.DataFrame):
            raise TypeError(bad_value("data", "a pandas DataFrame or None", type(data).__name__))
        data = data.reset_index(drop=True)
        rows = data.index
        X = _build(self.x_info, data, rows)
        offset = _column(self.offset, data, "offset", 0.0)
        if self.exposure is not None:
            offset = offset + np.log(_column(self.exposure, data, "exposure", 1.0))
        ntrials = (_cbind_trials(self.trials[1], data) if isinstance(self.trials, tuple)
                   else _column(self.trials, data, "trials", 1.0))
        codes, Zs = [], []
        complete = ~np.isnan(X).any(axis=1) & ~np.isnan(offset)
        for infos, factors, labels in zip(self.z_infos, self.factors, self.labels):
            absent = [f for f in factors if f not in data.columns]
            if absent:
                raise ValueError(bad_value("data", f"a DataFrame with the grouping column "
                                           f"{absent[0]!r}", list(data.columns)))
            Z = np.hstack([_build(info, data, rows) for info in infos])
            keys = data[list(factors)]
            keys = keys.astype(str).where(keys.notna()) if self.as_text else keys
            code = (labels.get_indexer(pd.MultiIndex.from_frame(keys)) if len(factors) > 1
                    else labels.get_indexer(keys.iloc[:, 0]))
            complete &= ~np.isnan(Z).any(axis=1) & keys.notna().all(axis=1).to_numpy()
            codes.append(np.where(keys.notna().all(axis=1).to_numpy(), code, -1))
            Zs.append(Z)
        return NewDesign(X, offset, ntrials, codes, Zs, complete)


def group_labels(frame, factors):
    """The groups of ``factors`` in the fit's code order (sorted, as ``design.levels``)."""
    sizes = frame.groupby(list(factors), sort=True, observed=True).size()
    return sizes.index


def label_strings(labels):
    """Printable group labels: the value, or the values joined by '>' for nested factors."""
    if isinstance(labels, pd.MultiIndex):
        return [">".join(str(v) for v in key) for key in labels]
    return list(labels)


@dataclass(frozen=True)
class Source:
    """Everything postestimation needs from a fit (module docstring).

    model: ``model.spec.MEModel``; theta (dim,); intmethod, k: the fit's integration;
    cov_beta (p, p); x_names (p,); llf; n_params: free parameters; nobs;
    kinds: per parameter "b", "aux" or "var"/"cov" (variance parameters); front: a name;
    categories: ordinal response values; mc_error: the log likelihood's Monte Carlo
    standard error (None for deterministic fits); depvar: the response's name.
    """

    model: object
    theta: np.ndarray
    intmethod: str
    k: int
    cov_beta: np.ndarray
    x_names: tuple
    llf: float
    n_params: int
    nobs: int
    kinds: tuple
    recipe: Recipe
    front: str
    depvar: str = "y"
    categories: tuple = ()
    mc_error: float | None = None
    labels: tuple = ()             # per level, the fitted groups in code order
    importance: object = None      # glmm: () -> (U (m, q), v (m,) or (m, q)) at the MCMLE
    z_component: np.ndarray | None = None   # glmm: (q,) variance component of each column


def attach(result, source):
    """A copy of the frozen ``result`` whose ``post`` field is ``source`` (nothing mutated)."""
    return replace(result, post=source)


def z_infos_for(terms, frame, levels):
    """Per level, the patsy design infos of its random terms (in the level's column order)."""
    out = []
    for lev in levels:
        exprs = [t.expr for t in terms if t.group == lev.factors]
        out.append(tuple(dmatrix(e, frame).design_info for e in exprs))
    return tuple(out)


def _x_info(fixed, frame, drop_constant):
    """Design info of the fixed part on the fitted frame (as ``design.levels.me_arrays``)."""
    rhs = fixed.split("~", 1)[1].strip() + (" - 1" if drop_constant else "")
    return dmatrix(rhs, frame).design_info


def _psi_kinds(res, model):
    """Per covariance parameter: "var" for the first (as many as the level reports
    variances), "cov" for the rest (correlations, off-diagonal factors)."""
    kinds = []
    for lev, n_psi in zip(model.levels, model.n_psi):
        n_var = sum(1 for r in res.rows if r.eq == lev.name and r.kind == "var")
        kinds += ["var"] * min(n_var, n_psi) + ["cov"] * (n_psi - min(n_var, n_psi))
    return kinds


def meglm_source(res, model, arr, formula, noconstant, offset, exposure, trials):
    """The ``Source`` of a meglm fit (``api.meglm``), built once after the fit."""
    from ..formula import split_formula
    fixed, terms = split_formula(formula)
    ordinal = bool(arr.categories)
    lhs = fixed.split("~", 1)[0].strip()
    recipe = Recipe(
        x_info=_x_info(fixed, arr.frame, noconstant or ordinal),
        z_infos=z_infos_for(terms, arr.frame, model.levels),
        factors=tuple(lev.factors for lev in model.levels),
        labels=tuple(group_labels(arr.frame, lev.factors) for lev in model.levels),
        offset=offset if isinstance(offset, str) or offset is None else ("vector",),
        exposure=exposure if isinstance(exposure, str) or exposure is None else ("vector",),
        trials=("cbind", lhs) if lhs.startswith("cbind(") else (1.0 if trials is None else trials))
    b_labels = [f"{arr.y_name}:{name}" for name in arr.x_names]
    V = res.V.loc[b_labels, b_labels].to_numpy()
    kinds = ["b"] * model.p + ["aux"] * model.n_aux + _psi_kinds(res, model)
    return Source(model=model, theta=np.asarray(res.theta, dtype=float),
                  intmethod=res.intmethod, k=res.n_quad, cov_beta=V, x_names=tuple(arr.x_names),
                  llf=float(res.llf), n_params=int(res.df_model), nobs=int(res.nobs),
                  kinds=tuple(kinds),
                  recipe=recipe, front="meglm", depvar=arr.y_name, categories=arr.categories,
                  labels=recipe.labels)


def lr_source(res, lr_frame):
    """The ``Source`` of an lr2/lr3 fit: its quadrature model (``lr_frame.model``, meglm's
    random-intercept logit) with ghermite and ``quad_pts`` points, at the engine's theta
    (psi from the top level, ``LRFrame.order``)."""
    model, rows = lr_frame.model, lr_frame.rows
    p = model.p
    recipe = Recipe(x_info=_x_info(res.formula, rows, False),
                    z_infos=tuple((dmatrix("1", rows).design_info,) for _ in model.levels),
                    factors=tuple(lev.factors for lev in model.levels),
                    labels=tuple(group_labels(rows, lev.factors) for lev in model.levels))
    return Source(model=model, theta=np.asarray(res.theta, dtype=float)[lr_frame.order],
                  intmethod="ghermite", k=res.quad_pts, cov_beta=np.asarray(res.cov)[:p, :p],
                  x_names=tuple(res.x_names), llf=float(res.llf), n_params=int(res.df_model),
                  nobs=int(res.nobs), kinds=("b",) * p + ("var",) * len(model.levels),
                  recipe=recipe, front="lr", depvar=res.formula.split("~", 1)[0].strip(),
                  labels=recipe.labels)


def _component_level(design, t, name):
    """A variance component as a level of one effect per column, or None when some row has
    more than one nonzero among its columns (not a grouping factor)."""
    from ..design.levels import Level
    cols = np.flatnonzero(design.vc_index == t)
    Zt = design.Z[:, cols].tocsr()
    Zt.eliminate_zeros()
    counts = np.diff(Zt.indptr)
    if counts.max(initial=0) > 1:
        return None, None
    index, value = np.zeros(design.n, dtype=np.int64), np.zeros(design.n)
    has = counts == 1
    index[has], value[has] = Zt.indices, Zt.data
    names = [design.z_names[c] for c in cols]
    factor = names[0].split("[", 1)[0]
    if all(n.startswith(factor + "[") and n.endswith("]") for n in names):
        labels = pd.Index([n[len(factor) + 1:-1] for n in names], name=factor)
    else:
        factor, labels = None, pd.Index(names)
    return Level(name, (factor,), index, len(cols), None, value[:, None], ("_cons",)), labels


def glmm_source(res, design, fixed, frame, importance):
    """The ``Source`` of a glmm fit: each variance component a level of scalar effects;
    ``importance()`` gives (U (m, q), v) with v the self-normalised weights at the MCMLE,
    (m,) or (m, q) (one weight vector per random effect's block).  The Monte Carlo error of
    the log likelihood log((1/m) sum_k exp(b_k)) is sqrt(1/ESS - 1/m) (delta method),
    summed in variance over the blocks."""
    from ..model import covariance as quad_cov
    from ..model.spec import MEModel
    made = [_component_level(design, t, name) for t, name in enumerate(design.varcomps_names)]
    p = design.p
    nu = np.asarray(res.nu, dtype=float)
    psi = np.maximum(0.5 * np.log(np.maximum(nu, 1e-300)), quad_cov.LOG_SD_MIN)
    model = None
    if all(level is not None for level, _ in made):
        levels = tuple(level for level, _ in made)
        from ..design.levels import joint_z
        family = res.family_glmm
        model = MEModel(design.y, design.ntrials, np.zeros(design.n), design.X, family, levels,
                        tuple(quad_cov.Independent(1) for _ in levels), 0, len(levels) == 1,
                        joint_z(levels), family.data_constant(design.y, design.ntrials))
    recipe = None
    if model is not None and all(lev.factors[0] is not None for lev in model.levels):
        rhs = fixed.split("~", 1)[1]
        rows = frame.loc[complete_rows(frame, [fixed])]
        recipe = Recipe(x_info=dmatrix(rhs, rows).design_info,
                        z_infos=tuple((dmatrix("1", rows).design_info,)
                                      for _ in model.levels),
                        factors=tuple(lev.factors for lev in model.levels),
                        labels=tuple(lab for _, lab in made), as_text=True)
    ess = np.atleast_1d(np.asarray(res.ess, dtype=float))     # one per block of effects
    return Source(model=model, theta=np.concatenate([np.asarray(res.beta, dtype=float), psi]),
                  intmethod="importance", k=0, cov_beta=np.asarray(res.covariance)[:p, :p],
                  x_names=tuple(res.beta.index), llf=float(res.llf),
                  n_params=int(res.df_model), nobs=int(res.nobs),
                  kinds=("b",) * p + ("var",) * len(nu),
                  recipe=recipe, front="glmm", depvar=fixed.split("~", 1)[0].strip(),
                  mc_error=float(np.sqrt(np.maximum(1.0 / ess - 1.0 / res.m, 0.0).sum())),
                  labels=tuple(lab for _, lab in made), importance=importance,
                  z_component=np.asarray(design.vc_index))
