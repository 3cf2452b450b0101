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

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ..design.levels import group_table
from ..model.covariance import LOG_SD_MIN
from ..model.families import get_family
from ..model.params import reported, theta_lower
from ..exceptions import BoundaryWarning, ConvergenceWarning, HessianWarning

def _covariance(hess, scores, clusters, K=None):
    """Inverse observed information, or the cluster sandwich with Stata's c/(c-1) factor.

    hess: (k, k) Hessian in the free parameters gamma of theta = theta_c + K gamma
    (K (dim, k), the identity without constraints); scores: (G_1, dim) per top-level
    group; clusters: ((G_1,) cluster of each top group, c).  With A = K (-hess)^-1 K',

        V = A                                         (oim)
        V = c/(c-1) A (sum_c s_c s_c') A,  s_c = sum of the scores in cluster c.
    """
    try:
        np.linalg.cholesky(-hess)
        Vg = np.linalg.inv(-hess)
    except np.linalg.LinAlgError:
        warnings.warn("the Hessian at the estimate is not negative definite; standard errors "
                      "use its pseudo-inverse.", HessianWarning, stacklevel=3)
        Vg = np.linalg.pinv(-hess)
    A = Vg if K is None else K @ Vg @ K.T
    if scores is None:
        return A
    index, c = clusters
    S = np.zeros((c, scores.shape[1]))
    np.add.at(S, index, scores)
    return A @ (S.T @ S) @ A * c / (c - 1)


def _wald(b, V):
    """(chi2, df) of b = 0: b' V^+ b with df the rank of V (constraints make V singular)."""
    if not len(b):
        return 0.0, 0
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


class MEGLMResults:
    """A fitted meglm model; stored results are attributes named as Stata's e()."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __setattr__(self, name, value):
        raise AttributeError("MEGLMResults is read-only")

    @classmethod
    def from_fit(cls, model, arrays, fit, fixed_fit, intmethod, n_quad, names, notes, vce,
                 scores, level, eform, clusters=None, cns=None):
        """Build the result once from the optimiser's output."""
        if not fit.converged:
            warnings.warn(f"meglm did not converge in {fit.iterations} iterations: "
                          f"{fit.message}.",
                          ConvergenceWarning, stacklevel=3)
        at_bound = [n for n, t, lo in zip(names, fit.theta, theta_lower(model)) if t < lo + 4.0]
        if at_bound:
            warnings.warn(f"variance component(s) {at_bound} estimated as (nearly) zero: log "
                          f"standard deviation below {LOG_SD_MIN + 4:g}.",
                          BoundaryWarning, stacklevel=3)
        V_int = _covariance(fit.hess, scores, clusters, None if cns is None else cns.K)
        rows = reported(model, arrays.x_names, arrays.y_name, fit.theta)
        J = np.array([r.jac for r in rows])
        b = np.array([r.value for r in rows])
        V_nat = J @ V_int @ J.T
        se = np.sqrt(np.maximum(np.diag(V_nat), 0.0))
        table = _table(rows, b, se, level)
        test = [j for j, r in enumerate(rows) if r.kind == "b" and r.label != "_cons"]
        chi2, df_m = _wald(b[test], V_nat[np.ix_(test, test)])
        df_c = sum(model.n_psi)
        chi2_c = max(2.0 * (fit.value - fixed_fit.value), 0.0)
        p_c = (0.5 * stats.chi2.sf(chi2_c, 1) if df_c == 1 else stats.chi2.sf(chi2_c, df_c))
        groups = group_table(model.levels)
        cols = list(table.columns)
        w = model.weights
        vce_kind, clustvar = vce
        return cls(
            vce=vce_kind, clustvar=(clustvar or model.levels[0].name) if scores is not None
            else None, vcetype="Robust" if scores is not None else None,
            N_clust=clusters[1] if scores is not None else None,
            wtype=None if w is None else w.kind, weights=None if w is None else dict(w.sources),
            Cns=None if cns is None else cns.table, constraint_lines=() if cns is None
            else cns.lines,
            N=len(model.y) if w is None or w.kind != "fweight" else int(round(w.cum_obs.sum())),
            k=len(fit.theta), ll=fit.value, chi2=chi2, df_m=df_m,
            p=float(stats.chi2.sf(chi2, df_m)) if df_m else np.nan,
            ll_c=fixed_fit.value, chi2_c=chi2_c, df_c=df_c, p_c=float(p_c),
            N_g=groups["groups"].to_numpy(), g_min=groups["min"].to_numpy(),
            g_avg=groups["avg"].to_numpy(), g_max=groups["max"].to_numpy(),
            b=pd.Series(b, index=cols), V=pd.DataFrame(V_nat, index=cols, columns=cols),
            converged=fit.converged, ic=fit.iterations, intmethod=intmethod,
            n_quad=n_quad, table=_eform_table(table, rows, eform is not None), _raw=table,
            level=level, eform=eform,
            theta=fit.theta, theta_names=tuple(names), hessian=fit.hess, iteration_log=fit.log,
            family=model.family.name, link=model.family.link.name, depvar=arrays.y_name,
            group_info=groups, notes=notes, n_dropped=arrays.n_dropped,
            _rows=tuple(rows), _nested=model.nested, _n_levels=len(model.levels),
            _levels=tuple(lev.name for lev in model.levels))

    def summary(self, level=None, eform=None, or_=False, irr=False):
        """Stata-style output as a string; ``level``/``eform`` override the fit's settings."""
        label = "Odds ratio" if or_ else "IRR" if irr else ("exp(b)" if eform else None)
        if level is not None and level != self.level:
            table = _table(list(self._rows), self._raw.loc["b"].to_numpy(),
                           self._raw.loc["se"].to_numpy(), level)
            view = MEGLMResults(**{**self.__dict__, "_raw": table})
            return render(view, level, label if (eform or or_ or irr) else self.eform)
        return render(self, self.level, label if (eform or or_ or irr) else self.eform)

    def __repr__(self):
        return f"<MEGLMResults {self.family}/{self.link} ll={self.ll:.4f} ({self.intmethod})>"


def _g(x, width=10):
    """Stata's %9.0g-like number: at most 8 characters besides the sign, no leading zero."""
    if not np.isfinite(x):
        return " " * width if np.isnan(x) else f"{x:>{width}}"
    for digits in range(7, 0, -1):
        text = f"{x:.{digits}g}"
        if "e" in text:
            mant, exp = text.split("e")
            text = f"{mant}e{exp[0]}{exp[1:].lstrip('0').zfill(2)}"
        text = text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text
        if len(text.lstrip("-")) <= 8:
            return f"{text:>{width}}"
    return f"{x:>{width}.3g}"


def _header(res):
    """Stata's header lines: model, family, link, groups, integration, Wald test, log likelihood."""
    left_right = [("Mixed-effects GLM", f"Number of obs     = {res.N:>10,}"),
                  (f"Family: {get_family(res.family, res.link).title}", ""),
                  (f"Link:   {res.link.capitalize()}", "")]
    lines = [f"{a:<48}{b}".rstrip() for a, b in left_right]
    info = res.group_info
    if len(info) == 1 and res._nested:
        row = info.iloc[0]
        group = "Group variable: " + row["group"]
        lines += [f"{group:<48}Number of groups  = {row['groups']:>10,}",
                  "", f"{'':<48}Obs per group:",
                  f"{'':<62}min = {row['min']:>10,}", f"{'':<62}avg = {row['avg']:>10.1f}",
                  f"{'':<62}max = {row['max']:>10,}"]
    else:
        rule = "-" * 61
        lines += ["", rule, f"{'':16}|     No. of       Observations per group",
                  " Group variable |     groups    Minimum    Average    Maximum",
                  "-" * 16 + "+" + "-" * 44]
        for _, row in info.iterrows():
            lines.append(f"{row['group']:>15} | {row['groups']:>10,} {row['min']:>10,} "
                         f"{row['avg']:>10.1f} {row['max']:>10,}")
        lines.append(rule)
    method = f"Integration method: {res.intmethod}"
    pts = f"Integration pts.  = {res.n_quad:>10}" if res.intmethod != "laplace" else ""
    kind = "Log pseudolikelihood" if res.vcetype else "Log likelihood"   # as Stata's ml
    lines += ["", f"{method:<48}{pts}".rstrip(), "",
              f"{'':<48}{'Wald chi2(' + str(res.df_m) + ')':<18}= {res.chi2:>10.2f}",
              f"{kind + ' = ' + format(res.ll, '.8g'):<48}Prob > chi2       = "
              f"{res.p:>10.4f}"]
    if res.vcetype:
        note = f"(Std. err. adjusted for {res.N_clust:,} clusters in {res.clustvar})"
        lines.append(f"{note:>78}")
    return lines


def _coef_lines(res, level, label):
    """The estimation table: fixed effects, cut points, var/cov rows per level, residual rows."""
    crit = stats.norm.ppf(0.5 + level / 200.0)
    t = res._raw
    width = max(13, max(len(r.label) + 3 for r in res._rows) if res._rows else 13)
    rule = "-" * width + "+" + "-" * 64
    head = label or "Coefficient"
    lvl = f"{level:g}"
    se_head = "Std. err."
    lines = ["-" * (width + 65)]
    if res.vcetype:
        lines.append(f"{'':{width}}|{'':13}{res.vcetype:>9}")
        se_head = "std. err."
    lines += [f"{res.depvar[:width - 1]:>{width - 1}} | {head:>11}  {se_head}      z    P>|z|"
              f"     [{lvl}% conf. interval]", rule]
    section = None
    for j, r in enumerate(res._rows):
        b, se = t.iloc[0, j], t.iloc[1, j]
        lo, hi = t.iloc[4, j], t.iloc[5, j]
        if r.kind == "b" and label:
            b, se, lo, hi = np.exp(b), np.exp(b) * se, np.exp(b - crit * se), np.exp(b + crit * se)
        if r.eq != section and r.kind in ("var", "cov", "aux"):
            lines.append(rule)
            if r.eq and r.eq != "/":
                lines.append(f"{r.eq:<{width}}|")
            section = r.eq
        stat = (f"{t.iloc[2, j]:>8.2f}   {t.iloc[3, j]:5.3f}" if np.isfinite(t.iloc[2, j])
                else " " * 16)
        name = r.label if r.kind in ("b", "aux") or not r.eq else f"  {r.label}"
        if res.constraint_lines and t.iloc[1, j] <= 1e-12 * max(1.0, abs(t.iloc[0, j])):
            lines.append(f"{name[-(width - 1):]:>{width - 1}} |{_g(b, 11)}  (constrained)")
            continue
        lines.append(f"{name[-(width - 1):]:>{width - 1}} |{_g(b, 11)}{_g(se, 11)}{stat}"
                     f"   {_g(lo, 10)}  {_g(hi, 10)}")
    lines.append("-" * (width + 65))
    return lines


def _lr_lines(res):
    """LR test against the model without random effects."""
    kind = get_family(res.family, res.link).fixed_model_label
    if res.df_c == 1:
        return [f"LR test vs. {kind} model: chibar2(01) = {res.chi2_c:.2f}"
                f"{'':8}Prob >= chibar2 = {res.p_c:.4f}"]
    return [f"LR test vs. {kind} model: chi2({res.df_c}) = {res.chi2_c:.2f}"
            f"{'':13}Prob > chi2 = {res.p_c:.4f}",
            "Note: LR test is conservative and provided only for reference."]


def render(res, level, label):
    """The full printed output of a meglm fit."""
    notes = [f"note: {n}." for n in res.notes]
    cns = [f" ({j + 1:>2})  {c}" for j, c in enumerate(res.constraint_lines)]
    lines = notes + _header(res) + [""] + cns + _coef_lines(res, level, label)
    if label:
        lines.append("Note: Estimates are transformed only in the first equation.")
        if any(r.label == "_cons" for r in res._rows):
            lines.append("Note: _cons estimates baseline odds (conditional on zero random "
                         "effects)." if label == "Odds ratio" else
                         "Note: _cons estimates baseline (conditional on zero random effects).")
    if not res.vcetype:
        lines += _lr_lines(res)
    return "\n".join(lines)
