"""Number formatting shared by the printed summaries (R's and Stata's conventions)."""
import html
import re

import numpy as np
import pandas as pd

STARS = ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."), (1.0, " "))
SIGNIF_LEGEND = "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"


def stars(p):
    """R's significance stars for a p-value."""
    for bound, mark in STARS:
        if p <= bound:
            return mark
    return " "


def format_pvalue(p, digits=3):
    """R's format.pval: significant digits, scientific below 1e-4, '<2e-16' at the floor."""
    if not np.isfinite(p):
        return "NA"
    if p < 2.2e-16:
        return "<2e-16"
    if p < 1e-4:
        return f"{p:.{digits - 1}e}"
    return f"{p:.{digits}g}" if p < 0.001 else f"{p:.{digits + 2}g}"


def coef_table_text(table, p_column):
    """Text of an R coefficient table (Estimate, Std. Error, [MCSE,] z value, p) with stars."""
    columns = {"Estimate": table["Estimate"].map(lambda v: f"{v:.4f}"),
               "Std. Error": table["Std. Error"].map(lambda v: f"{v:.4f}")}
    if "MCSE" in table:
        columns["MCSE"] = table["MCSE"].map(lambda v: f"{v:.4f}")
    shown = pd.DataFrame({
        **columns,
        "z value": table["z value"].map(lambda v: f"{v:.3f}"),
        p_column: table[p_column].map(format_pvalue),
        "": table[p_column].map(stars),
    }, index=table.index)
    return shown.to_string()


def quantile_label(q):
    """Column label of a confidence bound, as R prints it (0.025, 0.975, 0.035...)."""
    return f"{q:.10g}"


def stata_g(x, width=10, chars=8):
    """Stata's %9.0g-like number: at most ``chars`` characters besides the sign, no leading
    zero, right-aligned in ``width``; NaN (Stata's missing) as blanks."""
    if not np.isfinite(x):
        return " " * width if np.isnan(x) else f"{x:>{width}}"
    for digits in range(chars - 1, 0, -1):
        text = f"{x:.{digits}g}"
        if "e" in text:
            mant, exp = text.split("e")
            text = f"{mant}e{exp[0]}{exp[1:].lstrip('0').zfill(2)}"
        text = text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text
        if len(text.lstrip("-")) <= chars:
            return f"{text:>{width}}"
    return f"{x:>{width}.3g}"


_STATA_FORMAT = re.compile(r"^%(\d+)\.(\d+)([fge])$")


class StataFormat:
    """A Stata numeric display format %w.df, %w.dg or %w.de (``cformat()`` and friends).

    %w.df: d decimals; %w.de: d decimals in scientific notation; %w.dg with d > 0: d
    significant digits, without a leading zero (as Stata's g); %w.0g: Stata's automatic
    choice in w - 1 characters.  ``text(x, width)`` right-aligns the number in ``width``
    (Stata's missing, NaN, as blanks); ``parse`` refuses other formats and widths above
    ``max_width`` (Stata's limits: 9 for cformat, 8 for sformat, 5 for pformat).
    """

    def __init__(self, spec, width, decimals, kind):
        self.spec, self.width, self.decimals, self.kind = spec, width, decimals, kind

    @classmethod
    def parse(cls, name, spec, max_width):
        match = _STATA_FORMAT.match(spec) if isinstance(spec, str) else None
        if not match or not 0 < int(match.group(1)) <= max_width \
                or int(match.group(2)) >= int(match.group(1)):
            raise ValueError(f"{name} must be a Stata numeric format %w.df, %w.dg or %w.de with "
                             f"decimals d below the width w <= {max_width} (such as "
                             f"'%{max_width}.3f'); got {spec!r}.")
        return cls(spec, int(match.group(1)), int(match.group(2)), match.group(3))

    def text(self, x, width):
        """The number x in this format, right-aligned in ``width`` characters."""
        if not np.isfinite(x):
            return " " * width if np.isnan(x) else f"{x:>{width}}"
        if self.kind == "g" and self.decimals == 0:
            return stata_g(x, width, self.width - 1)
        if self.kind == "g":
            text = f"{x:.{self.decimals}g}"
            text = text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text
        else:
            text = f"{x:.{self.decimals}{self.kind}}"
        return f"{text:>{width}}"

    def __repr__(self):
        return f"StataFormat({self.spec!r})"


def html_summary(header_lines, tables):
    """A summary as HTML for notebooks: the header lines as preformatted text, then each
    (title, DataFrame) of ``tables`` as an HTML table under its title."""
    parts = [f"<pre>{html.escape(chr(10).join(header_lines))}</pre>"]
    for title, table in tables:
        if title:
            parts.append(f"<p><b>{html.escape(title)}</b></p>")
        parts.append(table.to_html(float_format=lambda v: f"{v:.6g}", na_rep=""))
    return "<div>" + "\n".join(parts) + "</div>"
