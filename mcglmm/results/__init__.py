"""Results: what users read (tables, printing, stored values)."""
from .base import FitResults
from .lr import LRFit, LRSummary
from .glmm import GLMMResults, GLMMSummary
from .meglm import MEGLMResults

__all__ = ["FitResults", "GLMMResults", "GLMMSummary", "LRFit", "LRSummary", "MEGLMResults"]
