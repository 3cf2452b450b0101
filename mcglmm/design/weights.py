"""meglm's weights at every level: Stata's [fw|iw|pw=w1] || g:, fweight|iweight|pweight(w2).

A weight argument (``fweight``, ``iweight`` or ``pweight``; one type per model) is a
column name or vector of observation-level weights, or a dict whose keys are
groupings ("school", "school:class" or Stata's "school>class") or ``"_n"`` for the
observations, and whose values are columns or vectors.  A higher-level weight must be
constant within the groups of its level.

With level-l group weights w_l (G_l,) (top l = 0) and observation weights w_o (n,),
the cumulative weights are

    c_0 = w_0,   c_l[g] = c_{l-1}[parent(g)] w_l[g],   c_o[i] = c_{L-1}[group(i)] w_o[i],

the factors by which each level's log-likelihood terms enter the weighted log
(pseudo)likelihood of Rabe-Hesketh & Skrondal (2006) once the nesting is unrolled.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exceptions import DesignError, bad_value

WEIGHT_TYPES = ("fweight", "iweight", "pweight")


@dataclass(frozen=True)
class LevelWeights:
    """kind: fweight/iweight/pweight; level: (G_l,) per level (top first); obs: (n,);
    cum_level: c_l (G_l,) per level; cum_obs: c_o (n,); sources: {level name: label}."""

    kind: str
    level: tuple
    obs: np.ndarray
    cum_level: tuple
    cum_obs: np.ndarray
    sources: dict


def weight_spec(fweight, iweight, pweight):
    """(kind, {key: column or vector}) of the one weight argument given, or (None, {})."""
    given = [(k, v) for k, v in zip(WEIGHT_TYPES, (fweight, iweight, pweight)) if v is not None]
    if len(given) > 1:
        raise ValueError(bad_value("fweight/iweight/pweight", "one type of weight only (Stata "
                                   "allows one weight type)", "+".join(k for k, _ in given)))
    if not given:
        return None, {}
    kind, value = given[0]
    spec = dict(value) if isinstance(value, dict) else {"_n": value}
    if not spec:
        raise ValueError(bad_value(kind, "a column, a vector or a non-empty dict", value))
    return kind, spec


def weight_columns(spec):
    """Column names used by a weight spec (for the complete-case rows)."""
    return [v for v in spec.values() if isinstance(v, str)]


def _values(value, frame, keep, n_data, kind):
    """A weight column of the complete-case frame, or a vector over the original rows."""
    if isinstance(value, str) and value not in frame.columns:
        raise ValueError(bad_value(kind, "columns of data or vectors", value))
    try:
        arr = np.asarray(frame[value] if isinstance(value, str) else value).astype(float)
    except (TypeError, ValueError):
        raise ValueError(bad_value(kind, "numeric columns of data or vectors", value)) from None
    if isinstance(value, str):
        return arr
    if arr.shape != (n_data,):
        raise ValueError(bad_value(kind, f"vectors of length {n_data}", f"shape {arr.shape}"))
    return arr[keep]


def _check_values(w, kind, label):
    """Positive finite weights; frequency weights whole numbers."""
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError(bad_value(kind, f"positive finite weights ({label})",
                                   w[~(np.isfinite(w) & (w > 0))][:3].tolist()))
    if kind == "fweight" and np.any(w != np.round(w)):
        raise ValueError(bad_value(kind, f"whole numbers ({label})",
                                   w[w != np.round(w)][:3].tolist()))


def _per_group(w, lev, kind, label):
    """(G,) weight of each group of ``lev``; DesignError if w varies within a group."""
    G = lev.n_groups
    lo = np.full(G, np.inf)
    hi = np.full(G, -np.inf)
    np.minimum.at(lo, lev.index, w)
    np.maximum.at(hi, lev.index, w)
    varies = np.flatnonzero(hi - lo > 1e-12 * np.abs(hi))
    if varies.size:
        raise DesignError(bad_value(kind, f"constant within the groups of {lev.name!r} for "
                                    f"{label}", f"values from {lo[varies[0]]:g} to "
                                    f"{hi[varies[0]]:g} within one group"))
    return lo


def _level_of(key, levels, kind):
    """Index of the level a dict key names."""
    names = {":".join(lev.factors): i for i, lev in enumerate(levels)}
    names.update({lev.name: i for i, lev in enumerate(levels)})
    if key not in names:
        raise ValueError(bad_value(kind, "a dict keyed by '_n' or a grouping among "
                                   f"{sorted(names)}", key))
    return names[key]


def level_weights(kind, spec, levels, frame, keep, n_data, nested):
    """LevelWeights for a nested model, or None when no weights were given."""
    if kind is None:
        return None
    if not nested:
        raise ValueError(bad_value(kind, "None for a crossed model (Stata allows weights only "
                                   "with nested models)", "weights"))
    n = len(frame)
    obs = np.ones(n)
    per_level = [np.ones(lev.n_groups) for lev in levels]
    sources = {}
    for key, value in spec.items():
        w = _values(value, frame, keep, n_data, kind)
        label = value if isinstance(value, str) else "vector"
        _check_values(w, kind, key)
        if key == "_n":
            obs, sources["_n"] = w, label
        else:
            l = _level_of(key, levels, kind)
            per_level[l] = _per_group(w, levels[l], kind, key)
            sources[levels[l].name] = label
    cum = [per_level[0]]
    for lev, w in zip(levels[1:], per_level[1:]):
        cum.append(cum[-1][lev.parent] * w)
    return LevelWeights(kind, tuple(per_level), obs, tuple(cum),
                        cum[-1][levels[-1].index] * obs, sources)


__all__ = ["LevelWeights", "WEIGHT_TYPES", "level_weights", "weight_columns", "weight_spec"]
