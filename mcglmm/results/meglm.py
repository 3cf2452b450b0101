"""Results of meglm(): Stata's stored results, r(table) and the printed output.

``table`` is Stata's r(table) (rows b, se, z, pvalue, ll, ul, df, crit, eform; with
eform/or/irr at fit time the fixed effects are exponentiated there, as in Stata) and
``b``/``V`` are e(b)/e(V), never exponentiated.  Estimates are on Stata's scale:
coefficients and cut points as estimated; variances and covariances of the random
effects (entries of each Sigma); var(e.y) for the Gaussian family; /lnalpha,
/lndelta, /logs as estimated.  Their covariance is J V J' with J the Jacobian from
the internal parameters and V the inverse observed information (or the sandwich
clustered at the top level).  Confidence intervals of variances are computed on the
log scale; those of covariances are b +- z se, as Stata prints them.
"""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..design.levels import group_table
from ..model.params import reported
from ..exceptions import BoundaryWarning, ConvergenceWarning
from .base import FitResults, FitWarnings
from .covariance import cluster_sandwich, covariance_from_hessian
from .diagnostics import boundary_messages
from .display_options import FLAGS, FORMATS, NO_OPTIONS, DisplayOptions
from .meglm_stored import TITLE, stored_fields
from .stata_text import MEGLMSummary
from .postestimation import Postestimation

HESSIAN_ADVICE = ("Try other starting values (startvalues=, startgrid=), more integration "
                  "points, or a simpler covariance structure.")


def _covariance(hess, scores, clusters, K=None):
    """Inverse observed information, or the cluster sandwich with Stata's c/(c-1) factor.

    hess: (k, k) Hessian in the free parameters gamma of theta = theta_c + K gamma
    (K (dim, k), the identity without constraints); scores: (G_1, dim) per top-level
    group; clusters: ((G_1,) cluster of each top group, c).  With A = K (-hess)^-1 K',

        V = A                                         (oim)
        V = c/(c-1) A (sum_c s_c s_c') A,  s_c = sum of the scores in cluster c;

    NaN with a HessianWarning when -hess is not positive definite (``results.covariance``).
    Returns (V, A): A is the model-based (oim) part, Stata's e(V_modelbased) in theta.
    """
    Vg = covariance_from_hessian(hess, HESSIAN_ADVICE, stacklevel=6)
    A = Vg if K is None else K @ Vg @ K.T
    return (A if scores is None else cluster_sandwich(A, scores, clusters)), A


def _wald(b, V):
    """(chi2, df) of b = 0: b' V^+ b with df the rank of V (constraints make V singular)."""
    if not len(b):
        return 0.0, 0
    if not np.all(np.isfinite(V)):
        return np.nan, len(b)
    lam, U = np.linalg.eigh(V)
    keep = lam > 1e-10 * max(lam.max(), 0.0)
    proj = U[:, keep].T @ b
    return float(proj @ (proj / lam[keep])), int(keep.sum())


def start_values_series(model, arrays, theta, names):
    """Start values on the reported scale as e(b) (Stata's noestimate), a Series."""
    rows = reported(model, arrays.x_names, arrays.y_name, theta)
    return pd.Series([r.value for r in rows],
                     index=[f"{r.eq}:{r.label}" if r.eq else r.label for r in rows])


def _table(rows, b, se, level):
    """Stata's r(table): rows b, se, z, pvalue, ll, ul, df, crit; one column per parameter."""
    crit = stats.norm.ppf(0.5 + level / 200.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, b / se, np.nan)     # se 0: fixed by a constraint
    pval = 2 * stats.norm.sf(np.abs(z))
    lo, hi = b - crit * se, b + crit * se
    for j, r in enumerate(rows):
        if r.kind == "var" and b[j] > 0:
            with np.errstate(over="ignore"):
                lo[j] = b[j] * np.exp(-crit * se[j] / b[j])
                hi[j] = b[j] * np.exp(crit * se[j] / b[j])
            z[j] = pval[j] = np.nan
        elif not r.wald:
            z[j] = pval[j] = np.nan
    cols = [f"{r.eq}:{r.label}" if r.eq else r.label for r in rows]
    return pd.DataFrame([b, se, z, pval, lo, hi, np.full(len(b), np.inf), np.full(len(b), crit)],
                        index=["b", "se", "z", "pvalue", "ll", "ul", "df", "crit"], columns=cols)


def _eform_table(raw, rows, on):
    """r(table) as Stata stores it: with eform, fixed effects as exp(b), exp(b) se, exp(ll/ul)."""
    table = raw.copy()
    table.loc["eform"] = 0.0
    if on:
        cols = [j for j, r in enumerate(rows) if r.kind == "b"]
        eb = np.exp(raw.iloc[0, cols].to_numpy())
        table.iloc[1, cols] = eb * raw.iloc[1, cols].to_numpy()
        table.iloc[0, cols] = eb
        table.iloc[4, cols] = np.exp(raw.iloc[4, cols].to_numpy())
        table.iloc[5, cols] = np.exp(raw.iloc[5, cols].to_numpy())
        table.iloc[8, cols] = 1.0
    return table


def _fit_warnings(model, fit, rows):
    """Warn of an unconverged fit and of random-effect variances at zero (diagnostics)."""
    if not fit.converged:
        warnings.warn(f"meglm did not converge in {fit.iterations} iterations: "
                      f"{fit.message}.", ConvergenceWarning, stacklevel=5)
    residual = [r.value for r in rows if r.kind == "var" and r.eq == ""]
    unit = float(np.sqrt(residual[0])) if residual else 1.0
    random = [r for r in rows if r.kind == "var" and r.eq not in ("", "/")]
    for text in boundary_messages([f"{r.eq}:{r.label}" for r in random],
                                  [r.value for r in random], "variance", unit):
        warnings.warn(text, BoundaryWarning, stacklevel=5)


def _lr_comparison(model, fit, fixed_fit):
    """LR test against the model without random effects: (chi2_c, df_c, p_c), chibar2 for one
    variance."""
    df_c = sum(model.n_psi)
    chi2_c = max(2.0 * (fit.value - fixed_fit.value), 0.0)
    p_c = (0.5 * stats.chi2.sf(chi2_c, 1) if df_c == 1 else stats.chi2.sf(chi2_c, df_c))
    return chi2_c, df_c, float(p_c)


def _vce_fields(vce, scores, clusters, model, cns):
    """Stata's e(vce), e(clustvar), e(vcetype), e(N_clust), weights and constraints."""
    vce_kind, clustvar = vce
    robust = scores is not None
    w = model.weights
    return dict(vce=vce_kind, clustvar=(clustvar or model.levels[0].name) if robust else None,
                vcetype="Robust" if robust else None, N_clust=clusters[1] if robust else None,
                wtype=None if w is None else w.kind, weights=None if w is None
                else dict(w.sources), Cns=None if cns is None else cns.table,
                constraint_lines=() if cns is None else cns.lines,
                N=len(model.y) if w is None or w.kind != "fweight"
                else int(round(w.cum_obs.sum())))


@dataclass(frozen=True, repr=False, eq=False)
class MEGLMResults(FitResults, Postestimation):
    """A fitted meglm model; stored results are fields named as Stata's e().

    The contract of ``results.base`` under Stata's names: params = ``b`` (e(b)),
    cov_params() = ``V`` (e(V)), llf = ``ll``, nobs = ``N``, df_model = ``rank``.
    ``raw_table`` is r(table) before eform; ``rows`` the reported parameters (``model.params.Reported``).
    """

    vce: str
    clustvar: object
    vcetype: object
    N_clust: object
    wtype: object
    weights: object
    Cns: object
    constraint_lines: tuple
    N: int
    k: int
    rank: int
    ll: float
    chi2: float
    df_m: int
    p: float
    ll_c: float
    chi2_c: float
    df_c: int
    p_c: float
    N_g: np.ndarray
    g_min: np.ndarray
    g_avg: np.ndarray
    g_max: np.ndarray
    b: pd.Series
    V: pd.DataFrame
    converged: bool
    ic: int
    intmethod: str
    n_quad: int
    table: pd.DataFrame
    raw_table: pd.DataFrame
    level: float
    eform: object
    theta: np.ndarray
    theta_names: tuple
    hessian: np.ndarray
    iteration_log: object
    family: str
    link: str
    depvar: str
    group_info: pd.DataFrame
    notes: tuple
    n_dropped: int
    rows: tuple
    nested: bool
    level_names: tuple
    warnings: tuple = ()
    omitted: tuple = ()          # fixed-effects columns omitted (collinear, perfect predictors)
    fixed_layout: tuple = ()     # (name, "" | "omitted" | "base") per column, formula order
    display: DisplayOptions = NO_OPTIONS     # reporting options given at fit time
    post: object = field(default=None, repr=False)   # postestimation source (results.post_source)
    # the rest of Stata's e() list (``results.meglm_stored``)
    k_dv: int = 1
    k_eq: int = None
    k_eq_model: int = 1
    k_cat: object = None
    k_f: int = None
    k_r: int = None
    k_rs: int = None
    k_rc: int = None
    rc: int = 0
    cat: object = None
    gradient: pd.Series = None
    V_modelbased: pd.DataFrame = None
    sample: np.ndarray = None
    cmdline: str = None
    title: str = TITLE
    model: str = None
    offset: object = None
    technique: str = "nr"
    properties: str = "b V"

    front = "meglm"

    @classmethod
    def from_fit(cls, model, arrays, fit, fixed_fit, intmethod, n_quad, names, notes, vce,
                 scores, level, eform, clusters=None, cns=None, record=None, gradient=None,
                 info=None):
        """Build the result once from the optimiser's output.  ``record``: the front's open
        ``FitWarnings`` (its messages become ``warnings``); None records only these.
        ``gradient``: the log likelihood's gradient in theta at the estimate (default
        ``fit.grad``, which is it without constraints); ``info``: the front's cmdline,
        offset and technique (``meglm_stored.stored_fields``) and ``display``, the
        DisplayOptions given at fit time."""
        rows = reported(model, arrays.x_names, arrays.y_name, fit.theta)
        with (FitWarnings() if record is None else contextlib.nullcontext(record)) as rec:
            _fit_warnings(model, fit, rows)
            V_int, V_oim = _covariance(fit.hess, scores, clusters, None if cns is None else cns.K)
        J = np.array([r.jac for r in rows])
        b = np.array([r.value for r in rows])
        V_nat = J @ V_int @ J.T
        se = np.sqrt(np.maximum(np.diag(V_nat), 0.0))
        table = _table(rows, b, se, level)
        test = [j for j, r in enumerate(rows) if r.kind == "b" and r.label != "_cons"]
        chi2, df_m = _wald(b[test], V_nat[np.ix_(test, test)])
        chi2_c, df_c, p_c = _lr_comparison(model, fit, fixed_fit)
        groups = group_table(model.levels)
        cols = list(table.columns)
        g_theta = fit.grad if gradient is None else gradient
        return cls(
            **_vce_fields(vce, scores, clusters, model, cns),
            **stored_fields(model, arrays, fit, rows, J, g_theta, V_oim, info),
            k=len(fit.theta), rank=fit.hess.shape[0], ll=fit.value, chi2=chi2, df_m=df_m,
            p=float(stats.chi2.sf(chi2, df_m)) if df_m else np.nan,
            ll_c=fixed_fit.value, chi2_c=chi2_c, df_c=df_c, p_c=p_c,
            N_g=groups["groups"].to_numpy(), g_min=groups["min"].to_numpy(),
            g_avg=groups["avg"].to_numpy(), g_max=groups["max"].to_numpy(),
            b=pd.Series(b, index=cols), V=pd.DataFrame(V_nat, index=cols, columns=cols),
            converged=fit.converged, ic=fit.iterations, intmethod=intmethod,
            n_quad=n_quad, table=_eform_table(table, rows, eform is not None), raw_table=table,
            level=level, eform=eform,
            theta=fit.theta, theta_names=tuple(names), hessian=fit.hess, iteration_log=fit.log,
            family=model.family.name, link=model.family.link.name, depvar=arrays.y_name,
            group_info=groups, notes=notes, n_dropped=arrays.n_dropped,
            omitted=getattr(arrays, "omitted", ()),
            fixed_layout=getattr(arrays, "fixed_layout", ()),
            display=(info or {}).get("display", NO_OPTIONS),
            rows=tuple(rows), nested=model.nested,
            level_names=tuple(lev.name for lev in model.levels), warnings=rec.messages())

    def summary(self, level=None, eform=None, or_=False, irr=False, **options):
        """Stata's output (``MEGLMSummary``: str() the text, HTML in notebooks);
        ``level``/``eform``/``or_``/``irr`` override the fit's settings, and the reporting
        and display options (``display_options``: noheader, nogroup, notable, nocnsreport,
        noci, nopvalues, noomitted, baselevels, coeflegend, cformat, pformat, sformat)
        those given at the fit, as on Stata's replay."""
        unknown = sorted(set(options) - set(FLAGS) - set(FORMATS))
        if unknown:
            raise TypeError(f"summary() got an unexpected keyword argument {unknown[0]!r}; "
                            f"display options are {', '.join(FLAGS + tuple(FORMATS))}.")
        opts = self.display.merged(DisplayOptions.given(**options))
        label = "Odds ratio" if or_ else "IRR" if irr else ("exp(b)" if eform else None)
        label = label if (eform or or_ or irr) else self.eform
        level = self.level if level is None else level
        raw = self.raw_table if level == self.level else self._table_at(level)
        return MEGLMSummary.build(self, raw, level, label, opts)

    def __str__(self):
        return str(self.summary())

    def _table_at(self, level):
        """r(table) (before eform) at another confidence level (percent)."""
        return _table(list(self.rows), self.raw_table.loc["b"].to_numpy(),
                      self.raw_table.loc["se"].to_numpy(), level)

    # the contract of results.base
    @property
    def params(self):
        return self.b

    def cov_params(self):
        return self.V

    @property
    def llf(self):
        return self.ll

    @property
    def nobs(self):
        return self.N

    @property
    def df_model(self):
        return self.rank

    @property
    def default_level(self):
        return self.level / 100.0

    @property
    def family_text(self):
        return f"{self.family}/{self.link}"

    def _interval(self, level):
        """Stata's intervals: variances on the log scale, the rest b -/+ z se."""
        table = self._table_at(100.0 * level)
        return table.loc["ll"].to_numpy(), table.loc["ul"].to_numpy()

    def _tests(self):
        """Stata's z and P>|z| (none for variances, covariances and cut points)."""
        return self.raw_table.loc["z"].to_numpy(), self.raw_table.loc["pvalue"].to_numpy()

    def _groups(self):
        return [r.eq if r.kind in ("var", "cov") and r.eq not in ("", "/") else None
                for r in self.rows]
