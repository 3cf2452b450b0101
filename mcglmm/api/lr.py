"""lr2 / lr3: two- and three-level random-intercept logit by non-adaptive Gauss-Hermite quadrature.

The fronts of Rodriguez's lr3 library (see ``seeds/lr3-rodriguez-quadrature.txt``).
They only chain stages: check the arguments; build the frame (y, X by ``design``, the
grouping levels by ``design.levels.build_levels``) and the quadrature engine's model,
the one meglm uses (Bernoulli logit, one random intercept per level, Stata's identity
covariance with psi = log sigma); take starting values (an ordinary logit fit by
``engines.fixed`` and sigma = 0.6 unless given); maximise the k-point non-adaptive
quadrature log likelihood (``engines.quadrature.objective.nonadaptive``: value,
gradient and exact Hessian) by the trust region (``optim.trust``; BLAS on one thread,
as in meglm: the products are tall and thin); wrap the result as ``results.lr.LRFit``.

Parameterisations.  lr's theta = (beta, log sigma2[, log sigma3]) lists the levels from
the bottom (the notes' order); the engine's theta = (beta, psi_top, ..., psi_bottom)
from the top, psi_l = log sigma_l, so the two differ by a permutation of the psi
entries (``LRFrame.order``).  The data must be sorted so that the rows of each id are
contiguous, and level-2 ids nested in level-3 ids; ``sort=True`` sorts for the user
(stably, by the ids' values).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .._checks import lr_arguments
from ..design import complete_rows, fixed_part
from ..design.levels import build_levels, joint_z
from ..design.scaling import ColumnScaling
from ..engines import fixed
from ..engines.quadrature.objective import nonadaptive
from ..exceptions import ConvergenceWarning, DesignError, FormulaError, bad_value
from ..formula import RandomTerm
from ..model.covariance import Identity
from ..model.families import bernoulli_glmm
from ..model.spec import MEModel
from ..optim.convergence import convergence_message
from ..optim.newton import Criterion, newton_maximize
from ..optim.trust import maximize
from ..parallel import single_threaded_blas
from ..results.lr import LRFit
from ..progress import ConvergenceBar
from ..results.post_source import attach, lr_source

DEFAULT_SIGMA = 0.6
LR_DIGITS = 1e-10          # the progress bar's target: logL settled to 10 digits, as printed
RINIT, RMAX = 1.0, 100.0   # trust radius in (beta, log sigma): start and bound


@dataclass(frozen=True)
class LRFrame:
    """The data structures of the notes' ``frame=T``, and the quadrature model built on them.

    y: (n,) 0/1 response; X: (n, p) fixed-effects design (without the notes'
    extra zero columns for the random effects); n12: (J,) level-1 units per
    level-2 unit; n13: (C,) level-1 units per level-3 unit and n23: (C,) level-2
    units per level-3 unit (both None for a two-level model), units in row order;
    model: the ``model.spec.MEModel`` that ``meglm`` builds for the same data.
    """

    y: np.ndarray
    X: np.ndarray
    n12: np.ndarray
    n13: np.ndarray | None
    n23: np.ndarray | None
    x_names: tuple
    n_dropped: int
    model: MEModel
    rows: pd.DataFrame | None = None   # the complete rows, sorted as y and X (postestimation)

    @property
    def levels(self):
        return 2 if self.n23 is None else 3

    @property
    def order(self):
        """(P,) permutation with lr's theta = engine's theta[order] (its own inverse)."""
        p, L = self.X.shape[1], self.levels - 1
        return np.r_[np.arange(p), p + L - 1 - np.arange(L)]

    def evaluate(self, theta, quad_pts=12):
        """``engines.base.Evaluation`` (value, gradient, Hessian) at lr's theta (P,)."""
        theta = np.asarray(theta, dtype=float)
        if theta.shape != self.order.shape:
            raise ValueError(bad_value("theta", f"a vector of length {len(self.order)}",
                                       f"shape {theta.shape}"))
        return nonadaptive(self.model, int(quad_pts))(theta[self.order]).permuted(self.order)


def lr2(formula, id, data, quad_pts=12, beta=None, sigma=None, frame=False, trace=False,
        sort=False, progress=False):
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
    progress : a tqdm bar of the digits to which the log likelihood has settled
        (``mcglmm.progress``).

    Returns
    -------
    ``results.lr.LRFit`` (print it, ``summary()``, ``coef(beta, sigma)``), or
    the ``LRFrame`` when ``frame=True``.
    """
    data, quad_pts = lr_arguments("lr2", formula, {"id": id}, data, quad_pts, sigma, frame, trace,
                                  sort)
    return _lr(formula, (("id", id),), data, quad_pts, beta, sigma, frame, trace, sort, progress)


def lr3(formula, level2, level3, data, quad_pts=12, beta=None, sigma=None, frame=False,
        trace=False, sort=False, progress=False):
    """Fit a three-level logit model (``level2`` units nested in ``level3`` units) by quadrature.

    As ``lr2``, except that ``sigma`` holds two standard deviations (level 2,
    level 3) and the data must be sorted by ``level3`` and, within it, by
    ``level2``, each level-2 id belonging to one level-3 id.
    """
    data, quad_pts = lr_arguments("lr3", formula, {"level2": level2, "level3": level3}, data,
                                  quad_pts, sigma, frame, trace, sort)
    return _lr(formula, (("level2", level2), ("level3", level3)), data, quad_pts, beta, sigma,
               frame, trace, sort, progress)


def _lr(formula, ids, data, quad_pts, beta, sigma, frame, trace, sort, progress):
    """Shared body of lr2 and lr3: check, build the frame, start, maximise, wrap."""
    _check_arguments(formula, ids, data, quad_pts, frame, trace, sort, progress)
    sigma0 = _check_sigma(sigma, len(ids) + 1)
    lr_frame = _prepare_frame(formula, ids, data, sort)
    if frame:
        return lr_frame
    beta0 = _check_beta(beta, lr_frame.x_names)
    sc = ColumnScaling.of(lr_frame.X)     # the trust region works on centred, scaled X
    inner = replace(lr_frame, model=replace(lr_frame.model, X=sc.apply(lr_frame.X)))
    theta0 = np.r_[logit_start(inner.model) if beta0 is None else sc.to_internal(beta0),
                   np.log(sigma0)]
    if trace:
        print(f"iter   0  logL = {inner.evaluate(theta0, quad_pts).value:.10g}")
    bar = ConvergenceBar(LR_DIGITS, desc="lr") if progress else None
    with single_threaded_blas():
        fit = maximize(lambda t: inner.evaluate(t, quad_pts), theta0, rinit=RINIT,
                       rmax=RMAX, callback=_callback(trace, bar, sc.to_user))
    if bar is not None:
        bar.close(fit.converged)
    names = list(lr_frame.x_names) + [f"log sigma{j + 2}" for j in range(len(ids))]
    message = fit.converged and convergence_message(fit.grad, fit.hess, names)
    if message:
        warnings.warn(f"lr: {message}", ConvergenceWarning, stacklevel=3)
    fit = sc.result_to_user(fit)
    res = LRFit.from_maximum(fit, formula=formula, x_names=lr_frame.x_names,
                             n_units=_n_units(lr_frame), quad_pts=int(quad_pts),
                             n_dropped=lr_frame.n_dropped,
                             group_names=tuple(column for _, column in ids))
    return attach(res, lr_source(res, lr_frame))


def logit_start(model):
    """Ordinary logit MLE (the notes' glm start) by Newton on ``engines.fixed``: beta (p,)."""
    crit = Criterion(lambda b: fixed.loglik(model, b), lambda b: fixed.hessian(model, b))
    return newton_maximize(lambda b, final: crit, np.zeros(model.p)).x


def _callback(trace, bar, to_user):
    """The trust region's callback: the trace lines (theta on the user's scale, ``to_user``)
    and/or the progress bar, or None."""
    if not (trace or bar):
        return None

    def callback(step):
        if trace:
            _report(step, to_user(step.trial))
        if bar is not None and step.accepted:
            bar.update(step.number + 1, step.trial_value)
    return callback


def _report(step, trial):
    """Trust-region callback for ``trace``: the log likelihood and theta (``trial``, the
    user's scale) after each iteration."""
    if step.accepted:
        values = " ".join(f"{t:.6g}" for t in trial)
        print(f"iter {step.number + 1:3d}  logL = {step.trial_value:.10g}  theta: {values}")
    else:
        print(f"iter {step.number + 1:3d}  step rejected (logL {step.trial_value:.10g}), "
              f"radius {step.radius:.4g} -> {step.radius / 4:.4g}")


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
    return _build_frame(formula, data, ids, int((~keep).sum()))


def _check_arguments(formula, ids, data, quad_pts, frame, trace, sort, progress=False):
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
    for name, flag in (("frame", frame), ("trace", trace), ("sort", sort),
                       ("progress", progress)):
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


def _build_frame(formula, data, ids, n_dropped):
    """y, X, the grouping levels and the quadrature model from sorted, complete data."""
    fixed_design = fixed_part(formula, data)
    if fixed_design.response_columns != 1:
        raise FormulaError(bad_value("formula", "a 0/1 (or two-level factor) response",
                                     formula.split("~")[0].strip()))
    bernoulli_glmm.check_response(fixed_design.y, fixed_design.ntrials)
    columns = [column for _, column in ids][::-1]          # outermost first
    terms = [RandomTerm("1", tuple(columns[:j + 1])) for j in range(len(columns))]
    rows = data.reset_index(drop=True)
    levels, nested = build_levels(terms, rows, formula)
    model = _model(fixed_design, levels, nested)
    top, bottom = levels[0], levels[-1]
    n12 = bottom.sizes[_in_row_order(bottom.index)]
    if len(levels) == 1:
        return LRFrame(model.y, model.X, n12, None, None, fixed_design.x_names, n_dropped, model,
                       rows)
    units = _in_row_order(top.index)
    n23 = np.bincount(bottom.parent, minlength=top.n_groups)[units]
    return LRFrame(model.y, model.X, n12, top.sizes[units], n23, fixed_design.x_names,
                   n_dropped, model, rows)


def _model(fixed_design, levels, nested):
    """The quadrature engine's model: Bernoulli logit, identity covariance at each level."""
    family = bernoulli_glmm
    y, X = np.asarray(fixed_design.y, dtype=float), np.asarray(fixed_design.X, dtype=float)
    ntrials = np.ones(len(y))
    return MEModel(y, ntrials, np.zeros(len(y)), X, family, levels,
                   tuple(Identity(lev.d) for lev in levels),
                   0, nested, joint_z(levels), float(family.constant(y, ntrials).sum()))


def _in_row_order(index):
    """The groups (codes of ``index`` (n,)) in the order of their first row."""
    return pd.unique(index)


def _n_units(lr_frame):
    """Units at each level: (n, J) or (n, J, C)."""
    counts = (len(lr_frame.y), len(lr_frame.n12))
    return counts if lr_frame.n23 is None else counts + (len(lr_frame.n23),)
