"""meglm's printed output, laid out as Stata's: header, estimation table, LR test.

``render(res, raw, level, label)`` is the text; ``MEGLMSummary`` holds it with the same
table as a DataFrame (``frame``) for notebooks (``_repr_html_``).  ``raw`` is r(table)
before eform at confidence ``level`` (percent); ``label`` the title of exponentiated
fixed effects ("exp(b)", "Odds ratio", "IRR") or None.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .._checks import LAPLACE_METHODS
from ..model.families import get_family
from .format import html_summary, stata_g

@dataclass(frozen=True)
class MEGLMSummary:
    """A meglm summary: ``str()`` is Stata's printed output (``text``), ``header`` its header
    lines, ``frame`` the estimation table (one row per parameter: the estimate as printed,
    Std. err., z, P>|z|, interval)."""

    text: str
    header: tuple
    frame: pd.DataFrame

    @classmethod
    def build(cls, res, raw, level, label, options=None):
        return cls(render(res, raw, level, label, options), tuple(_header(res)),
                   display_frame(res, raw, level, label))

    def __str__(self):
        return self.text

    __repr__ = __str__

    def _repr_html_(self):
        return html_summary(self.header, [("", self.frame)])


def display_values(res, raw, level, label):
    """Per reported row: (row, b, se, z, p, lo, hi) as printed (exponentiated with label)."""
    crit = stats.norm.ppf(0.5 + level / 200.0)
    out = []
    for j, r in enumerate(res.rows):
        b, se = raw.iloc[0, j], raw.iloc[1, j]
        lo, hi = raw.iloc[4, j], raw.iloc[5, j]
        if r.kind == "b" and label:
            b, se, lo, hi = np.exp(b), np.exp(b) * se, np.exp(b - crit * se), np.exp(b + crit * se)
        out.append((r, b, se, raw.iloc[2, j], raw.iloc[3, j], lo, hi))
    return out


def display_frame(res, raw, level, label):
    """The estimation table as a DataFrame indexed by "equation:label"."""
    lvl = f"{level:g}"
    columns = [label or "Coefficient", "Std. err.", "z", "P>|z|", f"[{lvl}% conf.",
               "interval]"]
    values = display_values(res, raw, level, label)
    index = [f"{r.eq}:{r.label}" if r.eq else r.label for r, *_ in values]
    return pd.DataFrame([v[1:] for v in values], index=index, columns=columns)


def _number(x, spec):
    """A number in a fixed format, Stata's missing (.) for NaN, right-aligned to 10."""
    return f"{'.':>10}" if np.isnan(x) else f"{x:>10{spec}}"


def _group_lines(res):
    """The grouping lines: one level (with Obs per group) or a table of levels."""
    info = res.group_info
    if len(info) == 1 and res.nested:
        row = info.iloc[0]
        group = "Group variable: " + row["group"]
        return [f"{group:<48}Number of groups  = {row['groups']:>10,}",
                "", f"{'':<48}Obs per group:",
                f"{'':<62}min = {row['min']:>10,}", f"{'':<62}avg = {row['avg']:>10.1f}",
                f"{'':<62}max = {row['max']:>10,}"]
    rule = "-" * 61
    lines = ["", rule, f"{'':16}|     No. of       Observations per group",
             " Group variable |     groups    Minimum    Average    Maximum",
             "-" * 16 + "+" + "-" * 44]
    for _, row in info.iterrows():
        lines.append(f"{row['group']:>15} | {row['groups']:>10,} {row['min']:>10,} "
                     f"{row['avg']:>10.1f} {row['max']:>10,}")
    return lines + [rule]


def _header(res, nogroup=False):
    """Stata's header lines: model, family, link, groups (unless nogroup), integration, Wald
    test (missing, '.', for a constant-only model), log likelihood."""
    left_right = [("Mixed-effects GLM", f"Number of obs     = {res.N:>10,}"),
                  (f"Family: {get_family(res.family, res.link).title}", ""),
                  (f"Link:   {res.link.capitalize()}", "")]
    lines = [f"{a:<48}{b}".rstrip() for a, b in left_right]
    lines += [] if nogroup else _group_lines(res)
    method = f"Integration method: {res.intmethod}"
    pts = f"Integration pts.  = {res.n_quad:>10}" if res.intmethod not in LAPLACE_METHODS else ""
    kind = "Log pseudolikelihood" if res.vcetype else "Log likelihood"   # as Stata's ml
    lines += ["", f"{method:<48}{pts}".rstrip(), "",
              f"{'':<48}{'Wald chi2(' + str(res.df_m) + ')':<18}= {_number(res.chi2 if res.df_m else np.nan, '.2f')}",
              f"{kind + ' = ' + format(res.ll, '.8g'):<48}Prob > chi2       = "
              f"{_number(res.p, '.4f')}"]
    if res.vcetype:
        note = f"(Std. err. adjusted for {res.N_clust:,} clusters in {res.clustvar})"
        lines.append(f"{note:>78}")
    return lines


def _coef_lines(res, raw, level, label):
    """The estimation table: fixed effects, cut points, var/cov rows per level, residual rows."""
    width = max(13, max(len(r.label) + 3 for r in res.rows) if res.rows else 13)
    rule = "-" * width + "+" + "-" * 64
    head = label or "Coefficient"
    se_head = "Std. err."
    lines = ["-" * (width + 65)]
    if res.vcetype:
        lines.append(f"{'':{width}}|{'':13}{res.vcetype:>9}")
        se_head = "std. err."
    lines += [f"{res.depvar[:width - 1]:>{width - 1}} | {head:>11}  {se_head}      z    P>|z|"
              f"     [{level:g}% conf. interval]", rule]
    section = None
    for j, (r, b, se, z, p, lo, hi) in enumerate(display_values(res, raw, level, label)):
        if r.eq != section and r.kind in ("var", "cov", "aux"):
            lines.append(rule)
            if r.eq and r.eq != "/":
                lines.append(f"{r.eq:<{width}}|")
            section = r.eq
        name = r.label if r.kind in ("b", "aux") or not r.eq else f"  {r.label}"
        if res.constraint_lines and raw.iloc[1, j] <= 1e-12 * max(1.0, abs(raw.iloc[0, j])):
            lines.append(f"{name[-(width - 1):]:>{width - 1}} |{stata_g(b, 11)}  (constrained)")
            continue
        lines.append(coef_row(name, b, se, z, p, lo, hi, width))
    lines.append("-" * (width + 65))
    return lines


def coef_row(name, b, se, z, p, lo, hi, width=13):
    """One row of Stata's estimation table: name right-aligned in width - 1, then b,
    Std. err., z, P>|z| (blank when z is missing) and the interval."""
    stat = f"{z:>8.2f}   {p:5.3f}" if np.isfinite(z) else " " * 16
    return (f"{name[-(width - 1):]:>{width - 1}} |{stata_g(b, 11)}{stata_g(se, 11)}"
            f"{stat}   {stata_g(lo, 10)}  {stata_g(hi, 10)}")


def table_head(title, label, level, width=13):
    """The top rule, column titles and rule of Stata's estimation table (3 lines)."""
    return ["-" * (width + 65),
            f"{title[:width - 1]:>{width - 1}} | {label or 'Coefficient':>11}  Std. err.      z"
            f"    P>|z|     [{level:g}% conf. interval]", "-" * width + "+" + "-" * 64]


def _lr_lines(res):
    """LR test against the model without random effects."""
    kind = get_family(res.family, res.link).fixed_model_label
    if res.df_c == 1:
        return [f"LR test vs. {kind} model: chibar2(01) = {res.chi2_c:.2f}"
                f"{'':8}Prob >= chibar2 = {res.p_c:.4f}"]
    return [f"LR test vs. {kind} model: chi2({res.df_c}) = {res.chi2_c:.2f}"
            f"{'':13}Prob > chi2 = {res.p_c:.4f}",
            "Note: LR test is conservative and provided only for reference."]


REPORTING = ("noheader", "nogroup", "notable", "nocnsreport")


def render(res, raw, level, label, options=None):
    """The full printed output of a meglm fit; ``options`` (set of REPORTING names) as
    Stata's: noheader drops the header (notes, model, groups, tests), nogroup the group
    lines, notable the estimation table with its notes and LR test, nocnsreport the
    constraint lines."""
    opts = set(options or ())
    notes = [f"note: {n}." for n in res.notes]
    cns = ([] if "nocnsreport" in opts else
           [f" ({j + 1:>2})  {c}" for j, c in enumerate(res.constraint_lines)])
    head = [] if "noheader" in opts else notes + _header(res, "nogroup" in opts) + [""]
    if "notable" in opts:
        return "\n".join(head + cns).rstrip("\n")
    lines = head + cns + _coef_lines(res, raw, level, label)
    if label:
        lines.append("Note: Estimates are transformed only in the first equation.")
        if any(r.label == "_cons" for r in res.rows):
            lines.append("Note: _cons estimates baseline odds (conditional on zero random "
                         "effects)." if label == "Odds ratio" else
                         "Note: _cons estimates baseline (conditional on zero random effects).")
    if not res.vcetype:
        lines += _lr_lines(res)
    return "\n".join(lines)
