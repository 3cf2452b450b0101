"""The one result contract under glmm's, meglm's and lr2/lr3's results (statsmodels' names).

Every result type provides (as fields or properties)

    params        Series (P,): the estimates, named and scaled as the front prints them
    cov_params()  DataFrame (P, P): their covariance; NaN when the Hessian at the estimate
                  is not negative definite (``results.covariance``)
    llf           float: the log likelihood at the estimate (glmm: the MCLA's)
    nobs          int: the number of observations
    converged     bool: whether the optimiser's convergence test held
    warnings      tuple of str: mcglmm's warning messages raised during the fit
    df_model      int: the number of free parameters (Stata's e(rank), estat ic's df)

and gets from ``FitResults``

    bse = sqrt(diag(cov_params())),  conf_int(level),  confint(parm, level) (R's labels),
    aic = -2 llf + 2 df_model,  bic = -2 llf + log(nobs) df_model,  coef(),
    to_frame() (one tidy row per parameter), a one-line repr.

A front names itself (``front``, ``family_text`` for the repr) and refines three hooks:
``_interval(level)`` (default Wald, params -/+ z bse), ``_tests()`` (default two-sided z
tests) and ``_groups()`` (the grouping of each variance parameter, None for fixed
effects).  The functions ``coef``, ``vcov``, ``se``,
``confint``, ``loglik`` and ``summary`` (R style, ``coef(fit)``) work on every result.
"""
from __future__ import annotations

import warnings as _warnings

import numpy as np
import pandas as pd
from scipy.stats import norm

from ..exceptions import MCGLMMWarning, bad_value
from .format import quantile_label
from .wald import WaldMethods

TIDY_COLUMNS = ("term", "group", "estimate", "std_error", "statistic", "p_value", "conf_low",
                "conf_high")


class FitResults(WaldMethods):
    """Base of every result type: what is computed from the contract (see the module doc);
    Stata's test/lincom/nlcom on params and cov_params() (``results.wald``)."""

    front = ""                    # "glmm", "meglm", "lr2" or "lr3", set by each result type
    default_level = 0.95          # conf_int's level when none is given

    # the computed part of the contract
    @property
    def bse(self):
        """Standard errors of ``params``: sqrt(diag(cov_params())) (Series; NaN when the
        Hessian was not negative definite)."""
        variances = np.diag(self.cov_params().to_numpy())
        # a constrained parameter's variance may round below 0; NaN stays NaN
        return pd.Series(np.sqrt(np.maximum(variances, 0.0)), index=self.params.index)

    @property
    def aic(self):
        """Akaike's criterion -2 llf + 2 df_model."""
        return -2.0 * self.llf + 2.0 * self.df_model

    @property
    def bic(self):
        """Schwarz's criterion -2 llf + log(nobs) df_model (Stata's N = nobs)."""
        return -2.0 * self.llf + np.log(self.nobs) * self.df_model

    def coef(self):
        """The estimates (Series); a front may report a subset (glmm: fixed effects)."""
        return self.params.copy()

    def conf_int(self, level=None):
        """Confidence intervals of ``params`` at ``level`` (0 < level < 1; default the fit's):
        a DataFrame (P, 2) with columns lower, upper."""
        level = self.default_level if level is None else level
        check_level(level)
        lower, upper = self._interval(level)
        return pd.DataFrame({"lower": lower, "upper": upper}, index=self.params.index)

    def confint(self, parm=None, level=None):
        """R's confint: ``conf_int(level)`` for ``parm`` (names or 0-based positions, default
        all), columns labelled by the quantiles (0.025, 0.975)."""
        level = self.default_level if level is None else level
        check_level(level)
        rows = select_rows(list(self.params.index), parm)
        table = self.conf_int(level).iloc[rows]
        return table.set_axis([quantile_label((1 - level) / 2), quantile_label((1 + level) / 2)],
                              axis=1)

    def to_frame(self, level=None):
        """One tidy row per parameter, the same columns for every front: term, group,
        estimate, std_error, statistic, p_value, conf_low, conf_high.  ``term`` is the
        index of ``params``; ``group`` the grouping of a variance parameter (None for
        fixed effects); statistic and p_value are those the front's summary prints (NaN
        where it prints none)."""
        params, interval = self.params, self.conf_int(level)
        statistic, p_value = self._tests()
        return pd.DataFrame({
            "term": pd.Series(list(params.index), dtype=object),
            "group": pd.Series(self._groups(), dtype=object),
            "estimate": params.to_numpy(), "std_error": self.bse.to_numpy(),
            "statistic": np.asarray(statistic, dtype=float),
            "p_value": np.asarray(p_value, dtype=float),
            "conf_low": interval["lower"].to_numpy(), "conf_high": interval["upper"].to_numpy()},
            columns=list(TIDY_COLUMNS))

    def __repr__(self):
        return (f"<{type(self).__name__} {self.front}: {self.family_text}, nobs={self.nobs}, "
                f"llf={self.llf:.8g}, converged={self.converged}>")

    # hooks a front refines
    @property
    def family_text(self):
        """"family/link" for the one-line repr."""
        raise NotImplementedError

    def _interval(self, level):
        """Wald intervals params -/+ z bse: ((P,), (P,))."""
        z = norm.ppf(0.5 + level / 2)
        est, se = self.params.to_numpy(), self.bse.to_numpy()
        return est - z * se, est + z * se

    def _tests(self):
        """Two-sided z tests of params = 0: (statistic (P,), p_value (P,))."""
        with np.errstate(divide="ignore", invalid="ignore"):
            z = self.params.to_numpy() / self.bse.to_numpy()
        return z, 2 * norm.sf(np.abs(z))

    def _groups(self):
        """Grouping of each parameter (None for fixed effects): list (P,)."""
        return [None] * len(self.params)


def check_level(level):
    """A confidence level strictly between 0 and 1 (a ValueError naming ``level`` else)."""
    if not (isinstance(level, (int, float, np.floating)) and not isinstance(level, bool)
            and 0 < level < 1):
        raise ValueError(bad_value("level", "a number strictly between 0 and 1", level))


def select_rows(names, parm):
    """0-based rows of ``parm`` (None: all; a name, a position, or a list of them)."""
    if parm is None:
        return list(range(len(names)))
    items = [parm] if isinstance(parm, (str, int, np.integer)) else list(parm)
    rows = []
    for item in items:
        if isinstance(item, str) and item in names:
            rows.append(names.index(item))
        elif (isinstance(item, (int, np.integer)) and not isinstance(item, bool)
              and -len(names) <= item < len(names)):
            rows.append(int(item) % len(names))
        else:
            raise ValueError(bad_value("parm", f"parameter names {names} or 0-based positions "
                                       f"below {len(names)}", item))
    return rows


class FitWarnings:
    """Records the warnings raised while open and raises them again, as they were, on close.

    ``messages()`` gives mcglmm's warning messages recorded so far (a tuple of str): what a
    result stores as ``warnings``.  mcglmm's warnings are recorded whatever the filters;
    the caller's filters apply when they are raised again (once per message and place
    within one fit, as Python's "default" action), so a filter that ignores them or turns
    them into errors still does, once the fit has returned.
    """

    def __enter__(self):
        self._context = _warnings.catch_warnings(record=True)
        self._caught = self._context.__enter__()
        _warnings.simplefilter("always", MCGLMMWarning)   # others keep the caller's filters
        return self

    def __exit__(self, *exc_info):
        self._context.__exit__(*exc_info)
        registry = {}
        for w in self._caught:
            _warnings.warn_explicit(w.message, w.category, w.filename, w.lineno,
                                    registry=registry, source=w.source)
        return False

    def messages(self):
        """mcglmm's warning messages recorded so far, in order (tuple of str)."""
        return tuple(str(w.message) for w in self._caught
                     if issubclass(w.category, MCGLMMWarning))


# R-style functions of any result: coef(fit), vcov(fit), ...
def coef(fit, *args, **kwargs):
    """``fit.coef(...)``: the front's estimates (glmm: fixed effects; lr: beta and sigma)."""
    return fit.coef(*args, **kwargs)


def vcov(fit):
    """``fit.cov_params()``: the covariance of ``fit.params`` (DataFrame)."""
    return fit.cov_params()


def se(fit):
    """``fit.bse``: standard errors of ``fit.params`` (Series)."""
    return fit.bse


def confint(fit, parm=None, level=None):
    """``fit.confint(parm, level)``: R's confint (level between 0 and 1)."""
    return fit.confint(parm, level)


def loglik(fit):
    """``fit.llf``: the log likelihood at the estimate."""
    return fit.llf


def summary(fit, *args, **kwargs):
    """``fit.summary(...)``: the printed table as an object (str() and HTML)."""
    return fit.summary(*args, **kwargs)
