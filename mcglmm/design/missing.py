"""Missing-value handling: rows with a missing value in any used variable are dropped."""
import numpy as np
import pandas as pd

from ..exceptions import DesignError, FormulaError, bad_value
from .evaluate import formula_variables


def complete_rows(data, formulas, extra=()):
    """Boolean mask (n,) of rows complete in every variable the formulas use.

    ``extra`` holds further column names (weights, grouping variables) that must
    be present too.  A DesignError when no row is complete.
    """
    used = set(extra)
    for f in formulas:
        used |= formula_variables(f, data)
    missing = [c for c in extra if c not in data.columns]
    if missing:
        raise FormulaError(f"data has no column {missing[0]!r}; columns are {list(data.columns)}.")
    if not used:
        keep = np.ones(len(data), dtype=bool)
    else:
        missing = pd.isna(data[sorted(used)])
        keep = ~missing.any(axis=1).to_numpy()
    if not keep.any():
        worst = [] if not used else list(missing.sum().sort_values(ascending=False).index[:3])
        raise DesignError(bad_value("data", "at least one row complete in every used variable",
                                    f"{len(keep)} rows, none complete (most missing: {worst})"))
    return keep
