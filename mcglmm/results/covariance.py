"""Covariance of the estimates from the Hessian of the log likelihood: one policy, all fronts.

With H the Hessian at the estimate, the covariance is the inverse observed information
(-H)^{-1}, computed from the Cholesky factor -H = L L' as L^{-T} L^{-1}.  When -H is not
positive definite (the factorisation fails, or H holds a non-finite entry) the covariance
is NaN and a HessianWarning says so: standard errors from an indefinite Hessian would be
meaningless, and Stata, too, reports them as missing.  ``cluster_sandwich`` and
``opg_covariance`` build vce(robust/cluster) and vce(opg) from per-group scores
(``optim.techniques.outer_product``, shared with BHHH).
"""
import warnings

import numpy as np

from ..exceptions import HessianWarning
from ..optim.techniques import outer_product


def information_factor(hess):
    """Cholesky factor L (P, P) of -hess = L L', or None if -hess is not positive definite."""
    information = -np.asarray(hess, dtype=float)
    if not np.all(np.isfinite(information)):
        return None
    try:
        return np.linalg.cholesky(information)
    except np.linalg.LinAlgError:
        return None


def not_negative_definite(advice):
    """The HessianWarning's message, ending in ``advice``."""
    return ("the Hessian at the estimate is not negative definite; standard errors are NaN. "
            f"{advice}")


def covariance_from_hessian(hess, advice, stacklevel=3):
    """(-hess)^{-1} (P, P), or NaN (P, P) with a HessianWarning ending in ``advice``."""
    factor = information_factor(hess)
    if factor is None:
        warnings.warn(not_negative_definite(advice), HessianWarning, stacklevel=stacklevel)
        return np.full(np.shape(hess), np.nan)
    inverse_factor = np.linalg.inv(factor)
    return inverse_factor.T @ inverse_factor


def cluster_sandwich(bread, scores, clusters):
    """Cluster-robust covariance with Stata's small-sample factor c/(c-1):

        V = c/(c-1) A (sum_c s_c s_c') A,   s_c = the sum of the scores in cluster c,

    bread A (dim, dim); scores (G, dim), one row per top-level group; clusters: ((G,)
    cluster index of each group, c the number of clusters).
    """
    index, c = clusters
    summed = np.zeros((c, scores.shape[1]))
    np.add.at(summed, index, scores)
    return bread @ (summed.T @ summed) @ bread * c / (c - 1)


def opg_covariance(scores, K, stacklevel=3):
    """Stata's vce(opg): K (K' S K)^{-1} K' (dim, dim), S = ``optim.techniques.outer_product(scores)``
    of scores (G, dim) in theta = theta_c + K gamma (K (dim, k), None for the identity).
    NaN with a HessianWarning when K'SK is not positive definite, as whenever G <= k: at the
    maximum the G scores sum to 0, so S has rank at most G - 1."""
    S = outer_product(scores)
    info = S if K is None else K.T @ S @ K
    factor = information_factor(-info) if scores.shape[0] > info.shape[0] else None
    if factor is None:
        warnings.warn(f"the outer product of the {scores.shape[0]} groups' scores is singular "
                      f"for {info.shape[0]} parameters; vce(opg) standard errors are NaN. "
                      "Use vce='oim'.", HessianWarning, stacklevel=stacklevel)
        return np.full(S.shape, np.nan)
    inverse_factor = np.linalg.inv(factor)
    V = inverse_factor.T @ inverse_factor
    return V if K is None else K @ V @ K.T
