"""The result of ``glmm()``: R glmm's fields (snake_case) and its accessors.

Standard errors come from the observed information of the MCLA (the inverse of
minus its Hessian); Monte Carlo standard errors from the sandwich ``U^-1 V U^-1``
(``engines.mcla.mcse``), V summed over the independent blocks of random effects.
``ess`` is the effective sample size of each block's importance weights (a Series
indexed by the block's first random effect; one entry for R glmm's joint method).
Fixed effects are tested two-sided, variance components one-sided (H_A: nu > 0), as
glmm's summary does.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm

from .base import FitResults
from .format import SIGNIF_LEGEND, coef_table_text, html_summary
from .postestimation import Postestimation


@dataclass(frozen=True, repr=False, eq=False)
class GLMMResults(FitResults, Postestimation):
    """What glmm() returns. Arrays: x (n, p), y (n,), z (n, q) sparse, umat (m, q).

    The contract of ``results.base`` (params = fixed effects then variance components,
    llf = the full MCLA log likelihood, ``likelihood_value`` its kernel) under R glmm's
    names: ``coef()`` (fixed effects only),
    ``se()``, ``vcov()``, ``loglik()``, ``likelihood_value``, ``confint()``.
    """

    beta: pd.Series
    nu: pd.Series
    likelihood_value: float          # the kernel, without data constants (``llf``)
    likelihood_gradient: np.ndarray
    likelihood_hessian: np.ndarray
    trust_converged: bool
    covariance: np.ndarray
    mc_covariance: np.ndarray
    x: np.ndarray
    y: np.ndarray
    z: object
    ntrials: np.ndarray
    weights: np.ndarray
    umat: np.ndarray
    pvec: np.ndarray
    beta_pql: np.ndarray
    nu_pql: np.ndarray
    u_pql: np.ndarray
    zeta: float
    varcomps_names: tuple
    varcomps_equal: tuple
    family_glmm: object
    call: str
    m: int
    seed: object
    ess: pd.Series
    n_dropped: int
    debug: object = False
    trust_message: str = ""
    warnings: tuple = field(default=())
    omitted: tuple = ()       # fixed-effects columns dropped as collinear
    method: str = "glmm"
    blocks: object = None     # design.blocks.Blocks
    rounds: tuple = ()        # per round: m, role ("pilot"/"final"), estimates, loglik, min_ess
    m_path: tuple = ()        # m="auto": (m, max MCSE / SE) per final round
    post: object = field(default=None, repr=False)   # postestimation source (results.post_source)

    front = "glmm"

    # the contract of results.base
    @property
    def params(self):
        """Fixed effects, then variance components (Series)."""
        return self.estimates()

    def cov_params(self):
        """Inverse observed information of the MCLA (DataFrame); NaN if the Hessian is not
        negative definite (a HessianWarning said so at fit time)."""
        names = self.param_names
        return pd.DataFrame(self.covariance, index=names, columns=names)

    @property
    def llf(self):
        """The full MCLA log likelihood at the MCMLE: ``likelihood_value`` (the kernel R glmm
        prints, sum_i w_i (y_i eta_i - c(eta_i)) integrated over u) plus the family's data
        constant sum_i w_i log C(n_i, y_i) (binomial) or -sum_i w_i log y_i! (Poisson), as
        meglm reports it."""
        return self.likelihood_value + self.family_glmm.data_constant(self.y, self.ntrials,
                                                                      self.weights)

    @property
    def nobs(self):
        return len(self.y)

    @property
    def converged(self):
        return self.trust_converged

    @property
    def df_model(self):
        return len(self.beta) + len(self.nu)

    @property
    def family_text(self):
        return self.family_glmm.glmm_name

    def _tests(self):
        """z = estimate / se; fixed effects two-sided, variance components one-sided."""
        z, p = super()._tests()
        k = len(self.beta)
        p[k:] = norm.sf(z[k:])
        return z, p

    def _groups(self):
        return [None] * len(self.beta) + list(self.nu.index)

    # R glmm's accessors (also available as mcglmm.coef(fit), ...)
    @property
    def param_names(self):
        return list(self.beta.index) + list(self.nu.index)

    def coef(self):
        """Fixed-effect estimates (Series)."""
        return self.beta.copy()

    def varcomps(self):
        """Variance-component estimates (Series)."""
        return self.nu.copy()

    def estimates(self):
        """All parameters, fixed effects then variance components (Series)."""
        return pd.concat([self.beta, self.nu])

    def vcov(self):
        """``cov_params()`` (R's vcov)."""
        return self.cov_params()

    def se(self):
        """Standard errors (Series): ``bse``."""
        return self.bse

    def mcvcov(self):
        """Monte Carlo covariance of the MCMLE (DataFrame)."""
        names = self.param_names
        return pd.DataFrame(self.mc_covariance, index=names, columns=names)

    def mcse(self):
        """Monte Carlo standard errors (Series)."""
        return pd.Series(np.sqrt(np.diag(self.mc_covariance)), index=self.param_names)

    def loglik(self):
        """The MCLA log likelihood at the MCMLE: ``llf``."""
        return self.llf

    def summary(self):
        """glmm-style summary (printable; tables as DataFrames)."""
        return GLMMSummary.from_results(self)

    def __str__(self):
        return str(self.summary())


@dataclass(frozen=True)
class GLMMSummary:
    """coefficients and varcomps: DataFrames with Estimate, Std. Error, z value and p."""

    call: str
    link: str
    coefficients: pd.DataFrame
    varcomps: pd.DataFrame
    converged: bool
    m: int
    ess: pd.Series
    method: str
    block_sizes: np.ndarray
    rounds: tuple
    m_path: tuple

    @classmethod
    def from_results(cls, fit):
        est, se, mcse = fit.estimates(), fit.se(), fit.mcse()
        z = est / se
        p = len(fit.beta)
        coefs = pd.DataFrame({"Estimate": est.iloc[:p], "Std. Error": se.iloc[:p],
                              "MCSE": mcse.iloc[:p], "z value": z.iloc[:p],
                              "Pr(>|z|)": 2 * norm.sf(np.abs(z.iloc[:p]))})
        vcs = pd.DataFrame({"Estimate": est.iloc[p:], "Std. Error": se.iloc[p:],
                            "MCSE": mcse.iloc[p:], "z value": z.iloc[p:],
                            "Pr(>|z|)/2": norm.sf(z.iloc[p:])})
        sizes = fit.blocks.sizes if fit.blocks is not None else np.array([fit.z.shape[1]])
        return cls(fit.call, fit.family_glmm.link.label, coefs, vcs, fit.trust_converged, fit.m,
                   fit.ess, fit.method, sizes, fit.rounds, fit.m_path)

    def _sampling_lines(self):
        """What the importance sample was: method, blocks, rounds, m, ESS."""
        sizes = np.unique(self.block_sizes)
        size_text = (f"{sizes[0]}" if len(sizes) == 1 else f"{sizes.min()} to {sizes.max()}")
        n = len(self.block_sizes)
        blocks = f"{n} independent block{'s' * (n > 1)} of {size_text} random effects"
        if self.method == "glmm":
            lines = [f"Importance sampling: R glmm's joint mixture centred at PQL over all "
                     f"{self.block_sizes.sum()} random effects",
                     f"Monte Carlo sample size m = {self.m}; effective sample size of the "
                     f"importance weights at the MCMLE = {self.ess.iloc[0]:.1f}"]
            return lines
        pilots = [r["m"] for r in self.rounds if r["role"] == "pilot"]
        lines = [f"Importance sampling per block: {blocks}; proposals at each block's "
                 f"conditional mode, re-centred {len(pilots)} time{'s' * (len(pilots) != 1)}"
                 + (f" ({', '.join(map(str, pilots))} pilot draws)" if pilots else "")]
        if self.m_path:
            path = ", ".join(f"{m} ({r:.3f})" for m, r in self.m_path)
            lines.append(f"m = \"auto\": m (largest MCSE / SE) = {path}")
        lines.append(f"Monte Carlo sample size m = {self.m} per block; effective sample size per "
                     f"block at the MCMLE: min {self.ess.min():.0f} (block of "
                     f"{self.ess.idxmin()}), median {self.ess.median():.0f}")
        return lines

    def __str__(self):
        lines = ["", "Call:", self.call, "", f'Link is: "{self.link}"', "", "Fixed Effects:",
                 coef_table_text(self.coefficients, "Pr(>|z|)"), "---", SIGNIF_LEGEND, "",
                 "Variance Components for Random Effects (P-values are one-tailed):",
                 coef_table_text(self.varcomps, "Pr(>|z|)/2"), "---", SIGNIF_LEGEND, "",
                 *self._sampling_lines()]
        if not self.converged:
            lines += ["", "Warning: the trust optimization did not converge, so these are not "
                      "MCMLEs. Rerun glmm() with par_init set to these estimates."]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        header = ["Call:", self.call, f'Link is: "{self.link}"']
        return html_summary(header, [("Fixed Effects", self.coefficients),
                                     ("Variance Components for Random Effects (P-values are "
                                      "one-tailed)", self.varcomps)])


def _fit_method(name):
    def accessor(fit, *args, **kwargs):
        return getattr(fit, name)(*args, **kwargs)
    accessor.__name__ = name
    accessor.__doc__ = f"``fit.{name}(...)`` as a function (R style: {name}(fit))."
    return accessor


varcomps = _fit_method("varcomps")
mcse = _fit_method("mcse")
mcvcov = _fit_method("mcvcov")
