"""The model without random effects (Stata's comparison model): theta = [beta, aux].

With c_o the cumulative observation weights (``design.weights``; ones when unweighted),

    loglik = sum_i c_o,i log f(y_i | eta_i, aux) + ll_const,   eta = X beta + offset,
    d/dbeta = X' (c_o d1),   d/daux = sum_i c_o,i ll_a,i,
    d2/dbeta dbeta' = X' diag(c_o d2) X

(d1, d2 the family's derivatives of log f in eta).  The exact Hessian is given for
families without auxiliary parameters; with them the optimiser differences the gradient.
"""
from __future__ import annotations

import numpy as np

from ..model.spec import aux_gradient, cumulative_weights, linear_predictor


def loglik(model, theta_fixed):
    """(log likelihood, gradient (p + a,)) at theta = [beta, aux]; a non-finite value is -inf."""
    beta, aux = theta_fixed[:model.p], theta_fixed[model.p:]
    w = cumulative_weights(model)[1]
    der = model.family.derivs(model.y, model.ntrials, linear_predictor(model, beta), aux,
                              full=False)
    g_aux = aux_gradient(der.aux, w, model.n_aux)
    value = float(w @ der.ll) + model.ll_const
    return ((value if np.isfinite(value) else -np.inf),
            np.concatenate([model.X.T @ (w * der.d1), g_aux]))


def hessian(model, theta_fixed):
    """X' diag(c_o d2) X (p, p): the exact Hessian of ``loglik`` for a family without aux."""
    eta = linear_predictor(model, theta_fixed[:model.p])
    d2 = (model.family.derivs(model.y, model.ntrials, eta, (), third=False).d2
          * cumulative_weights(model)[1])
    return model.X.T @ (d2[:, None] * model.X)


def has_exact_hessian(model):
    """Whether ``hessian`` is the whole Hessian (no auxiliary parameters)."""
    return model.n_aux == 0


__all__ = ["loglik", "hessian", "has_exact_hessian"]
