"""Results of lr2 / lr3: printing, summary and coef in the style of Rodriguez's notes.

Standard errors come from the analytic Hessian H of the GHQ log likelihood in
theta = (beta, log sigma): cov(theta) = (-H)^{-1}.  The sigma rows use the
delta method, se(sigma) = sigma se(log sigma), as the notes do.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..exceptions import BoundaryWarning, ConvergenceWarning
from .covariance import covariance_from_hessian

_LINE_WIDTH = 80
BOUNDARY_SIGMA = 1e-3  # below this a sigma is reported as at its boundary, 0
LR_ADVICE = "Try more quadrature points or other starting values."


def log_sigma_names(levels):
    """("log(sigma)",) for two levels, ("log(sigma2)", "log(sigma3)") for three."""
    return ("log(sigma)",) if levels == 2 else ("log(sigma2)", "log(sigma3)")


@dataclass(frozen=True)
class LRSummary:
    """The notes' summary: header lines and a table with columns Coef, Std. Error, t value."""

    header: str
    table: pd.DataFrame

    def __str__(self):
        return self.header + "\n" + self.table.to_string(float_format=lambda v: f"{v:.8g}")

    __repr__ = __str__


@dataclass(frozen=True)
class LRFit:
    """A fitted lr2/lr3 model.

    theta: (P,) estimates of (beta, log sigma...); cov: (P, P) their covariance;
    gradient: (P,) at the estimate; n_units: (n, J) or (n, J, C) units per level.
    """

    formula: str
    x_names: tuple
    theta: np.ndarray
    cov: np.ndarray
    loglik: float
    gradient: np.ndarray
    n_units: tuple
    quad_pts: int
    converged: bool
    n_iter: int
    message: str
    n_dropped: int

    @classmethod
    def from_maximum(cls, maximum, formula, x_names, n_units, quad_pts, n_dropped):
        """Build from an ``optim.result.OptimizeResult`` (x, value, grad, hess, converged, nit,
        message); warns if it did not converge or a sigma is at its boundary."""
        if not maximum.converged:
            warnings.warn(f"the optimiser stopped before converging after {maximum.nit} "
                          f"iterations ({maximum.message}; max |gradient| "
                          f"{np.abs(maximum.grad).max():.3g}). Refit from this fit's coef() with "
                          "beta= and sigma=.", ConvergenceWarning, stacklevel=4)
        sigma = np.exp(maximum.x[len(x_names):])
        if np.any(sigma < BOUNDARY_SIGMA):
            warnings.warn(f"sigma = {sigma.tolist()}: a standard deviation is at its boundary, 0 "
                          "(log(sigma) drifts to -inf); its standard error is meaningless. A model "
                          "without that level fits as well.", BoundaryWarning, stacklevel=4)
        return cls(formula=formula, x_names=tuple(x_names), theta=maximum.x,
                   cov=covariance_from_hessian(maximum.hess, LR_ADVICE),
                   loglik=maximum.value, gradient=maximum.grad,
                   n_units=tuple(int(n) for n in n_units), quad_pts=quad_pts,
                   converged=maximum.converged, n_iter=maximum.nit, message=maximum.message,
                   n_dropped=n_dropped)

    @property
    def levels(self):
        return len(self.n_units)

    @property
    def param_names(self):
        """Names of theta: the fixed effects, then log(sigma) per random level."""
        return self.x_names + log_sigma_names(self.levels)

    @property
    def sigma_names(self):
        return ("sigma",) if self.levels == 2 else ("sigma2", "sigma3")

    @property
    def sigma(self):
        """exp(log sigma), one per random level (Series)."""
        return pd.Series(np.exp(self.theta[len(self.x_names):]), index=list(self.sigma_names))

    @property
    def params(self):
        """Every printed estimate: beta, log(sigma)..., sigma... (Series)."""
        return pd.concat([pd.Series(self.theta, index=list(self.param_names)), self.sigma])

    @property
    def bse(self):
        """Standard errors of ``params``; sigma's by the delta method (Series)."""
        se_theta = np.sqrt(np.diag(self.cov))
        se_sigma = self.sigma.to_numpy() * se_theta[len(self.x_names):]
        return pd.Series(np.concatenate([se_theta, se_sigma]), index=self.params.index)

    def coef(self, beta=True, sigma=True):
        """The notes' coef(object, beta=T, sigma=T): fixed effects and/or sigmas (not logs)."""
        parts = ([pd.Series(self.theta[:len(self.x_names)], index=list(self.x_names))]
                 if beta else []) + ([self.sigma] if sigma else [])
        return pd.concat(parts) if parts else pd.Series(dtype=float)

    def _header(self):
        return (f"{self.levels}-level logit model\n"
                f"observations:  {' '.join(str(n) for n in self.n_units)}\n"
                f"logL =  {self.loglik:.10g}")

    def summary(self):
        """Coef, Std. Error and t value for beta, each log(sigma) and each sigma."""
        table = pd.DataFrame({"Coef": self.params, "Std. Error": self.bse})
        table["t value"] = table["Coef"] / table["Std. Error"]
        return LRSummary(self._header(), table)

    def __str__(self):
        return self._header() + "\n" + "\n".join(named_vector_lines(self.params))

    __repr__ = __str__


def named_vector_lines(values, width=_LINE_WIDTH):
    """R's print of a named vector: names over right-aligned values, wrapped at ``width``."""
    cells = [(str(name), f"{value:.7g}") for name, value in values.items()]
    lines, names_line, values_line = [], "", ""
    for name, text in cells:
        cell = max(len(name), len(text)) + 1
        if names_line and len(names_line) + cell > width:
            lines += [names_line, values_line]
            names_line, values_line = "", ""
        names_line += name.rjust(cell)
        values_line += text.rjust(cell)
    return lines + [names_line, values_line]
