"""Results: what users read (tables, printing, stored values)."""
from .lr import LRFit, LRSummary
from .glmm import GLMMResults, GLMMSummary
from .meglm import MEGLMResults

__all__ = ["GLMMResults", "GLMMSummary", "LRFit", "LRSummary", "MEGLMResults"]
