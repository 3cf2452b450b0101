"""The design room: formulas and data frames in, arrays out.

Nothing downstream of this package looks at a DataFrame or a formula string.
``fixed`` builds the response and fixed-effects matrix (patsy), ``glmm_terms``
builds R glmm's random-effects design (a list of one-sided formulas, each a
sparse block of Z), ``missing`` decides which rows are complete.  ``evaluate``
runs patsy in the caller's namespace and turns its errors into FormulaErrors
naming the term; ``degenerate`` finds designs without a finite MLE (constant
responses, separation) and omits collinear columns.
"""
from .evaluate import cbind
from .fixed import FixedPart, fixed_part
from .missing import complete_rows
from .glmm_terms import GLMMDesign, glmm_design, random_block

__all__ = ["FixedPart", "fixed_part", "cbind", "complete_rows", "GLMMDesign",
           "glmm_design", "random_block"]
