"""Monte Carlo covariance of the MCMLE: the sandwich U^-1 V U^-1.

theta_m - theta^ ~ -U^-1 grad l_m(theta^), so the Monte Carlo covariance is
U^-1 Var(grad l_m) U^-1 with U the Hessian.  The gradient is a sum over
independent blocks of self-normalised importance-sampling means, whose variance
(delta method) is estimated by

    V = sum_b sum_k v_bk^2 (g_bk - gbar_b)(g_bk - gbar_b)',

each block's scores centred within the block: a block's mean score gbar_b is not
zero at the MCMLE, only their sum is.  With one block (R glmm's joint MCLA) and at
the MCMLE this is glmm's V / m = sum_k v_k^2 g_k g_k'.  ``Evaluation.v2`` holds V.
Its calibration against the seed-to-seed spread (of the gradient at a fixed theta and of
the MCMLE) is measured by benchmarks/mcla_calibration.py.
"""
from __future__ import annotations

import numpy as np


def mc_vcov(evaluation):
    """Monte Carlo covariance of the MCMLE (P, P): U^-1 V U^-1 at ``evaluation``."""
    Uinv = np.linalg.inv(evaluation.hessian)
    return Uinv @ evaluation.v2 @ Uinv
