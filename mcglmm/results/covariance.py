"""Covariance of the estimates from the Hessian of the log likelihood (one place for all fronts)."""
import warnings

import numpy as np

from ..exceptions import HessianWarning


def covariance_from_hessian(hess, advice, stacklevel=3):
    """(-hess)^{-1} (P, P) by Cholesky.

    NaN, with a HessianWarning that ends in ``advice``, unless -hess is positive
    definite: standard errors from an indefinite Hessian would be meaningless.
    """
    information = -np.asarray(hess, dtype=float)
    try:
        factor = np.linalg.cholesky(information)
    except np.linalg.LinAlgError:
        warnings.warn("the Hessian at the estimate is not negative definite; standard errors are "
                      f"NaN. {advice}", HessianWarning, stacklevel=stacklevel)
        return np.full_like(information, np.nan)
    inverse_factor = np.linalg.inv(factor)
    return inverse_factor.T @ inverse_factor
