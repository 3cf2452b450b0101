"""Pictures of a fit (matplotlib, the optional ``[plot]`` extra).

``caterpillar``: each random term's predicted effects, sorted, with level% intervals
u~ +- z se; ``residual_plot``: residuals against the fitted means.  Each returns what
it drew on: one Axes, or an array of them (one per random term).
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from ..exceptions import bad_value


def pyplot():
    """matplotlib.pyplot, or an ImportError that names the extra to install."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError("plotting needs matplotlib: pip install 'mcglmm[plot]'") from err
    return plt


def caterpillar(frame, level, ax=None):
    """One panel per (level, random term) of ``frame`` (``random_effects(se=True)``)."""
    plt = pyplot()
    if not isinstance(level, (int, float)) or isinstance(level, bool) or not 10 <= level < 100:
        raise ValueError(bad_value("level", "a confidence level between 10 and 99.99", level))
    z = stats.norm.ppf(0.5 + level / 200.0)
    panels = [(lev, term) for lev in frame.index.unique("level")
              for term in frame.columns if "(" not in term            # not se(...), mcse(...)
              and frame.loc[lev, term].notna().any()]
    if ax is None:
        fig, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels), 6.0), squeeze=False)
        axes = axes[0]
    else:
        axes = np.atleast_1d(ax)
        if len(axes) != len(panels):
            raise ValueError(bad_value("ax", f"{len(panels)} Axes (one per random term)",
                                       f"{len(axes)} Axes"))
    for a, (lev, term) in zip(axes, panels):
        part = frame.loc[lev, [term, f"se({term})"]].dropna().sort_values(term)
        pos = np.arange(len(part))
        a.errorbar(part[term], pos, xerr=z * part[f"se({term})"], fmt="o", markersize=3,
                   elinewidth=0.8, capsize=0)
        a.axvline(0.0, color="grey", linewidth=0.8)
        a.set_yticks(pos)
        a.set_yticklabels([str(g) for g in part.index], fontsize=5)
        a.set_xlabel(f"{term} ({level:g}% interval)")
        a.set_ylabel(lev)
        a.set_title(f"{lev}: {term}")
    return axes[0] if len(axes) == 1 else axes


def residual_plot(fitted, resid, kind, ax=None):
    """Scatter of residuals (n,) against fitted means (n,), with a zero line."""
    plt = pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 4.0))
    ax.scatter(fitted, resid, s=8)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel("fitted mean")
    ax.set_ylabel(f"{kind} residual")
    return ax


def mcla_plot(v, path=None, ax=None):
    """The importance weights of an MCLA fit: a histogram of log10(m v_k) per block (v (m,) or
    (m, B), each column summing to 1) titled with its effective sample size 1 / sum v_k^2,
    and, given the trust path (log likelihood per iteration), a second panel with it."""
    plt = pyplot()
    v = v[:, None] if v.ndim == 1 else v
    n_panels = 1 + (path is not None)
    if ax is None:
        _, axes = plt.subplots(1, n_panels, figsize=(5.0 * n_panels, 4.0), squeeze=False)
        axes = axes[0]
    else:
        axes = np.atleast_1d(ax)
        if len(axes) != n_panels:
            raise ValueError(bad_value("ax", f"{n_panels} Axes", f"{len(axes)} Axes"))
    m = v.shape[0]
    ess = 1.0 / (v * v).sum(axis=0)
    with np.errstate(divide="ignore"):
        logw = np.log10(m * v)
    for b in range(v.shape[1]):
        finite = np.isfinite(logw[:, b])
        axes[0].hist(logw[finite, b], bins=50, histtype="step",
                     label=f"block {b + 1}: ESS {ess[b]:.1f}")
    axes[0].set_xlabel("log10(m x weight)")
    axes[0].set_ylabel("draws")
    axes[0].set_title(f"importance weights, m = {m}, min ESS {ess.min():.1f}")
    if v.shape[1] <= 10:
        axes[0].legend(fontsize=7)
    if path is not None:
        axes[1].plot(np.arange(len(path)), path, marker="o")
        axes[1].set_xlabel("trust iteration")
        axes[1].set_ylabel("MCLA log likelihood")
    return axes[0] if n_panels == 1 else axes
