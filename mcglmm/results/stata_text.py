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
from .display_options import NO_OPTIONS
from .format import html_summary
from .stata_table import Columns, extra_legend, fixed_sequence, legend

@dataclass(frozen=True)
class MEGLMSummary:
    """A meglm summary: ``str()`` is Stata's printed output (``text``), ``header`` its header
    lines, ``frame`` the estimation table (one row per parameter: the estimate as printed,
    Std. err., z, P>|z|, interval)."""

    text: str
    header: tuple
    frame: pd.DataFrame

    @classmethod
    def build(cls, res, raw, level, label, options=NO_OPTIONS):
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
    if len(info) == 1:
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


def _coef_lines(res, raw, level, label, opts=NO_OPTIONS):
    """The estimation table: fixed effects (with omitted and base rows as the options say),
    cut points, var/cov rows per level, residual rows (``stata_table``)."""
    width = max(13, max(len(r.label) + 3 for r in res.rows) if res.rows else 13)
    cols = Columns(opts, width)
    label = None if cols.legend else label
    lines = [cols.top()]
    se_head = "Std. err."
    if res.vcetype and not cols.legend:
        lines.append(f"{'':{width}}|{'':13}{res.vcetype:>9}")
        se_head = "std. err."
    lines += [cols.head(res.depvar, label, level, se_head), cols.rule()]
    values = display_values(res, raw, level, label)
    section = None
    for j, r in fixed_sequence(res.rows, getattr(res, "fixed_layout", ()),
                               opts.on("baselevels"), opts.on("noomitted")):
        if j is None:
            name, note = r
            unit = 1.0 if label else 0.0
            lines.append(cols.legend_row(name, unit, extra_legend(name, note)) if cols.legend
                         else cols.noted(name, unit, note))
            continue
        _, b, se, z, p, lo, hi = values[j]
        if r.eq != section and r.kind in ("var", "cov", "aux"):
            lines.append(cols.rule())
            if r.eq and r.eq != "/":
                lines.append(f"{r.eq:<{width}}|")
            section = r.eq
        name = (r.label if r.kind == "b" else f"/{r.label}" if r.kind == "aux"
                else r.label if not r.eq else f"  {r.label}")
        if cols.legend:
            lines.append(cols.legend_row(name, b, legend(r)))
        elif res.constraint_lines and raw.iloc[1, j] <= 1e-12 * max(1.0, abs(raw.iloc[0, j])):
            lines.append(cols.noted(name, b, "(constrained)"))
        else:
            lines.append(cols.row(name, b, se, z, p, lo, hi))
    lines.append(cols.top())
    return lines


def coef_row(name, b, se, z, p, lo, hi, width=13):
    """One row of Stata's estimation table (default columns; ``stata_table.Columns``)."""
    return Columns(NO_OPTIONS, width).row(name, b, se, z, p, lo, hi)


def table_head(title, label, level, width=13):
    """The top rule, column titles and rule of Stata's estimation table (3 lines)."""
    cols = Columns(NO_OPTIONS, width)
    return [cols.top(), cols.head(title, label, level), cols.rule()]


def _lr_lines(res):
    """LR test against the model without random effects."""
    kind = get_family(res.family, res.link).fixed_model_label
    if res.df_c == 1:
        return [f"LR test vs. {kind} model: chibar2(01) = {res.chi2_c:.2f}"
                f"{'':8}Prob >= chibar2 = {res.p_c:.4f}"]
    return [f"LR test vs. {kind} model: chi2({res.df_c}) = {res.chi2_c:.2f}"
            f"{'':13}Prob > chi2 = {res.p_c:.4f}",
            "Note: LR test is conservative and provided only for reference."]


def render(res, raw, level, label, options=NO_OPTIONS):
    """The full printed output of a meglm fit under ``options`` (``DisplayOptions``), as
    Stata's: noheader drops the header (notes, model, groups, tests), nogroup the group
    lines, notable the estimation table with its notes and LR test, nocnsreport the
    constraint lines; the rest change the table (``stata_table``)."""
    notes = [f"note: {n}." for n in res.notes]
    cns = ([] if options.on("nocnsreport") else
           [f" ({j + 1:>2})  {c}" for j, c in enumerate(res.constraint_lines)])
    head = ([] if options.on("noheader") else
            notes + _header(res, options.on("nogroup")) + [""])
    if options.on("notable"):
        return "\n".join(head + cns).rstrip("\n")
    lines = head + cns + _coef_lines(res, raw, level, label, options)
    if label and not options.on("coeflegend"):
        into = {"Odds ratio": " to odds ratios", "IRR": " to incidence-rate ratios"}
        lines.append(f"Note: Estimates are transformed only in the first equation"
                     f"{into.get(label, '')}.")
        if any(r.label == "_cons" for r in res.rows):
            lines.append("Note: _cons estimates baseline odds (conditional on zero random "
                         "effects)." if label == "Odds ratio" else
                         "Note: _cons estimates baseline (conditional on zero random effects).")
    if not res.vcetype:
        lines += _lr_lines(res)
    return "\n".join(lines)
