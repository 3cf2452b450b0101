"""Results: what users read (tables, printing, stored values), every front through one
contract (``base.FitResults``): params, cov_params(), bse, llf, nobs, converged, warnings,
conf_int(level), df_model, aic, bic, to_frame()."""
from .base import FitResults
from .lr import LRFit, LRSummary
from .glmm import GLMMResults, GLMMSummary
from .meglm import MEGLMResults

__all__ = ["FitResults", "GLMMResults", "GLMMSummary", "LRFit", "LRSummary", "MEGLMResults"]
