"""Missing-value handling: rows with a missing value in any used variable are dropped."""
import numpy as np
import pandas as pd
import patsy

from ..exceptions import FormulaError


def formula_variables(formula, data):
    """Names of the columns of ``data`` that a patsy formula refers to (LHS and RHS)."""
    desc = patsy.ModelDesc.from_formula(formula)
    used = set()
    for term in list(desc.lhs_termlist) + list(desc.rhs_termlist):
        for factor in term.factors:
            code = factor.name()
            for token in patsy.tokens.python_tokenize(code):
                if token[1] in data.columns:
                    used.add(token[1])
    return used


def complete_rows(data, formulas, extra=()):
    """Boolean mask (n,) of rows complete in every variable the formulas use.

    ``extra`` holds further column names (weights, grouping variables) that must
    be present too.
    """
    used = set(extra)
    for f in formulas:
        used |= formula_variables(f, data)
    missing = [c for c in extra if c not in data.columns]
    if missing:
        raise FormulaError(f"data has no column {missing[0]!r}; columns are {list(data.columns)}.")
    if not used:
        return np.ones(len(data), dtype=bool)
    return ~pd.isna(data[sorted(used)]).any(axis=1).to_numpy()
