"""Grouping structure of meglm's random-effects terms.

Terms with the same grouping are one *level* (Stata's "|| g:" equation): its
random effects for group g are the vector u_g (d,), entering observation i as
Z_l[i] . u_{g_l(i)}.  Levels are ordered by their number of groups.  The model
is *nested* when every level's groups each lie inside one group of the level
before (checked on the data, so ``(1 | school) + (1 | class)`` with unique class
codes is nested too); otherwise it is *crossed*.

``joint_z`` lays all random effects side by side: level blocks in order, within
a block group-major (column = offset + g * d + j), as a sparse (n, q) matrix.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._checks import response_kind
from ..exceptions import DesignError, FormulaError, bad_value
from .degenerate import check_estimation_sample, drop_collinear, without_perfect_predictors
from .evaluate import dmatrix, formula_variables, response_variables
from .fixed import fixed_layout, fixed_part
from .missing import complete_rows


ALL = "_all"      # Stata's group of all observations (levels spelled _all:R.x)


@dataclass(frozen=True)
class Level:
    """One grouping level.

    name: Stata's label ("school>class"); index: (n,) group of each row;
    n_groups: G; parent: (G,) group of the level before (None for the top or
    when crossed); Z: (n, d) random-effect covariates; z_names: d labels.
    """

    name: str
    factors: tuple
    index: np.ndarray
    n_groups: int
    parent: np.ndarray | None
    Z: np.ndarray
    z_names: tuple

    @property
    def d(self):
        return self.Z.shape[1]

    @property
    def sizes(self):
        """Observations per group, (G,)."""
        return np.bincount(self.index, minlength=self.n_groups)


def stata_name(name):
    """Patsy column name in Stata's notation: Intercept -> _cons, C(x)[T.a] -> a.x, a:b -> a#b."""
    if name == "Intercept":
        return "_cons"
    parts = []
    for piece in name.split(":"):
        if "[" in piece and piece.endswith("]"):
            var, lev = piece[:-1].split("[", 1)
            var = var[2:-1] if var.startswith("C(") and var.endswith(")") else var
            parts.append(f"{lev[2:] if lev.startswith('T.') else lev}.{var.split(',')[0]}")
        else:
            parts.append(piece)
    return "#".join(parts)


def _group_codes(data, factors, formula):
    """(n,) integer codes of the groups formed by ``factors`` (sorted), and G."""
    missing = [f for f in factors if f not in data.columns]
    if missing:
        raise FormulaError(f"formula {formula!r}: grouping variable {missing[0]!r} is not a "
                           f"column of data; columns are {list(data.columns)}.")
    codes = data.groupby(list(factors), sort=True, observed=True).ngroup().to_numpy()
    return codes.astype(np.int64), int(codes.max()) + 1


def _term_matrix(expr, data, formula):
    """(n, k) dense random-effect covariates for one term and their Stata names."""
    M = dmatrix(expr, data, formula, f"random term ({expr} | ...) of formula")
    if M.shape[1] == 0:
        raise FormulaError(f"formula {formula!r}: random term ({expr} | ...) has no columns.")
    names = tuple(stata_name(c) for c in M.design_info.column_names)
    M = np.asarray(M, dtype=float)
    for name, column in zip(names, M.T):
        _check_finite(f"the random-effects design ({name} in ({expr} | ...))", column)
    return M, names


def _check_finite(name, values):
    """DesignError naming ``name`` unless every entry of values (n,) is finite."""
    bad = values[~np.isfinite(values)]
    if bad.size:
        raise DesignError(bad_value(name, "finite in every row", bad[:5].tolist()))


def _check_consistent(groups, formula):
    """A grouping that contains another's factors must extend it (a prefix), e.g. a then a:b."""
    for s in groups:
        for t in groups:
            if s != t and set(s) <= set(t) and t[:len(s)] != s:
                raise FormulaError(f"formula {formula!r}: grouping {':'.join(t)!r} is nested "
                                   f"inconsistently with {':'.join(s)!r}; write the outer factor "
                                   f"first ({':'.join(s)}/...).")


def _nested_in(child, G_child, parent, G_parent):
    """(G_child,) parent group of each child group, or None if some child spans two parents."""
    pairs = np.unique(child * G_parent + parent)
    if pairs.size != G_child:
        return None
    out = np.empty(G_child, dtype=np.int64)
    out[pairs // G_parent] = pairs % G_parent
    return out


def build_levels(terms, data, formula):
    """(levels ordered top to bottom, nested flag) for the random terms on complete-case data."""
    groups = list(dict.fromkeys(t.group for t in terms))
    labels = {t.group: t.label for t in terms if getattr(t, "label", None)}
    _check_consistent(groups, formula)
    raw = []
    for g in groups:
        codes, G = _group_codes(data, g, formula)
        mats = [_term_matrix(t.expr, data, formula) for t in terms if t.group == g]
        Z = np.hstack([m[0] for m in mats])
        names = tuple(n for m in mats for n in m[1])
        if len(set(names)) != len(names):
            raise FormulaError(f"formula {formula!r}: grouping {':'.join(g)!r} repeats a "
                               f"random-effect column among {list(names)}.")
        raw.append((g, codes, G, Z, names))
    raw.sort(key=lambda r: (r[2], len(r[0])))
    parents = [None] + [_nested_in(raw[i][1], raw[i][2], raw[i - 1][1], raw[i - 1][2])
                        for i in range(1, len(raw))]
    nested = all(p is not None for p in parents[1:])
    levels = []
    for i, (g, codes, G, Z, names) in enumerate(raw):
        name = labels.get(g) or (">".join(g) if nested else ":".join(g))
        levels.append(Level(name, g, codes, G, parents[i] if nested else None, Z, names))
    return tuple(levels), nested


def joint_z(levels):
    """Sparse (n, q) Z of all random effects: blocks by level, group-major within a block."""
    blocks = []
    for lev in levels:
        n, d = lev.Z.shape
        rows = np.repeat(np.arange(n), d)
        cols = (lev.index[:, None] * d + np.arange(d)).ravel()
        blocks.append(sp.csc_matrix((lev.Z.ravel(), (rows, cols)), shape=(n, lev.n_groups * d)))
    return sp.hstack(blocks, format="csc")


def group_table(levels):
    """DataFrame of groups and observations per group (Stata's grouping information); the
    levels spelled ``_all:R.x`` share one row, ``_all``: one group of all observations."""
    rows = []
    for lev in levels:
        if lev.name.startswith(ALL + ">"):
            if not any(r["group"] == ALL for r in rows):
                n = len(lev.index)
                rows.append({"group": ALL, "groups": 1, "min": n, "avg": float(n), "max": n})
            continue
        s = lev.sizes
        rows.append({"group": lev.name.split(">")[-1] if ">" in lev.name else lev.name,
                     "groups": lev.n_groups, "min": int(s.min()), "avg": float(s.mean()),
                     "max": int(s.max())})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class MEArrays:
    """Fixed part of a meglm model on complete rows.

    y: (n,) response (ordinal: category codes 0..K-1); ntrials, offset: (n,);
    X: (n, p); x_names: Stata names; categories: ordinal response values;
    frame: the complete-case DataFrame; n_dropped: rows dropped for missing values;
    keep: (len(data),) bool, the complete rows; omitted: Stata names of the fixed-effects
    columns dropped as collinear; fixed_layout: (Stata name, status) per column of the
    formula in order (``design.fixed.fixed_layout``).
    """

    y: np.ndarray
    ntrials: np.ndarray
    offset: np.ndarray
    X: np.ndarray
    x_names: tuple
    y_name: str
    categories: tuple
    frame: pd.DataFrame
    n_dropped: int
    keep: np.ndarray
    omitted: tuple = ()
    fixed_layout: tuple = ()


def _column_or_vector(value, data, name):
    """A column of ``data`` (by name) or a vector of length len(data), as floats."""
    if isinstance(value, str) and value not in data.columns:
        raise ValueError(bad_value(name, "a column of data or a vector", value))
    try:
        arr = (data[value] if isinstance(value, str) else np.asarray(value)).astype(float)
    except (TypeError, ValueError):
        raise ValueError(bad_value(name, "a numeric column of data or vector", value)) from None
    arr = np.asarray(arr)
    if arr.ndim == 0:
        return np.full(len(data), float(arr))
    if arr.shape != (len(data),):
        raise ValueError(bad_value(name, f"a vector of length {len(data)}", f"shape {arr.shape}"))
    return arr


def me_arrays(fixed, terms, data, ordinal, noconstant, offset=None, exposure=None, trials=None,
              extra_cols=(), collinear=False, perfect=False):
    """Response, trials, offset and fixed design for a meglm formula's fixed part.

    extra_cols: further columns (weights) whose missing values drop a row; collinear:
    keep collinear fixed-effects columns (else omitted with Stata's note); perfect: omit
    the two-valued covariates predicting a binary response perfectly, and their rows.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(bad_value("data", "a pandas DataFrame", type(data).__name__))
    _check_terms_free_of_response(fixed, terms, data)
    group_vars = sorted({f for t in terms for f in t.group})
    for g in group_vars:
        if g not in data.columns:
            raise FormulaError(f"grouping variable {g!r} is not a column of data; columns are "
                               f"{list(data.columns)}.")
    extras = {"offset": offset, "exposure": exposure, "trials": trials}
    cols = [v for v in extras.values() if isinstance(v, str)]
    vectors = {k: _column_or_vector(v, data, k) for k, v in extras.items() if v is not None}
    expo = vectors.get("exposure")
    if expo is not None and np.any(~(expo > 0) & ~np.isnan(expo)):
        bad = expo[~(expo > 0)]
        raise ValueError(bad_value("exposure", "positive in every row", bad[:5].tolist()))
    lhs, rhs = (s.strip() for s in fixed.split("~"))
    if noconstant or ordinal:
        rhs += " - 1"
    keep = complete_rows(data, [f"{lhs} ~ {rhs}"] + [f"~ {t.expr}" for t in terms],
                         extra=group_vars + cols + list(extra_cols))
    for v in vectors.values():
        keep &= ~np.isnan(v)
    for name, v in vectors.items():
        _check_finite(name, v[keep])
    frame = data.loc[keep].reset_index(drop=True)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].cat.remove_unused_categories()
    categories = ()
    if ordinal:
        if lhs not in frame.columns:
            raise FormulaError(f"formula {fixed!r}: an ordinal response must be a column name.")
        values = frame[lhs]
        categories = tuple(sorted(pd.unique(values)))
        if len(categories) < 2:
            raise ValueError(bad_value("the ordinal response", "at least two categories",
                                       list(categories)))
        y = np.searchsorted(np.asarray(categories), values.to_numpy()).astype(float)
        X = dmatrix(rhs, frame, fixed, "fixed part of formula")
        names, ntrials, info = X.design_info.column_names, np.ones(len(frame)), X.design_info
        for name, column in zip(names, np.asarray(X, dtype=float).T):
            _check_finite(f"the fixed-effects design ({stata_name(name)})", column)
        X, names, omitted = np.asarray(X, dtype=float), tuple(names), ()
        if not collinear:
            X, names, omitted = drop_collinear(X, names)
    else:
        fx = fixed_part(f"{lhs} ~ {rhs}", frame, collinear)
        y, X, names, ntrials, omitted = fx.y, fx.X, fx.x_names, fx.ntrials, fx.omitted
        info = fx.design_info
    if "trials" in vectors:
        ntrials = vectors["trials"][keep]
    off = vectors["offset"][keep] if "offset" in vectors else np.zeros(len(frame))
    if "exposure" in vectors:
        off = off + np.log(vectors["exposure"][keep])
    y, ntrials, X = (np.asarray(v, dtype=float) for v in (y, ntrials, X))
    if perfect:
        alive, X, names, more, frame, keep = without_perfect_predictors(y, ntrials, X, names,
                                                                        frame, keep)
        y, ntrials, off, omitted = y[alive], ntrials[alive], off[alive], tuple(omitted) + more
    layout = tuple((stata_name(n), status) for n, status in fixed_layout(info, omitted))
    return MEArrays(y, ntrials, off, X, tuple(stata_name(c) for c in names),
                    _response_name(lhs), categories, frame, int((~keep).sum()), keep,
                    tuple(stata_name(c) for c in omitted), layout)


def _check_terms_free_of_response(fixed, terms, data):
    """FormulaError for a random term that uses the response, or a term given twice."""
    response = response_variables(fixed, data)
    seen = set()
    for t in terms:
        label = f"({t.expr} | {':'.join(t.group)})"
        key = ("".join(t.expr.split()), t.group)
        if key in seen:
            raise FormulaError(bad_value("formula", "each random term once (a term given twice "
                                         "splits one variance arbitrarily)", label))
        seen.add(key)
        if response & formula_variables("~ " + t.expr, data, "random term"):
            raise FormulaError(bad_value("formula", "random terms free of the response "
                                         f"{sorted(response)}", label))


def estimation_sample_check(family, arr, asis=False):
    """Refuse a meglm response without a finite MLE (``degenerate.check_estimation_sample``);
    ``asis`` keeps a covariate that separates a binary response."""
    check_estimation_sample(response_kind(family), arr.y, arr.ntrials, arr.X, arr.x_names,
                            arr.y_name, asis)


def _response_name(lhs):
    """The response's name: the successes of cbind(successes, failures), else the LHS."""
    if lhs.startswith("cbind(") and lhs.endswith(")"):
        return lhs[6:-1].split(",")[0].strip()
    return lhs
