"""Results: what users read (tables, printing, stored values)."""
from .glmm import GLMMResults, GLMMSummary
