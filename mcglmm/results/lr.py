"""Results of lr2 / lr3: printing, summary and coef in the style of Rodriguez's notes.

Standard errors come from the analytic Hessian H of the GHQ log likelihood in
theta = (beta, log sigma): cov(theta) = (-H)^{-1}.  The sigma rows use the
delta method, se(sigma) = sigma se(log sigma), as the notes do.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..exceptions import BoundaryWarning, ConvergenceWarning
from .base import FitResults, FitWarnings
from .covariance import covariance_from_hessian
from .diagnostics import boundary_messages
from .format import html_summary
from .postestimation import Postestimation

_LINE_WIDTH = 80
LR_ADVICE = "Try more quadrature points or other starting values."


def log_sigma_names(levels):
    """("log(sigma)",) for two levels, ("log(sigma2)", "log(sigma3)") for three."""
    return ("log(sigma)",) if levels == 2 else ("log(sigma2)", "log(sigma3)")


def sigma_names(levels):
    """("sigma",) for two levels, ("sigma2", "sigma3") for three."""
    return ("sigma",) if levels == 2 else ("sigma2", "sigma3")


@dataclass(frozen=True)
class LRSummary:
    """The notes' summary: header lines and a table with columns Coef, Std. Error, t value."""

    header: str
    table: pd.DataFrame

    def __str__(self):
        return self.header + "\n" + self.table.to_string(float_format=lambda v: f"{v:.8g}")

    __repr__ = __str__

    def _repr_html_(self):
        return html_summary(self.header.splitlines(), [("", self.table)])


@dataclass(frozen=True, repr=False, eq=False)
class LRFit(FitResults, Postestimation):
    """A fitted lr2/lr3 model.

    theta: (P,) estimates of (beta, log sigma...); cov: (P, P) their covariance;
    gradient: (P,) at the estimate; n_units: (n, J) or (n, J, C) units per level;
    group_names: the id columns of levels 2 (and 3).  The contract of ``results.base``
    has params = (beta, log sigma..., sigma...), llf = ``loglik``, nobs = n.
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
    warnings: tuple = ()
    group_names: tuple = ()
    post: object = field(default=None, repr=False)   # postestimation source (results.post_source)

    @classmethod
    def from_estimates(cls, theta, gradient, hessian, loglik, converged, n_iter, message, *,
                       formula, x_names, n_units, quad_pts, n_dropped, group_names=(),
                       stacklevel=4):
        """Build from the maximiser's output: theta (P,), gradient (P,), Hessian (P, P) of the
        log likelihood at theta, its value, the convergence flag, iterations and message.
        Warns (ConvergenceWarning, BoundaryWarning, HessianWarning) as the fit needs, at
        ``stacklevel`` counted from here (4: the user's call of lr2 -> _lr -> here)."""
        theta = np.asarray(theta, dtype=float)
        with FitWarnings() as record:
            if not converged:
                warnings.warn(f"the optimiser stopped before converging after {n_iter} "
                              f"iterations ({message}). Refit from this fit's coef() with "
                              "beta= and sigma=.", ConvergenceWarning, stacklevel=stacklevel)
            sigma = np.exp(theta[len(x_names):])
            for text in boundary_messages(sigma_names(len(n_units)), sigma, "sd"):
                warnings.warn(text + "; a model without that level fits as well.",
                              BoundaryWarning, stacklevel=stacklevel)
            cov = covariance_from_hessian(hessian, LR_ADVICE, stacklevel=stacklevel + 1)
        return cls(formula=formula, x_names=tuple(x_names), theta=theta, cov=cov,
                   loglik=float(loglik), gradient=np.asarray(gradient, dtype=float),
                   n_units=tuple(int(n) for n in n_units), quad_pts=quad_pts,
                   converged=bool(converged), n_iter=int(n_iter), message=message,
                   n_dropped=n_dropped, warnings=record.messages(),
                   group_names=tuple(group_names))

    @classmethod
    def from_maximum(cls, maximum, formula, x_names, n_units, quad_pts, n_dropped,
                     group_names=()):
        """Build from an ``optim.result.OptimizeResult`` (x, value, grad, hess, converged, nit,
        message); see ``from_estimates``."""
        message = maximum.message
        if not maximum.converged:
            message = f"{message}; max |gradient| {np.abs(maximum.grad).max():.3g}"
        return cls.from_estimates(maximum.x, maximum.grad, maximum.hess, maximum.value,
                                  maximum.converged, maximum.nit, message, formula=formula,
                                  x_names=x_names, n_units=n_units, quad_pts=quad_pts,
                                  n_dropped=n_dropped, group_names=group_names, stacklevel=5)

    @property
    def levels(self):
        return len(self.n_units)

    @property
    def param_names(self):
        """Names of theta: the fixed effects, then log(sigma) per random level."""
        return self.x_names + log_sigma_names(self.levels)

    @property
    def sigma_names(self):
        return sigma_names(self.levels)

    @property
    def sigma(self):
        """exp(log sigma), one per random level (Series)."""
        return pd.Series(np.exp(self.theta[len(self.x_names):]), index=list(self.sigma_names))

    # the contract of results.base
    @property
    def front(self):
        return f"lr{self.levels}"

    @property
    def family_text(self):
        return "bernoulli/logit"

    @property
    def params(self):
        """Every printed estimate: beta, log(sigma)..., sigma... (Series)."""
        return pd.concat([pd.Series(self.theta, index=list(self.param_names)), self.sigma])

    def cov_params(self):
        """Covariance of ``params``: J cov J' with J the Jacobian of params in theta (sigma's
        rows by the delta method, d sigma / d log sigma = sigma); (P + L, P + L)."""
        k = len(self.x_names)
        jac = np.vstack([np.eye(len(self.theta)),
                         np.eye(len(self.theta))[k:] * self.sigma.to_numpy()[:, None]])
        names = list(self.params.index)
        return pd.DataFrame(jac @ self.cov @ jac.T, index=names, columns=names)

    @property
    def llf(self):
        return self.loglik

    @property
    def nobs(self):
        return self.n_units[0]

    @property
    def df_model(self):
        return len(self.theta)

    def _interval(self, level):
        """Wald intervals for beta and log sigma; sigma's is exp of log sigma's."""
        lower, upper = super()._interval(level)
        n_theta = len(self.theta)
        lower[n_theta:], upper[n_theta:] = (np.exp(lower[len(self.x_names):n_theta]),
                                            np.exp(upper[len(self.x_names):n_theta]))
        return lower, upper

    def _tests(self):
        """The summary's t value for every row; two-sided p for the fixed effects only (a
        test of log sigma = 0 or sigma = 1 means nothing)."""
        z, p = super()._tests()
        p[len(self.x_names):] = np.nan
        return z, p

    def _groups(self):
        groups = self.group_names or tuple(f"level {j + 2}" for j in range(self.levels - 1))
        return [None] * len(self.x_names) + list(groups) * 2

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
