"""Comparing fits: the likelihood-ratio test and information criteria (Stata's lrtest, estat ic).

LR chi2 = 2 (ll_big - ll_small) on df = k_big - k_small.  When the extra parameters
include variances, the null puts them on the boundary (a variance of 0) and the
chi2(df) p-value is conservative (Stata's note).  The chi-bar-squared mixture is given
where its weights are known (Self and Liang 1987):

    r extra variances and nothing else (independent effects)   sum_j C(r, j) 2^-r chi2(j)
    one extra variance with c extra covariances                 1/2 chi2(c) + 1/2 chi2(c+1)

(chi2(0) a point mass at 0).  Fits must be on the same data (the same responses),
of the same family and link, with the small model's fixed effects among the big one's.
A Monte Carlo log likelihood (an MCLA fit) carries its Monte Carlo error into the
statistic; its size is reported.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np
import pandas as pd
from scipy import stats

from ..exceptions import bad_value
from .postestimation import _source

BOUNDARY_NOTE = ("Note: The reported degrees of freedom assumes the null hypothesis is not on "
                 "the\n      boundary of the parameter space. If this is not true, then the "
                 "reported\n      test is conservative.")


@dataclass(frozen=True)
class LRTest:
    """chi2, df, p (chi2(df)); p_mixture (chi-bar-squared) or None; note; mc_se of chi2."""

    chi2: float
    df: int
    p: float
    p_mixture: float | None
    mixture: str | None
    note: str
    mc_se: float | None = None

    def __str__(self):
        lines = ["Likelihood-ratio test", "Assumption: small nested within big", "",
                 f" LR chi2({self.df}) = {self.chi2:>8.2f}", f"Prob > chi2 = {self.p:>10.4f}"]
        if self.p_mixture is not None:
            lines.append(f"Prob >= chibar2 = {self.p_mixture:.4f}  ({self.mixture})")
        if self.mc_se is not None:
            lines.append(f"Monte Carlo standard error of LR chi2 = {self.mc_se:.3g}")
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines)


def _mixture(n_var, n_cov, chi2):
    """(p, description) of the chi-bar-squared mixture, or (None, None) where not known."""
    if n_var == 0:
        return None, None
    if n_cov == 0:
        weights = [comb(n_var, j) / 2 ** n_var for j in range(n_var + 1)]
        dfs = list(range(n_var + 1))
    elif n_var == 1:
        weights, dfs = [0.5, 0.5], [n_cov, n_cov + 1]
    else:
        return None, None
    p = sum(w * (float(chi2 <= 0) if d == 0 else stats.chi2.sf(chi2, d))
            for w, d in zip(weights, dfs))
    text = " + ".join(f"{w:g} chi2({d})" for w, d in zip(weights, dfs))
    return float(min(p, 1.0)), text


def _check_comparable(small, big):
    if "glmm" in (small.front, big.front) and small.front != big.front:
        raise ValueError(bad_value("fit_big", "a fit of the same front as fit_small (an MCLA "
                                   "and a quadrature log likelihood are different "
                                   "approximations)",
                                   f"a {big.front} and a {small.front} fit"))
    ms, mb = small.model, big.model
    if ms is None or mb is None:
        raise ValueError(bad_value("the fits", "fits whose random formulas are grouping factors "
                                   "(their data can then be compared)", "another glmm Z"))
    if ms.y.shape != mb.y.shape or not np.array_equal(ms.y, mb.y) \
            or not np.array_equal(ms.ntrials, mb.ntrials):
        raise ValueError(bad_value("fit_big", "a fit on the same data as fit_small (the same "
                                   "responses, rows and trials)",
                                   f"{len(mb.y)} rows against {len(ms.y)}"))
    fam_s, fam_b = ms.family, mb.family
    if (type(fam_s) is not type(fam_b)) or fam_s != fam_b:
        raise ValueError(bad_value("fit_big", "a fit of the same family and link as fit_small "
                                   "(non-nested families cannot be compared by an LR test)",
                                   "another family or link"))
    extra = [n for n in small.x_names if n not in big.x_names]
    if extra:
        raise ValueError(bad_value("fit_small", "nested in fit_big (its fixed effects among "
                                   "fit_big's)", f"fixed effects {extra} not in fit_big"))


def lrtest(fit_small, fit_big):
    """Likelihood-ratio test of ``fit_small`` nested in ``fit_big`` (an ``LRTest``)."""
    small, big = _source(fit_small), _source(fit_big)
    if small.n_params > big.n_params:
        small, big = big, small
    _check_comparable(small, big)
    df = big.n_params - small.n_params
    if df <= 0:
        raise ValueError(bad_value("fit_big", "a model with more parameters than fit_small",
                                   f"{big.n_params} against {small.n_params}"))
    chi2 = max(2.0 * (big.llf - small.llf), 0.0)
    n_var = big.kinds.count("var") - small.kinds.count("var")
    n_cov = big.kinds.count("cov") - small.kinds.count("cov")
    p_mix, text = _mixture(n_var, n_cov, chi2) if n_var + n_cov == df else (None, None)
    note = BOUNDARY_NOTE if n_var > 0 else ""
    errors = [s.mc_error for s in (small, big) if s.mc_error is not None]
    mc_se = 2.0 * float(np.sqrt(sum(e * e for e in errors))) if errors else None
    if mc_se is not None:
        note = (note + "\n" if note else "") + ("Note: a Monte Carlo log likelihood (MCLA) enters "
                                                "the statistic; its Monte Carlo standard error "
                                                f"is {mc_se:.3g}.")
    return LRTest(chi2, df, float(stats.chi2.sf(chi2, df)), p_mix, text, note, mc_se)


def estat_ic(*fits, names=None):
    """Stata's estat ic for each fit: N, ll(null), ll(model), df, AIC, BIC (a DataFrame).

    ll(null) is not defined for these models (Stata prints '.'): NaN."""
    if not fits:
        raise ValueError(bad_value("fits", "at least one fitted model", "none"))
    names = [f"model {j + 1}" for j in range(len(fits))] if names is None else list(names)
    if len(names) != len(fits):
        raise ValueError(bad_value("names", f"{len(fits)} names", names))
    rows = []
    for fit in fits:
        _source(fit)                      # refuses what is not a fit
        rows.append({"N": fit.nobs, "ll(null)": np.nan, "ll(model)": fit.llf,
                     "df": fit.df_model, "AIC": fit.aic, "BIC": fit.bic})
    return pd.DataFrame(rows, index=pd.Index(names, name="Model"))
