"""Centring and scaling of the fixed-effects columns, and the map back to the user's scale.

The optimisers work on X_s = (X - 1 c') D^-1 (n, p): each column j other than the
intercept is centred at its mean c_j (only when X has an intercept column, which
absorbs the shift) and divided by its spread s_j (the standard deviation when
centred, else the root mean square; 1 for a column that is constant or zero).  The
intercept column stays as it is.  X beta = X_s beta_s for

    beta = T beta_s,   T = D^-1 - e_0 (c / s)'     (e_0 the intercept's unit vector),

so beta_j = beta_s,j / s_j and beta_0 = beta_s,0 - sum_j c_j beta_s,j / s_j; and back,
beta_s,j = s_j beta_j, beta_s,0 = beta_0 + sum_j c_j beta_j.  A parameter vector theta
(dim,) whose first p entries are beta maps by A = blockdiag(T, I): theta = A theta_s,
so a gradient maps by A^-T, a Hessian H = A^-T H_s A^-1, a covariance V = A V_s A',
scores (G, dim) by S_s A^-1, and linear constraints R theta = r become (R A) theta_s = r
with the null-space basis K_s = A^-1 K (the same free coordinates gamma).  The
log likelihood is unchanged, so Newton's iterates (affine-invariant) correspond one to
one; a covariate in units of 1e8 no longer makes the Hessian's entries differ by 1e16.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class ColumnScaling:
    """center (p,) subtracted, scale (p,) divided; intercept: the column index or None."""

    center: np.ndarray
    scale: np.ndarray
    intercept: int | None

    @classmethod
    def of(cls, X):
        """The scaling of X (n, p): centred when a column is constant one, see the module."""
        X = np.asarray(X, dtype=float)
        p = X.shape[1]
        ones = [j for j in range(p) if len(X) and np.all(X[:, j] == 1.0)]
        intercept = ones[0] if ones else None
        if intercept is None:
            center = np.zeros(p)
            spread = np.sqrt(np.mean(X * X, axis=0)) if len(X) else np.ones(p)
        else:
            center = X.mean(axis=0)
            center[intercept] = 0.0
            spread = X.std(axis=0)
        ok = np.isfinite(spread) & (spread > 0)
        if intercept is not None:
            ok[intercept] = False
        scale = np.where(ok, spread, 1.0)
        center = np.where(ok, center, 0.0)
        return cls(center, scale, intercept)

    @classmethod
    def identity(cls, p):
        """No transformation (user-supplied inputs that must be used exactly as given)."""
        return cls(np.zeros(p), np.ones(p), None)

    @property
    def p(self):
        return len(self.scale)

    def apply(self, X):
        """X_s (n, p)."""
        return (np.asarray(X, dtype=float) - self.center) / self.scale

    def T(self):
        """(p, p): beta = T beta_s."""
        T = np.diag(1.0 / self.scale)
        if self.intercept is not None:
            T[self.intercept] -= self.center / self.scale
        return T

    def A(self, dim):
        """(dim, dim) blockdiag(T, I): theta = A theta_s."""
        A = np.eye(dim)
        A[:self.p, :self.p] = self.T()
        return A

    def A_inv(self, dim):
        """(dim, dim): theta_s = A^-1 theta."""
        Ti = np.diag(self.scale)
        if self.intercept is not None:
            Ti[self.intercept] += self.center
        out = np.eye(dim)
        out[:self.p, :self.p] = Ti
        return out

    def to_user(self, theta_s):
        """theta (dim,) from theta_s."""
        theta_s = np.asarray(theta_s, dtype=float)
        return self.A(len(theta_s)) @ theta_s

    def to_internal(self, theta):
        """theta_s (dim,) from theta."""
        theta = np.asarray(theta, dtype=float)
        return self.A_inv(len(theta)) @ theta

    def gradient_to_user(self, g_s):
        """A^-T g_s (dim,), or per row for scores (G, dim)."""
        g_s = np.asarray(g_s, dtype=float)
        Ai = self.A_inv(g_s.shape[-1])
        return g_s @ Ai

    def hessian_to_user(self, H_s):
        """A^-T H_s A^-1 (dim, dim)."""
        Ai = self.A_inv(len(H_s))
        return Ai.T @ H_s @ Ai

    def covariance_to_user(self, V_s):
        """A V_s A' (dim, dim)."""
        A = self.A(len(V_s))
        return A @ V_s @ A.T

    def constraints(self, cns):
        """Constraints R theta = r (any object with fields R (m, dim) and K (dim, k)) on the
        internal scale: R A and A^-1 K; None stays None."""
        if cns is None:
            return None
        dim = cns.R.shape[1]
        return replace(cns, R=cns.R @ self.A(dim), K=self.A_inv(dim) @ cns.K)

    def result_to_user(self, fit, constrained=False):
        """An optimiser result (fields x, grad, hess) on the user's scale; with constraints
        grad and hess are in the free coordinates gamma, which the map leaves alone."""
        x = self.to_user(fit.x)
        if constrained:
            return replace(fit, x=x)
        return replace(fit, x=x, grad=self.gradient_to_user(fit.grad),
                       hess=self.hessian_to_user(fit.hess))


__all__ = ["ColumnScaling"]
