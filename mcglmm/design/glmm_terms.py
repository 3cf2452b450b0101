"""R glmm's random-effects design: a list of one-sided formulas.

Each formula gives a block of columns of Z (built sparse: a factor, or a factor
times numeric variables, becomes an indicator matrix from its integer codes,
without a dense n x levels intermediate).  ``varcomps_equal`` maps formulas to
variance components; as in glmm, the columns of all formulas sharing a component
are placed together, components in order, so ``vc_index`` is non-decreasing.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._checks import BINARY, flag, response_kind
from ..exceptions import ArgumentTypeError, DesignError, FormulaError, bad_value
from .degenerate import check_estimation_sample, without_perfect_predictors
from .evaluate import dmatrix, formula_variables, model_desc, response_variables
from .fixed import fixed_part
from .missing import complete_rows


@dataclass(frozen=True)
class GLMMDesign:
    """Everything the MCLA engine needs, as arrays.

    y: (n,) response (successes for binomial); ntrials: (n,); weights: (n,);
    X: (n, p); Z: (n, q) CSC; vc_index: (q,) component of each column of Z;
    n_random: (T,) columns per component.
    """

    y: np.ndarray
    ntrials: np.ndarray
    weights: np.ndarray
    X: np.ndarray
    Z: sp.csc_matrix
    vc_index: np.ndarray
    x_names: tuple
    z_names: tuple
    varcomps_names: tuple
    varcomps_equal: tuple
    n_dropped: int
    omitted: tuple = ()

    @property
    def n(self):
        return self.X.shape[0]

    @property
    def p(self):
        return self.X.shape[1]

    @property
    def q(self):
        return self.Z.shape[1]

    @property
    def T(self):
        return len(self.varcomps_names)

    @property
    def n_random(self):
        return np.bincount(self.vc_index, minlength=self.T)


def random_block(formula, data):
    """Sparse block (n, k) and column names for one one-sided random formula."""
    if not isinstance(formula, str):
        raise FormulaError(bad_value("each random formula", 'a string such as "0 + Female"', formula))
    rhs = formula.strip().lstrip("~").strip()
    if not rhs:
        raise FormulaError(bad_value("each random formula", 'a non-empty formula such as "0 + Female"',
                                     formula))
    terms = model_desc(rhs, "random formula").rhs_termlist
    if len(terms) == 1 and terms[0].factors:
        block = _sparse_factor_term(terms[0], data, formula)
        if block is not None:
            return block
    dense = dmatrix(rhs, data, formula, "random formula")
    return sp.csc_matrix(np.asarray(dense, dtype=float)), tuple(dense.design_info.column_names)


def _sparse_factor_term(term, data, formula):
    """One categorical factor (optionally times numerics) without intercept, built from codes."""
    values = [_eval_factor(f, data, formula) for f in term.factors]
    cats = [i for i, v in enumerate(values) if isinstance(v, pd.Categorical)]
    if len(cats) != 1:
        return None
    codes = values[cats[0]].codes
    levels = values[cats[0]].categories
    scale = np.ones(len(codes))
    for i, v in enumerate(values):
        if i != cats[0]:
            v = np.asarray(v, dtype=float)
            if v.ndim != 1:
                return None
            scale = scale * v
    n = len(codes)
    Z = sp.csc_matrix((scale, (np.arange(n), codes)), shape=(n, len(levels)))
    base = term.factors[cats[0]].name()
    others = [f.name() for i, f in enumerate(term.factors) if i != cats[0]]
    names = tuple(":".join([f"{base}[{lev}]"] + others) for lev in levels)
    return Z, names


def _eval_factor(factor, data, formula):
    """Value of a patsy factor on ``data``: a Categorical for factors, else an array."""
    code = factor.name()
    if code in data.columns:
        col = data[code]
        if isinstance(col.dtype, pd.CategoricalDtype):
            return pd.Categorical(col).remove_unused_categories()
        if col.dtype == object or pd.api.types.is_string_dtype(col) or col.dtype == bool:
            return pd.Categorical(col)
        return col.to_numpy(dtype=float)
    if code.startswith("C(") and code.endswith(")") and code[2:-1] in data.columns:
        return pd.Categorical(data[code[2:-1]]).remove_unused_categories()
    return np.asarray(dmatrix(f"0 + I({code})", data, formula, "random formula"))[:, 0]


def _check_varcomps(n_formulas, varcomps_names, varcomps_equal):
    """Apply glmm's rules to varcomps_names / varcomps_equal; return (names, equal)."""
    if varcomps_names is None:
        raise ValueError(bad_value("varcomps_names", "a list naming each variance component", None))
    if isinstance(varcomps_names, str):
        varcomps_names = [varcomps_names]
    varcomps_names = tuple(str(v) for v in varcomps_names)
    if varcomps_equal is None:
        if len(varcomps_names) != n_formulas:
            raise ValueError(bad_value("varcomps_names", f"of length {n_formulas} (one name per random "
                                       "formula, unless varcomps_equal groups them)",
                                       list(varcomps_names)))
        varcomps_equal = tuple(range(1, n_formulas + 1))
    else:
        if np.ndim(varcomps_equal) != 1 or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in varcomps_equal):
            raise ValueError(bad_value("varcomps_equal", "a list of integers starting at 1",
                                       varcomps_equal))
        varcomps_equal = tuple(int(v) for v in varcomps_equal)
    if len(varcomps_equal) != n_formulas:
        raise ValueError(bad_value("varcomps_equal", f"of length {n_formulas} (one entry per random "
                                   "formula)", list(varcomps_equal)))
    if min(varcomps_equal) != 1:
        raise ValueError(bad_value("varcomps_equal", "integers starting at 1", list(varcomps_equal)))
    distinct = sorted(set(varcomps_equal))
    if distinct != list(range(1, len(distinct) + 1)):
        raise ValueError(bad_value("varcomps_equal", "consecutive integers 1, 2, ... (repeats allowed)",
                                   list(varcomps_equal)))
    if len(varcomps_names) != len(distinct):
        raise ValueError(bad_value("varcomps_names", f"of length {len(distinct)} (one name per "
                                   "distinct value of varcomps_equal)", list(varcomps_names)))
    return varcomps_names, varcomps_equal


def _weights_vector(weights, data, keep, n_all):
    """Observation weights (n,) for the kept rows: a column name or a vector of length n_all."""
    if weights is None:
        return np.ones(int(keep.sum()))
    if isinstance(weights, str):
        if weights not in data.columns:
            raise ValueError(bad_value("weights", "a column of data or a vector", weights))
        w = data[weights].to_numpy()
    else:
        w = np.asarray(weights)
        if w.ndim != 1 or len(w) != n_all:
            raise ValueError(bad_value("weights", f"a vector of length {n_all} (rows of data)",
                                       f"shape {w.shape}"))
    if not np.issubdtype(w.dtype, np.number) or w.dtype == bool:
        raise ValueError(bad_value("weights", "numeric", w.dtype))
    w = w.astype(float)
    if np.isnan(w).any():
        raise ValueError(bad_value("weights", "without missing values",
                                   f"{int(np.isnan(w).sum())} missing"))
    if np.isinf(w).any():
        raise ValueError(bad_value("weights", "finite", w[np.isinf(w)][:5].tolist()))
    if (w < 0).any():
        raise ValueError(bad_value("weights", "non-negative", w[w < 0][:5].tolist()))
    if not (w[keep] > 0).any():
        raise DesignError(bad_value("weights", "positive in at least one complete row",
                                    f"0 in all {int(keep.sum())} complete rows"))
    return w[keep]


def _without_perfect_predictors(fx, frame, keep):
    """FixedPart, frame and keep without the covariates (and rows) predicting y perfectly."""
    alive, X, names, omitted, frame, keep = without_perfect_predictors(
        fx.y, fx.ntrials, fx.X, fx.x_names, frame, keep)
    if not omitted:
        return fx, frame, keep
    return replace(fx, y=fx.y[alive], ntrials=fx.ntrials[alive], X=X, x_names=names,
                   omitted=fx.omitted + omitted), frame, keep


def _random_formulas(random, fixed, data):
    """The list of random formulas: strings, distinct, none using the response."""
    if not (random is None or isinstance(random, (str, list, tuple))):
        raise ArgumentTypeError(bad_value("random", "a formula string or a list of them",
                                          type(random).__name__))
    formulas = [random] if isinstance(random, str) else list(random) if random is not None else []
    if not formulas:
        raise ValueError(bad_value("random", "a formula or a non-empty list of formulas", random))
    for f in formulas:
        if not isinstance(f, str):
            raise FormulaError(bad_value("each random formula", 'a string such as "0 + Female"', f))
    seen = {}
    response = response_variables(fixed, data)
    for f in formulas:
        key = "".join(f.strip().lstrip("~").split())
        if key in seen:
            raise FormulaError(bad_value("random", "distinct formulas (the same formula twice "
                                         "splits one variance arbitrarily)", f))
        seen[key] = f
        if key and response & formula_variables("~ " + f.strip().lstrip("~"), data,
                                                "random formula"):
            raise FormulaError(bad_value("random", "formulas free of the response "
                                         f"{sorted(response)}", f))
    return formulas





def glmm_design(fixed, random, data, family, varcomps_names=None, varcomps_equal=None,
                weights=None, collinear=False, asis=False):
    """Build the ``GLMMDesign`` for R glmm's arguments (data must be a DataFrame).

    Collinear fixed-effects columns are omitted with a note unless ``collinear``; a
    covariate separating a binary response is refused unless ``asis`` (Stata's options).
    """
    collinear, asis = flag("collinear", collinear), flag("asis", asis)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(bad_value("data", "a pandas DataFrame", type(data).__name__))
    formulas = _random_formulas(random, fixed, data)
    names, equal = _check_varcomps(len(formulas), varcomps_names, varcomps_equal)
    keep = complete_rows(data, [fixed] + [f.lstrip("~ ") for f in formulas])
    _weights_vector(weights, data, keep, len(data))
    frame = data.loc[keep].reset_index(drop=True)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].cat.remove_unused_categories()
    fx = fixed_part(fixed, frame, collinear)
    if fx.response_columns == 2 and not family.has_trials:
        raise DesignError(f"a two-column (cbind) response is allowed only for binomial_glmm; "
                          f"got family {family!r}.")
    if fx.response_columns > 2:
        raise DesignError(bad_value("a binomial response", "two columns (successes, failures)",
                                    f"{fx.response_columns} columns"))
    family.check_response(fx.y, fx.ntrials)
    kind = response_kind(family)
    if kind == BINARY and not asis:
        fx, frame, keep = _without_perfect_predictors(fx, frame, keep)
    w = _weights_vector(weights, data, keep, len(data))
    check_estimation_sample(kind, fx.y, fx.ntrials, fx.X, fx.x_names,
                            fixed.split("~")[0].strip(), asis)
    blocks = [random_block(f, frame) for f in formulas]
    for formula, (block, _) in zip(formulas, blocks):
        if not np.all(np.isfinite(block.data)):
            raise DesignError(bad_value(f"the random-effects design of {formula!r}",
                                        "finite in every row", "inf"))
    order = [i for t in range(1, len(names) + 1) for i, e in enumerate(equal) if e == t]
    Z = sp.hstack([blocks[i][0] for i in order], format="csc")
    z_names = tuple(nm for i in order for nm in blocks[i][1])
    vc_index = np.concatenate([np.full(blocks[i][0].shape[1], equal[i] - 1) for i in order])
    return GLMMDesign(y=fx.y, ntrials=fx.ntrials, weights=w, X=fx.X, Z=Z, vc_index=vc_index,
                      x_names=fx.x_names, z_names=z_names, varcomps_names=names,
                      varcomps_equal=equal, n_dropped=int((~keep).sum()), omitted=fx.omitted)
