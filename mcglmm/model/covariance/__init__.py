"""Covariance structures of one level's random effects, u_g ~ N(0, Sigma(psi)), d x d.

One class per structure, one instance per level (``Independent(d)``, ...).
Unconstrained parameters psi (Stata's internal scale):

    independent   psi_j = log sd_j               Sigma = diag(exp(2 psi))
    identity      psi   = log sd                 Sigma = exp(2 psi) I
    exchangeable  psi   = (log sd, atanh rho)    Sigma = sd^2 ((1 - rho) I + rho 1 1')
    unstructured  psi   = lower triangle of L, diagonal on the log scale, Sigma = L L'

(exchangeable with d = 1 is identity).  ``sigma_and_grad(psi)`` returns Sigma and
dSigma/dpsi (r, d, d).  The score of G groups' effects with posterior second moments
M = sum_g E[u_g u_g'] is

    dl/dpsi_r = 1/2 tr[(Sigma^-1 M Sigma^-1 - G Sigma^-1) dSigma/dpsi_r].

Reported parameters are entries of Sigma: var(z_j) on the diagonal, cov(z_j,z_k) below.

``restricted``: Stata's fixed(matname) and pattern(matname) (``Fixed``, ``Pattern``) and
any structure under constraints on its variance components (``Restricted``) have
Sigma = F + sum_r v_r E_r, fixed entries F and one value v_r per class of tied entries
(exp(2 psi_r) for variances, psi_r for covariances).  ``levels``: covariance= and
constraints= turned into one structure per level.
"""
from __future__ import annotations

from .levels import (COVARIANCES, DEFAULT, MATRIX_COVARIANCES, admissible, constraint_terms,
                     get_covariance, per_level)
from .restricted import Fixed, Pattern, Restricted, restricted
from .structures import (LOG_SD_MIN, Covariance, Exchangeable, Identity, Independent,
                         Unstructured)

__all__ = ["COVARIANCES", "DEFAULT", "LOG_SD_MIN", "MATRIX_COVARIANCES", "Covariance",
           "Exchangeable", "Fixed", "Identity", "Independent", "Pattern", "Restricted",
           "Unstructured", "admissible", "constraint_terms", "get_covariance", "per_level",
           "restricted"]
