"""Number formatting shared by the printed summaries (R's and Stata's conventions)."""
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
