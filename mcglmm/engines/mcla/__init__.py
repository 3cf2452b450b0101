"""The MCLA engine: PQL start, importance samplers, the Monte Carlo objective and its MCSE.

``pql`` gives glmm's starting values; ``sampler`` builds R glmm's joint mixture and the
per-block proposals; ``objective`` evaluates the (per-block) Monte Carlo log likelihood,
gradient and Hessian; ``mcse`` the Monte Carlo covariance of the MCMLE.
"""
from .objective import Evaluation, MCLAObjective
from .mcse import mc_vcov
from .pql import PQLStart, pql_start
from .sampler import SamplerInputs, build_sampler

__all__ = ["Evaluation", "MCLAObjective", "mc_vcov", "PQLStart", "pql_start", "SamplerInputs",
           "build_sampler"]
