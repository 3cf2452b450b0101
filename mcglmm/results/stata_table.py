"""Stata's estimation table: columns, rows and the display options that change them.

Each line is ``name |`` (the name right-aligned in width - 1) and then the columns

    b (11)  Std. err. (11)  z (8) and P>|z| (3 + 5)  [level% conf. interval] (3 + 10 + 2 + 10)

in cformat (b, se, limits), sformat (z) and pformat (p); ``noci`` drops the interval
columns, ``nopvalues`` the z and P>|z| columns, and the rules shorten with them;
``coeflegend`` prints b and ``_b[name]`` (Stata's name for expressions) instead.  Rows
without statistics carry a note: ``(constrained)``, ``(omitted)`` (an omitted covariate,
shown as 0, or 1 when exponentiated; its e(b) name is o.x) and ``(base)`` (a factor's base
level, the same).
"""
from __future__ import annotations

import re

import numpy as np

from .display_options import NO_OPTIONS

CI_WIDTH, P_WIDTH = 25, 16
_STATA_VAR = re.compile(r"^(var|cov)\((.+)\)$")


class Columns:
    """The table's columns under DisplayOptions ``opts``; ``width`` is the name column's."""

    def __init__(self, opts=NO_OPTIONS, width=13):
        self.width = width
        self.legend = opts.on("coeflegend")
        self.ci = not (opts.on("noci") or self.legend)
        self.pvalues = not (opts.on("nopvalues") or self.legend)
        self.c, self.s, self.p = (opts.format(n) for n in ("cformat", "sformat", "pformat"))

    @property
    def span(self):
        """Characters after the '|' (or '+') of the header and the rules."""
        if self.legend:
            return 64
        return 23 + P_WIDTH * self.pvalues + CI_WIDTH * self.ci

    def rule(self, joint="+"):
        return "-" * self.width + joint + "-" * self.span

    def top(self):
        return "-" * (self.width + 1 + self.span)

    def head(self, title, label, level, se_head="Std. err."):
        """The column titles' line."""
        text = f"{title[:self.width - 1]:>{self.width - 1}} | {label or 'Coefficient':>11}"
        if self.legend:
            return text + "  Legend"
        text += f"  {se_head}"
        text += "      z    P>|z|" if self.pvalues else ""
        return text + (f"     [{level:g}% conf. interval]" if self.ci else "")

    def name(self, name):
        return f"{name[-(self.width - 1):]:>{self.width - 1}} |"

    def row(self, name, b, se, z, p, lo, hi):
        """One row of statistics."""
        text = self.name(name) + self.c.text(b, 11) + self.c.text(se, 11)
        if self.pvalues:
            text += (f"{self.s.text(z, 8)}   {self.p.text(p, 5)}" if np.isfinite(z)
                     else " " * P_WIDTH)
        if self.ci:
            text += f"   {self.c.text(lo, 10)}  {self.c.text(hi, 10)}"
        return text.rstrip()

    def noted(self, name, b, note):
        """A row with the estimate and a note instead of statistics: (constrained) etc."""
        return f"{self.name(name)}{self.c.text(b, 11)}  {note}"

    def legend_row(self, name, b, legend):
        """A coeflegend row: the estimate and its name in expressions."""
        return f"{self.name(name)}{self.c.text(b, 11)}  {legend}"


def legend(r):
    """Stata's name of a reported row in expressions: _b[x] (fixed effects), _b[/cut1],
    _b[/var(e.y)], _b[/var(_cons[g])], _b[/cov(x[g],_cons[g])]."""
    if r.kind == "b":
        return f"_b[{r.label}]"
    if r.eq in ("", "/"):
        return f"_b[/{r.label}]"
    kind = _STATA_VAR.match(r.label)
    inner = ",".join(f"{a}[{r.eq}]" for a in kind.group(2).split(","))
    return f"_b[/{kind.group(1)}({inner})]"


def extra_legend(name, note):
    """Legend of an omitted (o.x) or base (0b.x) row."""
    if note == "(omitted)":
        return f"_b[o.{name}]"
    level, _, var = name.partition(".")
    return f"_b[{level}b.{var}]"


def fixed_sequence(rows, layout, baselevels, noomitted):
    """Rows in printing order with the fixed-effects extras interleaved.

    rows: the reported rows (fixed effects first, _cons last); layout:
    ``MEArrays.fixed_layout``, (name, status) per fixed-effects column in the formula's
    order, status "" (estimated), "omitted" or "base".  An extra row is printed before the
    next estimated column after it in the layout, or before _cons and the rest when none
    follows.  Yields (j, row) for reported rows and (None, (name, note)) for the extra rows
    the options keep."""
    keep = {"omitted": not noomitted, "base": baselevels}
    before, pending = {}, []
    for name, status in layout:
        if status:
            pending.append((name, status))
        elif name != "_cons":
            before[name], pending = pending, []
    for j, r in enumerate(rows):
        if r.kind == "b" and r.label in before:
            yield from _extras(before.pop(r.label), keep)
        elif r.kind != "b" or r.label == "_cons":
            yield from _extras(pending, keep)
            pending = []
        yield j, r
    yield from _extras(pending, keep)


def _extras(items, keep):
    for name, status in items:
        if keep[status]:
            yield None, (name, f"({status})")


__all__ = ["Columns", "extra_legend", "fixed_sequence", "legend"]
