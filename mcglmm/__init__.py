"""mcglmm: maximum likelihood for generalized linear mixed models.

Two engines over one model description: Monte Carlo likelihood approximation
(``glmm``, R glmm's interface) and deterministic quadrature (``meglm``, Stata's
models; ``lr2``/``lr3``).
"""
from . import datasets
from .exceptions import (ArgumentError, ArgumentTypeError, BoundaryWarning, ConvergenceWarning,
                         DesignError, DesignWarning, FormulaError, HessianWarning, MCGLMMError,
                         MCGLMMWarning, MonteCarloWarning, WorkerLostError,
                         WorkTooLargeError)
from .model.families import bernoulli_glmm, binomial_glmm, poisson_glmm
from .api.glmm import glmm
from .engines.mcla import SamplerInputs
from .results.base import coef, confint, loglik, se, summary, vcov
from .results.glmm import mcse, mcvcov, varcomps
from .api.lr import lr2, lr3

__version__ = "0.1.0"

__all__ = ["glmm", "SamplerInputs", "coef", "confint", "loglik", "mcse", "mcvcov", "se",
           "summary", "varcomps", "vcov", "datasets", "bernoulli_glmm", "binomial_glmm", "poisson_glmm",
           "MCGLMMError", "FormulaError", "DesignError", "MCGLMMWarning",
           "ConvergenceWarning", "HessianWarning", "BoundaryWarning", "MonteCarloWarning"]
__all__ += ["lr2", "lr3"]
__all__ += ["ArgumentError", "ArgumentTypeError", "DesignWarning", "WorkTooLargeError",
            "WorkerLostError"]
from .api.meglm import meglm
__all__ += ["meglm"]
from .results.comparison import estat_ic, lrtest
__all__ += ["lrtest", "estat_ic"]
from .results.wald import lincom, nlcom, test
__all__ += ["lincom", "nlcom", "test"]
