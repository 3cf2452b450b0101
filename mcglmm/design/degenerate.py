"""Designs without a finite MLE, found before fitting.

* A response constant in the estimation sample (0 in every row of a binary model, all
  zero counts, a constant Gaussian response): ``check_response_varies`` refuses it.
* A covariate predicting a binary response perfectly (Stata's ``logit`` checks): a
  two-valued column whose rows at one value are all failures (or all successes) is
  omitted with those rows, with Stata's note (``drop_perfect_predictors``); a column whose
  failures all lie at or below its successes (or above) -- complete separation, the
  coefficient's MLE infinite -- is refused by ``check_separation``, naming the covariate.
* Collinear fixed-effects columns: ``drop_collinear`` omits each column that lies, to a
  relative residual norm of ``COLLINEAR_TOL``, in the span of the columns before it (in
  formula order, as R's lm and Stata), with Stata's note as a ``DesignWarning``.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from ..exceptions import DesignError, DesignWarning, bad_value

COLLINEAR_TOL = 1e-7          # relative residual norm (R lm's tol)
from .._checks import BINARY, COUNT, CONTINUOUS


def check_response_varies(y, ntrials, kind, name):
    """DesignError naming the response when it gives no finite MLE: constant (continuous),
    all zero (counts), or all failures / all successes (binary, binomial)."""
    y = np.asarray(y, dtype=float)
    if y.size == 0:
        return
    if kind == BINARY:
        p = y / np.asarray(ntrials, dtype=float)
        if np.all(p == 0) or np.all(p == 1):
            what = "0 (a failure)" if p[0] == 0 else "a success"
            raise DesignError(bad_value(f"the response {name}", "varying in the estimation "
                                        "sample (a binary model needs both outcomes)",
                                        f"{what} in all {y.size} rows"))
    elif kind == COUNT and np.all(y == 0):
        raise DesignError(bad_value(f"the response {name}", "not zero in every row (the "
                                    "log mean would be -infinity)", f"0 in all {y.size} rows"))
    elif kind == CONTINUOUS and np.all(y == y[0]):
        raise DesignError(bad_value(f"the response {name}", "varying in the estimation sample "
                                    "(its residual variance would be 0)",
                                    f"{y[0]:g} in all {y.size} rows"))


def _two_valued(x):
    """The two distinct values of column x, or None."""
    values = np.unique(x)
    return values if len(values) == 2 else None


def _separation_of(x, fail, success):
    """Description of how column x (n,) predicts the outcome perfectly, or None."""
    values = _two_valued(x)
    if values is not None:
        for v in values:
            rows = x == v
            if not success[rows].any():
                return f"x == {v:g} predicts failure perfectly ({int(rows.sum())} rows)"
            if not fail[rows].any():
                return f"x == {v:g} predicts success perfectly ({int(rows.sum())} rows)"
    if fail.any() and success.any():
        if x[fail].max() <= x[success].min():
            return f"x >= {x[success].min():g} predicts success and below it failure"
        if x[success].max() <= x[fail].min():
            return f"x <= {x[success].max():g} predicts success and above it failure"
    return None


def _predicted_by_value(x, fail, success):
    """(value, outcome) when the rows of two-valued x (n,) at one value share one outcome."""
    values = _two_valued(x)
    for v in () if values is None else values:
        rows = x == v
        if not success[rows].any():
            return v, "failure"
        if not fail[rows].any():
            return v, "success"
    return None


def drop_perfect_predictors(y, ntrials, X, x_names, stacklevel=4):
    """(rows kept (n,) bool, columns kept, omitted names) after Stata's logit rule: while a
    two-valued column has a value whose rows all fail (or all succeed), omit the column and
    those rows, with a DesignWarning note."""
    p = np.asarray(y, dtype=float) / np.asarray(ntrials, dtype=float)
    alive, columns, omitted = np.ones(len(p), dtype=bool), list(range(X.shape[1])), []
    while alive.any():
        hit = None
        for j in columns:                  # over columns, not observations
            found = _predicted_by_value(X[alive, j], p[alive] < 1, p[alive] > 0)
            if found is not None:
                hit = (j,) + found
                break
        if hit is None:
            break
        j, v, outcome = hit
        rows = alive & (X[:, j] == v)
        alive &= ~rows
        columns.remove(j)
        omitted.append(x_names[j])
        warnings.warn(f"note: {x_names[j]} == {v:g} predicts {outcome} perfectly; "
                      f"{x_names[j]} omitted and {int(rows.sum())} obs not used",
                      DesignWarning, stacklevel=stacklevel)
    return alive, columns, tuple(omitted)


def without_perfect_predictors(y, ntrials, X, x_names, frame, keep):
    """``drop_perfect_predictors`` applied to a design: (alive (n,) rows kept of the n,
    X (n', p'), names, omitted, frame (n' rows), keep (len(data),) updated); newly
    collinear columns of the reduced X are omitted too.  DesignError if no row is left."""
    alive, columns, omitted = drop_perfect_predictors(y, ntrials, X, x_names, stacklevel=5)
    if not omitted:
        return alive, X, tuple(x_names), (), frame, keep
    if not alive.any():
        raise DesignError(bad_value("data", "rows left once the perfectly predicting "
                                    f"covariates {list(omitted)} and their rows are omitted",
                                    "none left"))
    Xr, names, more = drop_collinear(X[alive][:, columns], [x_names[j] for j in columns],
                                     stacklevel=5)
    keep = keep.copy()
    keep[np.flatnonzero(keep)[~alive]] = False
    return alive, Xr, names, omitted + more, frame.loc[alive].reset_index(drop=True), keep


def separating_columns(y, ntrials, X, x_names):
    """[(name, description)] of the non-constant columns of X (n, p) separating y/ntrials."""
    p = np.asarray(y, dtype=float) / np.asarray(ntrials, dtype=float)
    fail, success = p < 1, p > 0
    out = []
    for j, name in enumerate(x_names):
        x = X[:, j]
        if np.all(x == x[0]):
            continue
        how = _separation_of(x, fail, success)
        if how is not None:
            out.append((name, how.replace("x ", f"{name} ", 1)))
    return out


def check_separation(y, ntrials, X, x_names, name):
    """DesignError naming the first covariate that predicts the binary response perfectly."""
    if len(y) == 0:
        return
    found = separating_columns(y, ntrials, np.asarray(X, dtype=float), x_names)
    if found:
        covariate, how = found[0]
        raise DesignError(bad_value(f"covariate {covariate}", f"not predicting the response "
                                    f"{name} perfectly (its coefficient's MLE would be "
                                    "infinite)", how)
                          + " Drop the covariate (and the rows it determines), merge its "
                          "categories, or pass asis=True to fit it anyway.")


def check_estimation_sample(kind, y, ntrials, X, x_names, name, asis=False):
    """Refuse a response of ``kind`` (BINARY, COUNT, CONTINUOUS or None: no check) without a
    finite MLE: constant in the sample, or (binary, unless ``asis``) predicted perfectly by
    a covariate."""
    if kind is None:
        return
    check_response_varies(y, ntrials, kind, name)
    if kind == BINARY and not asis:
        check_separation(y, ntrials, X, x_names, name)


def _standardised(X):
    """Columns centred (when a constant column is present) and scaled to unit norm."""
    X = np.asarray(X, dtype=float)
    constant = np.all(X == X[:1], axis=0) & np.any(X != 0, axis=0)
    if constant.any():
        X = np.where(constant, X, X - X.mean(axis=0))
    norms = np.linalg.norm(X, axis=0)
    return X / np.where(norms > 0, norms, 1.0), norms > 0


def collinear_columns(X, tol=COLLINEAR_TOL):
    """Indices of the columns of X (n, p) in the span of the columns before them."""
    n, p = X.shape
    if p == 0 or n == 0:
        return []
    Xs, nonzero = _standardised(X)
    R = scipy.linalg.qr(Xs, mode="r", pivoting=True)[0]
    diag = np.abs(np.diag(R))
    if nonzero.all() and len(diag) == p and np.all(diag > tol):
        return []
    basis, dropped = np.empty((n, 0)), []
    for j in range(p):                     # over columns, only for a rank-deficient X
        r = Xs[:, j] - basis @ (basis.T @ Xs[:, j])
        r = r - basis @ (basis.T @ r)
        norm = np.linalg.norm(r)
        if not nonzero[j] or norm <= tol:
            dropped.append(j)
        else:
            basis = np.column_stack([basis, r / norm])
    return dropped


def drop_collinear(X, x_names, stacklevel=4):
    """(X without its collinear columns, kept names, omitted names), with Stata's notes."""
    dropped = collinear_columns(np.asarray(X, dtype=float))
    if not dropped:
        return X, tuple(x_names), ()
    omitted = tuple(x_names[j] for j in dropped)
    for name in omitted:
        warnings.warn(f"note: {name} omitted because of collinearity", DesignWarning,
                      stacklevel=stacklevel)
    keep = np.setdiff1d(np.arange(X.shape[1]), dropped)
    return X[:, keep], tuple(x_names[j] for j in keep), omitted


__all__ = ["BINARY", "drop_perfect_predictors", "without_perfect_predictors", "COUNT", "CONTINUOUS", "check_estimation_sample", "check_response_varies",
           "check_separation",
           "collinear_columns", "drop_collinear", "separating_columns"]
