"""Response and fixed-effects design from a patsy formula.

A binomial response with trials is written ``cbind(successes, failures) ~ ...``
as in R; ``cbind`` and ``np`` are provided to the formula's environment, the rest of
it is the caller's namespace (``design.evaluate``).  Collinear columns of X are omitted
with Stata's note (``design.degenerate.drop_collinear``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exceptions import DesignError, FormulaError, bad_value
from .degenerate import drop_collinear
from .evaluate import dmatrices


@dataclass(frozen=True)
class FixedPart:
    """y: (n,) successes or response; ntrials: (n,); X: (n, p); x_names: p column names;
    omitted: names of the collinear columns dropped from X."""

    y: np.ndarray
    ntrials: np.ndarray
    X: np.ndarray
    x_names: tuple
    response_columns: int
    design_info: object
    omitted: tuple = ()


def _two_level_factor_as_indicator(Y):
    """A factor response becomes the indicator of its second level (R glm's rule)."""
    info = Y.design_info
    factors = [f for t in info.terms for f in t.factors]
    if len(factors) == 1 and info.factor_infos[factors[0]].type == "categorical":
        levels = info.factor_infos[factors[0]].categories
        if len(levels) != 2:
            raise FormulaError(bad_value("a factor response", "two levels (the second counts as 1)",
                                         list(levels)))
        return np.asarray(Y, dtype=float)[:, 1:]
    return np.asarray(Y, dtype=float)


def _check_finite(what, values, names):
    """Raise a DesignError naming the first column of ``values`` (n,) or (n, k) with inf."""
    values = np.asarray(values, dtype=float).reshape(len(values), -1)
    bad = ~np.isfinite(values)
    if bad.any():
        column = int(np.argmax(bad.any(axis=0)))
        raise DesignError(bad_value(f"{what} ({names[column]})", "finite in every row",
                                    values[bad[:, column], column][:5].tolist()))


def fixed_layout(design_info, omitted):
    """((patsy name, status), ...) for every column of the formula's model matrix in order:
    status "" (estimated), "omitted" (a name in ``omitted``) or "base", the base level of a
    one-factor categorical term with treatment coding (``C(x)[T.a]``), placed before the
    term's columns (Stata's baselevels rows).  Interactions get no base rows."""
    out = []
    omitted = set(omitted)
    for term, columns in design_info.term_slices.items():
        names = design_info.column_names[columns]
        out += _base_level(design_info, term, names)
        out += [(n, "omitted" if n in omitted else "") for n in names]
    return tuple(out)


def _base_level(design_info, term, names):
    """[(name of the base level's column, "base")] of a treatment-coded factor, or []."""
    factors = getattr(term, "factors", ())
    if len(factors) != 1 or design_info.factor_infos[factors[0]].type != "categorical":
        return []
    if not all("[T." in n and n.endswith("]") for n in names):
        return []
    shown = {n.rsplit("[T.", 1)[1][:-1] for n in names}
    base = [c for c in design_info.factor_infos[factors[0]].categories if str(c) not in shown]
    if len(base) != 1:
        return []
    return [(names[0].rsplit("[T.", 1)[0] + f"[T.{base[0]}]", "base")]


def fixed_part(formula, data, collinear=False):
    """Evaluate ``formula`` (two-sided) on complete-case ``data``.

    Returns the response (first column of a ``cbind``), the number of trials
    (row sums of a ``cbind``, else ones) and the patsy model matrix, without its collinear
    columns unless ``collinear`` (Stata's option: keep them).
    """
    if not isinstance(formula, str) or "~" not in formula:
        raise FormulaError(bad_value("fixed", 'a two-sided formula string such as "y ~ x"', formula))
    Y, X = dmatrices(formula, data, "fixed formula")
    Y = _two_level_factor_as_indicator(Y)
    if Y.shape[1] == 1:
        y, ntrials = Y[:, 0], np.ones(len(Y))
    else:
        y, ntrials = Y[:, 0], Y.sum(axis=1)
    _check_finite("the response", y, ["response"])
    _check_finite("the fixed-effects design", np.asarray(X), X.design_info.column_names)
    Xk, names, omitted = np.asarray(X, dtype=float), tuple(X.design_info.column_names), ()
    if not collinear:
        Xk, names, omitted = drop_collinear(Xk, names)
    return FixedPart(y=y, ntrials=ntrials, X=Xk, x_names=names, response_columns=Y.shape[1],
                     design_info=X.design_info, omitted=omitted)
