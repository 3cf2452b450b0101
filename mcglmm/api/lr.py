"""lr2 / lr3: two- and three-level random-intercept logit by non-adaptive Gauss-Hermite quadrature.

The fronts of Rodriguez's lr3 library (see ``seeds/lr3-rodriguez-quadrature.txt``):
they check the arguments, build the frame (y, X and the group sizes n12, n13,
n23), take starting values (an ordinary logit fit and sigma = 0.6 unless given)
and hand the problem to ``engines.ghq_logit.maximize``; the fit is returned as
``results.lr.LRFit``.  The data must be sorted so that the rows of each id are
contiguous, and level-2 ids nested in level-3 ids; ``sort=True`` sorts for the
user (stably, by the ids' values).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..design import complete_rows, fixed_part
from ..exceptions import DesignError, FormulaError, bad_value
from ..engines.ghq_logit import NestedLogitProblem, logit_start, maximize
from ..model.families import bernoulli_glmm
from ..results.lr import LRFit

DEFAULT_SIGMA = 0.6


@dataclass(frozen=True)
class LRFrame:
    """The data structures of the notes' ``frame=T``.

    y: (n,) 0/1 response; X: (n, p) fixed-effects design (without the notes'
    extra zero columns for the random effects); n12: (J,) level-1 units per
    level-2 unit; n13: (C,) level-1 units per level-3 unit and n23: (C,) level-2
    units per level-3 unit (both None for a two-level model).
    """

    y: np.ndarray
    X: np.ndarray
    n12: np.ndarray
    n13: np.ndarray | None
    n23: np.ndarray | None
    x_names: tuple
    n_dropped: int

    @property
    def levels(self):
        return 2 if self.n23 is None else 3

    def problem(self, quad_pts=12):
        """The ``NestedLogitProblem`` of this frame (the notes' lr2.g / lr3.g inputs)."""
        n23 = np.ones(len(self.n12), dtype=np.intp) if self.n23 is None else self.n23
        return NestedLogitProblem(self.y, self.X, self.n12, n23, self.levels, quad_pts)


def lr2(formula, id, data, quad_pts=12, beta=None, sigma=None, frame=False, trace=False,
        sort=False):
    """Fit a two-level logit model with a random intercept for ``id`` by Gauss-Hermite quadrature.

    Parameters
    ----------
    formula : str, patsy formula ``"y ~ x1 + x2"``; y is 0/1 or a two-level factor.
    id : str, the column of ``data`` holding the level-2 ids; rows of an id contiguous.
    data : DataFrame.
    quad_pts : int >= 1, quadrature points (12 as in the notes).
    beta : starting fixed effects (p,), default an ordinary logit fit.
    sigma : starting standard deviation > 0, default 0.6.
    frame : return the ``LRFrame`` without fitting.
    trace : print the log likelihood at each iteration.
    sort : sort the rows by id instead of raising when they are not grouped.

    Returns
    -------
    ``results.lr.LRFit`` (print it, ``summary()``, ``coef(beta, sigma)``), or
    the ``LRFrame`` when ``frame=True``.
    """
    return _lr(formula, (("id", id),), data, quad_pts, beta, sigma, frame, trace, sort)


def lr3(formula, level2, level3, data, quad_pts=12, beta=None, sigma=None, frame=False,
        trace=False, sort=False):
    """Fit a three-level logit model (``level2`` units nested in ``level3`` units) by quadrature.

    As ``lr2``, except that ``sigma`` holds two standard deviations (level 2,
    level 3) and the data must be sorted by ``level3`` and, within it, by
    ``level2``, each level-2 id belonging to one level-3 id.
    """
    return _lr(formula, (("level2", level2), ("level3", level3)), data, quad_pts, beta, sigma,
               frame, trace, sort)


def _lr(formula, ids, data, quad_pts, beta, sigma, frame, trace, sort):
    """Shared body of lr2 and lr3: check, build the frame, start, maximise, wrap."""
    _check_arguments(formula, ids, data, quad_pts, frame, trace, sort)
    sigma0 = _check_sigma(sigma, len(ids) + 1)
    lr_frame = _prepare_frame(formula, ids, data, sort)
    if frame:
        return lr_frame
    beta0 = _check_beta(beta, lr_frame.x_names)
    problem = lr_frame.problem(int(quad_pts))
    if beta0 is None:
        beta0 = logit_start(problem.y, problem.X)
    fit = maximize(problem, np.concatenate([beta0, np.log(sigma0)]), trace=trace)
    return LRFit.from_maximum(fit, formula=formula, x_names=lr_frame.x_names,
                              n_units=_n_units(lr_frame), quad_pts=int(quad_pts),
                              n_dropped=lr_frame.n_dropped)


def _prepare_frame(formula, ids, data, sort):
    """Complete rows, nesting and sorting checks (or sorting), then y, X and the group sizes."""
    id_columns = [column for _, column in ids]
    keep = complete_rows(data, [formula], extra=id_columns)
    data = data.loc[keep]
    if len(data) == 0:
        raise DesignError(bad_value("data", "at least one row complete in every used variable",
                                    f"{len(keep)} rows, none complete"))
    codes = [_id_codes(data[column]) for column in id_columns]
    if len(codes) == 2:
        _check_nested(codes[0], codes[1], data, ids)
    order = _sorting_order(codes, data, ids, sort)
    if order is not None:
        data = data.iloc[order]
        codes = [c[order] for c in codes]
    return _build_frame(formula, data, codes, int((~keep).sum()))


def _check_arguments(formula, ids, data, quad_pts, frame, trace, sort):
    """Type and range checks that need no data work."""
    if not isinstance(formula, str) or "~" not in formula:
        raise FormulaError(bad_value("formula", 'a two-sided formula string such as "y ~ x"',
                                     formula))
    if not isinstance(data, pd.DataFrame):
        raise TypeError(bad_value("data", "a pandas DataFrame", type(data).__name__))
    for name, column in ids:
        if not isinstance(column, str) or column not in data.columns:
            raise ValueError(bad_value(name, "the name of a column of data", column))
    if isinstance(quad_pts, bool) or not isinstance(quad_pts, (int, np.integer)) or quad_pts < 1:
        raise ValueError(bad_value("quad_pts", "an integer >= 1", quad_pts))
    for name, flag in (("frame", frame), ("trace", trace), ("sort", sort)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(bad_value(name, "True or False", flag))


def _check_sigma(sigma, levels):
    """Starting standard deviations (levels - 1,), each finite and > 0."""
    if sigma is None:
        return np.full(levels - 1, DEFAULT_SIGMA)
    allowed = "a number > 0" if levels == 2 else "two numbers > 0 (level 2, level 3)"
    got = sigma.tolist() if isinstance(sigma, (np.ndarray, pd.Series)) else sigma
    values = _as_floats(sigma)
    if values is None or len(values) != levels - 1 or not np.all(np.isfinite(values)) \
            or np.any(values <= 0):
        raise ValueError(bad_value("sigma", allowed, got))
    return values


def _as_floats(values):
    """values as a flat float array, or None if they are not numbers."""
    try:
        return np.atleast_1d(np.asarray(values, dtype=float)).ravel()
    except (TypeError, ValueError):
        return None


def _check_beta(beta, x_names):
    """Starting fixed effects (p,) or None; a Series must be indexed by the design's names."""
    if beta is None:
        return None
    if isinstance(beta, pd.Series) and tuple(beta.index) != tuple(x_names):
        raise ValueError(bad_value("beta", f"indexed by the fixed effects {list(x_names)}",
                                   list(beta.index)))
    values = _as_floats(beta)
    if values is None or len(values) != len(x_names) or not np.all(np.isfinite(values)):
        raise ValueError(bad_value("beta", f"{len(x_names)} finite numbers (one per column of X: "
                                   f"{list(x_names)})", beta))
    return values


def _id_codes(column):
    """Integer codes (n,) of an id column, ordered by value (category order for factors)."""
    return pd.factorize(column, sort=True)[0]


def _n_runs(codes):
    """Number of runs of equal consecutive codes."""
    return int(len(codes) > 0) + int(np.count_nonzero(codes[1:] != codes[:-1]))


def _check_nested(codes2, codes3, data, ids):
    """Raise unless every level-2 id belongs to one level-3 id."""
    pairs = np.unique(np.column_stack([codes2, codes3]), axis=0)
    if len(pairs) == len(np.unique(codes2)):
        return
    (name2, column2), (name3, column3) = ids
    twice = pairs[np.flatnonzero(pairs[1:, 0] == pairs[:-1, 0])[0], 0]
    rows = codes2 == twice
    got = (f"{column2} = {_plain(data[column2].to_numpy()[rows][0])!r} in {column3} "
           f"{sorted(pd.unique(data[column3].to_numpy()[rows]).tolist())}")
    raise DesignError(bad_value(name2, f"nested in {name3} (each {column2} id within one "
                                f"{column3} id)", got)
                      + f" Give the level-2 units ids unique across {column3}, e.g. "
                      f"data[{column2!r}].astype(str) + ':' + data[{column3!r}].astype(str).")


def _sorting_order(codes, data, ids, sort):
    """Row order (n,) grouping the ids, None if already grouped; raises if unsorted and not sort."""
    split = [(column, c) for (_, column), c in zip(ids, codes) if _n_runs(c) != len(np.unique(c))]
    if not split:
        return None
    if not sort:
        column, c = split[-1]
        columns = [column for _, column in ids][::-1]
        by = " and then ".join(repr(name) for name in columns)
        raise DesignError(bad_value("data", f"sorted by {by} (the rows of each id contiguous)",
                                    f"{column} = {_first_split_id(c, data[column])!r} in "
                                    "separate runs of rows")
                          + f" Sort it with data.sort_values({columns}, kind='stable') or pass "
                          "sort=True.")
    return np.lexsort([np.arange(len(codes[0]))] + codes)


def _first_split_id(codes, column):
    """The first id (in row order) whose rows form more than one run."""
    run_codes = codes[np.r_[True, codes[1:] != codes[:-1]]]
    repeated = np.flatnonzero(np.bincount(run_codes) > 1)
    row = np.flatnonzero(np.isin(codes, repeated))[0]
    return _plain(column.to_numpy()[row])


def _plain(value):
    """A numpy scalar as the Python scalar, for readable messages."""
    return value.item() if isinstance(value, np.generic) else value


def _build_frame(formula, data, codes, n_dropped):
    """y, X and the group sizes from sorted, complete data."""
    fixed = fixed_part(formula, data)
    if fixed.response_columns != 1:
        raise FormulaError(bad_value("formula", "a 0/1 (or two-level factor) response",
                                     formula.split("~")[0].strip()))
    bernoulli_glmm.check_response(fixed.y, fixed.ntrials)
    if len(codes) == 1:
        return LRFrame(fixed.y, fixed.X, _run_lengths(codes[0]), None, None, fixed.x_names,
                       n_dropped)
    codes2, codes3 = codes
    first_of_unit2 = np.flatnonzero(np.r_[True, codes2[1:] != codes2[:-1]])
    return LRFrame(fixed.y, fixed.X, _run_lengths(codes2), _run_lengths(codes3),
                   _run_lengths(codes3[first_of_unit2]), fixed.x_names, n_dropped)


def _run_lengths(codes):
    """Lengths (G,) of the runs of equal consecutive codes."""
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    return np.diff(np.r_[starts, len(codes)]).astype(np.intp)


def _n_units(lr_frame):
    """Units at each level: (n, J) or (n, J, C)."""
    counts = (len(lr_frame.y), len(lr_frame.n12))
    return counts if lr_frame.n23 is None else counts + (len(lr_frame.n23),)
