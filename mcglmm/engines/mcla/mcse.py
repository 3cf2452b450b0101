"""Monte Carlo covariance of the MCMLE (the sandwich U^-1 V U^-1 / m)."""
from __future__ import annotations

import numpy as np


def mc_vcov(evaluation):
    """Monte Carlo covariance of the MCMLE: U^-1 V U^-1 / m = U^-1 (sum v_k^2 g_k g_k') U^-1."""
    Uinv = np.linalg.inv(evaluation.hessian)
    return Uinv @ evaluation.v2 @ Uinv
