"""Mode-curvature adaptive Gauss-Hermite quadrature over all random effects of a crossed model.

A crossed model's random effects u (q,) (``design.levels.joint_z`` order) do not factor by
group, so the integral is taken over the joint block: with u^ the joint mode of

    g(u) = sum_i log f(y_i | eta0_i + Z_i u) - 1/2 u'Pu + 1/2 log|P| - q/2 log 2 pi

(P = blockdiag of each level's Sigma^-1, one block per group) and K = Z'WZ + P its
curvature there (``laplace.mode_and_curvature``), the nodes are u_j = u^ + C z_j with
C C' = K^-1 (C lower triangular) and z_j the k^q-point product rule for N(0, I_q)
(``nodes.product_rule``, log weights a_j):

    l(theta) = logsumexp_j T_j + log|C| + const,
    T_j = sum_i log f(y_i | eta_ij) - 1/2 u_j'Pu_j + 1/2 z_j'z_j + a_j,
    1/2 log|P| = -1/2 sum_l G_l log|Sigma_l|,

exactly the nested rule's form with one "group" holding every effect; with k = 1 it is the
Laplace approximation.  With (u^, C) held fixed (the optimiser's refresh), and
pi_j = softmax_j T_j,

    d/dbeta = X' (d1 pi),   d/daux = sum_ij pi_j ll_a,ij,
    d/dpsi_l = 1/2 tr[(S^-1 M S^-1 - G S^-1) dS],  M = sum_j pi_j sum_{g in l} u_gj u_gj'.

The node array is n x k^q: meglm's work bound (``_checks.quadrature_work``) refuses rules
that do not fit, so this is for small crossed designs (a few factor levels).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp, softmax

from ...model.params import sigmas, unpack
from ...model.spec import aux_gradient, linear_predictor
from ..base import Evaluation
from .laplace import mode_and_curvature
from .nodes import product_rule


@dataclass(frozen=True)
class JointAdapt:
    """Centre mu (q,) and lower-triangular scale C (q, q) of the joint nodes."""

    mu: np.ndarray
    C: np.ndarray


def joint_adapt(model, theta, u0=None):
    """(JointAdapt at the joint mode and curvature, the mode); None for the adaptation of an
    infeasible theta (h not finite, or K not positive definite)."""
    u, _, K, _ = mode_and_curvature(model, theta, u0)
    if K is None:
        return None, u
    try:
        C = np.linalg.cholesky(np.linalg.inv(K.toarray()))
    except np.linalg.LinAlgError:
        return None, u
    return JointAdapt(u, C), u


def joint_aghq(model, theta, adapt, k):
    """Evaluation (value, gradient) of the k^q-point joint rule with ``adapt`` held fixed."""
    beta, aux, psis = unpack(model, theta)
    covs = sigmas(model, psis)
    z, a = product_rule(k, len(adapt.mu))
    u = adapt.mu[None] + z @ adapt.C.T                                  # (N, q)
    eta = linear_predictor(model, beta)[:, None] + (model.Zj @ u.T)     # (n, N)
    der = model.family.derivs(model.y[:, None], model.ntrials[:, None], eta, aux, full=False)
    quad, logdet, blocks, start = np.zeros(len(a)), 0.0, [], 0
    for lev, (S, _) in zip(model.levels, covs):
        G, d = lev.n_groups, lev.d
        ug = u[:, start:start + G * d].reshape(len(a), G, d)
        quad += np.einsum("jga,ab,jgb->j", ug, np.linalg.inv(S), ug)
        logdet += G * np.linalg.slogdet(S)[1]
        blocks.append(ug)
        start += G * d
    T = der.ll.sum(axis=0) - 0.5 * quad + 0.5 * np.einsum("jq,jq->j", z, z) + a
    value = (float(logsumexp(T)) + float(np.log(np.diag(adapt.C)).sum()) - 0.5 * logdet
             + model.ll_const)
    pi = softmax(T)
    pi_obs = np.broadcast_to(pi[None], eta.shape)
    g_psi = [cov.score(psi, np.einsum("j,jga,jgb->ab", pi, ug, ug), lev.n_groups)
             for cov, psi, lev, ug in zip(model.covariances, psis, model.levels, blocks)]
    grad = np.concatenate([model.X.T @ (der.d1 @ pi), aux_gradient(der.aux, pi_obs, model.n_aux)]
                          + g_psi)
    return Evaluation(value, grad)


__all__ = ["JointAdapt", "joint_adapt", "joint_aghq"]
