"""The one validation layer: argument types and ranges, data frames, and bounds on the work.

Each front (``glmm``, ``meglm``, ``lr2``/``lr3``) calls one function here per check group,
at its top, before any data work; each returns the arguments normalised to Python types.

* Scalars: an integer, real or flag argument accepts Python and numpy scalars, 0-d arrays
  and the scalars of pandas' nullable arrays; a bool is refused where a number is meant
  and a number where a flag is meant (``ArgumentTypeError``, a TypeError that is also a
  ValueError); a value out of range gives ``ArgumentError``.  Messages are
  ``exceptions.bad_value``'s, naming the argument.
* Data: a DataFrame with distinct column names; pandas nullable columns (Int64, Float64,
  boolean, string) become numpy ones with NaN for ``pd.NA``, so their missing values drop
  rows as NaN does.
* Work: the bytes a fit would hold -- glmm's m x q draws, meglm's k^d nodes per group
  times the observations, lr's rule and its observations x nodes -- are estimated from the
  sizes alone and refused (``WorkTooLargeError``) above ``MEMORY_LIMIT`` (glmm: or its
  ``memory_budget`` if larger), saying how big the fit would be and what to use.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import pandas as pd

from .exceptions import (ArgumentError, ArgumentTypeError, DesignWarning, FormulaError,
                         WorkTooLargeError, bad_value)

MEMORY_LIMIT = 2 ** 31       # bytes a meglm/lr fit may hold (glmm: its memory_budget)
QUAD_COPIES = 14             # (n, nodes) float arrays alive at once in a quadrature evaluation (seen 13)
DRAW_COPIES = 3              # (m, q) float arrays alive at once while drawing
MAX_LR_POINTS = 1000         # numpy's Gauss-Hermite rule is O(k^3) time, O(k^2) memory
GIB = 2 ** 30


def _plain(value):
    """Python scalar for numpy scalars and 0-d arrays; anything else unchanged."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    return value.item() if isinstance(value, np.generic) else value


def integer(name, value, lo=None, hi=None, allowed=None):
    """``value`` as an int in [lo, hi]; numpy integers accepted, bools and floats refused."""
    v = _plain(value)
    allowed = allowed or _range_text("an integer", lo, hi)
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise ArgumentTypeError(bad_value(name, allowed, value))
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ArgumentError(bad_value(name, allowed, value))
    return int(v)


def real(name, value, lo=None, hi=None, open_lo=False, allowed=None):
    """``value`` as a finite float >= lo (> lo when open_lo) and <= hi; bools refused."""
    v = _plain(value)
    allowed = allowed or _range_text("a finite number", lo, hi, open_lo)
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ArgumentTypeError(bad_value(name, allowed, value))
    v = float(v)
    if not math.isfinite(v) or (lo is not None and (v <= lo if open_lo else v < lo)) \
            or (hi is not None and v > hi):
        raise ArgumentError(bad_value(name, allowed, value))
    return v


def flag(name, value):
    """``value`` as a bool: True/False or numpy's; numbers and strings refused."""
    v = _plain(value)
    if not isinstance(v, bool):
        raise ArgumentTypeError(bad_value(name, "True or False", value))
    return v


def choice(name, value, options, none=False):
    """``value`` as one of the strings ``options`` (or None when ``none``)."""
    if none and value is None:
        return None
    allowed = "one of " + ", ".join(map(repr, options)) + (" or None" if none else "")
    if not isinstance(value, str):
        raise ArgumentTypeError(bad_value(name, allowed, value))
    if value not in options:
        raise ArgumentError(bad_value(name, allowed, value))
    return value


def _range_text(what, lo, hi, open_lo=False):
    if lo is not None and hi is not None:
        return f"{what} between {lo} and {hi}"
    if lo is not None:
        return f"{what} {'>' if open_lo else '>='} {lo}"
    return what if hi is None else f"{what} <= {hi}"


def _nullable_as_numpy(column):
    """A pandas nullable column as numpy's equivalent with NaN for pd.NA, or None."""
    dtype = column.dtype
    if not isinstance(dtype, pd.api.extensions.ExtensionDtype) \
            or isinstance(dtype, pd.CategoricalDtype):
        return None
    if isinstance(dtype, pd.BooleanDtype):
        return pd.Categorical(column.astype(object).where(column.notna(), np.nan),
                              categories=[False, True])
    if isinstance(dtype, pd.StringDtype):
        if dtype.na_value is not pd.NA:
            return None
        return column.astype(object).where(column.notna(), np.nan)
    if getattr(dtype, "kind", "") in "iuf" and getattr(dtype, "na_value", None) is pd.NA:
        return column.to_numpy(dtype=float, na_value=np.nan)
    return None


def data_frame(data, name="data"):
    """``data`` checked (a DataFrame, distinct column names) with nullable columns converted."""
    if not isinstance(data, pd.DataFrame):
        raise ArgumentTypeError(bad_value(name, "a pandas DataFrame", type(data).__name__))
    repeated = data.columns[data.columns.duplicated()]
    if len(repeated):
        times = int((data.columns == repeated[0]).sum())
        raise ArgumentError(bad_value(name, "a DataFrame with distinct column names",
                                      f"column {repeated[0]!r} {times} times"))
    converted = {}
    for column in data.columns:
        value = _nullable_as_numpy(data[column])
        if value is not None:
            converted[column] = value
    if not converted:
        return data
    out = data.copy()
    for column, value in converted.items():
        out[column] = value
    return out


def _two_sided(name, formula):
    if not isinstance(formula, str):
        raise ArgumentTypeError(bad_value(name, 'a formula string such as "y ~ x"',
                                          type(formula).__name__))
    if formula.count("~") != 1 or not formula.split("~")[0].strip():
        raise FormulaError(bad_value(name, 'a two-sided formula such as "y ~ x"', formula))


# ---- glmm ---------------------------------------------------------------------------------

def glmm_arguments(fixed, data, m, p1, p2, p3, zeta, do_pql, debug, rmax, iterlim, seed,
                   n_jobs, memory_budget, progress, sampler):
    """glmm's scalar arguments normalised, and m draws (of q >= 1 effects) within bounds."""
    _two_sided("fixed", fixed)
    from . import SamplerInputs
    if sampler is not None and not isinstance(sampler, SamplerInputs):
        raise ArgumentTypeError(bad_value("sampler", "None or a mcglmm.SamplerInputs",
                                          type(sampler).__name__))
    data = data_frame(data)
    p1, p2, p3 = (real(k, v, 0, 1, allowed="a number between 0 and 1")
                  for k, v in (("p1", p1), ("p2", p2), ("p3", p3)))
    zeta = real("zeta", zeta, 0, open_lo=True, allowed="a positive number of degrees of freedom")
    rmax = real("rmax", rmax, 0, open_lo=True)
    iterlim = integer("iterlim", iterlim, 1, allowed="a positive integer")
    seed = None if seed is None else integer("seed", seed, 0, allowed="None or a non-negative "
                                             "integer")
    n_jobs = integer("n_jobs", n_jobs, allowed="a non-zero integer (-1 for all cores)")
    budget = real("memory_budget", memory_budget, 0, open_lo=True,
                  allowed="a positive number of bytes")
    flags = [flag(k, v) for k, v in (("do_pql", do_pql), ("debug", debug),
                                     ("progress", progress))]
    if m is not None and not (isinstance(m, str) and m == "auto"):
        m = integer("m", m, 1, allowed="a positive integer")
        mcla_work(m, None, budget)
    return (data, m, p1, p2, p3, zeta, flags[0], flags[1], rmax, iterlim, seed, n_jobs,
            int(budget), flags[2])


def mcla_work(m, q, memory_budget):
    """Refuse m draws of q random effects (None: not yet known, at least one) held whole
    above max(memory_budget, MEMORY_LIMIT).

    (memory_budget bounds the n x m array of Z u_k, which is chunked; the draws are not.)"""
    if not isinstance(m, numbers.Integral) or isinstance(m, bool):
        return
    limit = max(memory_budget, MEMORY_LIMIT)
    need = DRAW_COPIES * 8 * m * max(q or 1, 1)
    if need > limit:
        m_max = int(limit // (DRAW_COPIES * 8 * max(q or 1, 1)))
        what = "at least one random effect" if q is None else f"the {q} random effect(s)"
        raise WorkTooLargeError(bad_value(
            "m", f"at most {m_max} draws of {what} within {_size(limit)} "
            "(the larger of memory_budget and mcglmm._checks.MEMORY_LIMIT)", m)
            + f" The draws alone would take {_size(need)}; use a smaller m or raise "
            "memory_budget.")


def _size(nbytes):
    if not math.isfinite(nbytes):
        return "more memory than any machine has"
    return f"{nbytes / GIB:.3g} GiB" if nbytes >= GIB / 10 else f"{nbytes / 2 ** 20:.3g} MiB"


# ---- meglm --------------------------------------------------------------------------------

INTMETHODS = ("mvaghermite", "mcaghermite", "pcaghermite", "ghermite", "laplace", "pclaplace")
LAPLACE_METHODS = ("laplace", "pclaplace")    # one point: no intpoints, no weights
PC_METHODS = ("pcaghermite", "pclaplace")     # Pinheiro-Chao: canonical families, nested
STARTVALUES = ("fixedonly", "constantonly", "zero", "iv")


def meglm_arguments(formula, data, family, link, intmethod, intpoints, startvalues, dispersion,
                    level, iterate, tolerance, noconstant, noestimate, eform, or_, irr, log):
    """meglm's arguments normalised: (data, intpoints, level, iterate, tolerance, noconstant,
    noestimate, eform, or_, irr, log); or_ only with a logit link, irr with count families."""
    _two_sided("formula", formula)
    data = data_frame(data)
    choice("intmethod", intmethod, INTMETHODS, none=True)
    choice("startvalues", startvalues, STARTVALUES)
    choice("dispersion", dispersion, ("mean", "constant"))
    if intpoints is not None:
        intpoints = integer("intpoints", intpoints, 1, 128,
                            allowed="an integer between 1 and 128")
    level = real("level", level, 10, 99.99, allowed="a confidence level between 10 and 99.99")
    iterate = integer("iterate", iterate, 0, allowed="a non-negative integer")
    tolerance = real("tolerance", tolerance, 0, open_lo=True,
                     allowed="a positive finite number")
    flags = [flag(k, v) for k, v in (("noconstant", noconstant), ("noestimate", noestimate),
                                     ("eform", eform), ("or_", or_), ("irr", irr), ("log", log))]
    if flags[3] or flags[4]:
        from .model.families import get_family
        from .model.links import LOGIT
        row = get_family(family, link, dispersion)
        if flags[3] and row.link is not LOGIT:
            raise ArgumentError(bad_value("or_", "False unless the link is logit (odds ratios)",
                                          or_))
        if flags[4] and response_kind(row) != COUNT:
            raise ArgumentError(bad_value("irr", "False unless the family is a count family, "
                                          "poisson or nbinomial (incidence-rate ratios)", irr))
    return (data, intpoints, level, iterate, tolerance, *flags)


BINARY, COUNT, CONTINUOUS = "binary", "count", "continuous"


def response_kind(family):
    """BINARY, COUNT or CONTINUOUS for a family row (model.families), None for ordinal: the
    kind of response whose degenerate cases ``design.degenerate`` checks."""
    from .model.aux_families import Gamma, Gaussian, NBinomialMean
    from .model.families import Binomial, Poisson
    for kind, classes in ((BINARY, (Binomial,)), (COUNT, (Poisson, NBinomialMean)),
                          (CONTINUOUS, (Gaussian, Gamma))):
        if isinstance(family, classes):
            return kind
    return None


def quadrature_work(model, intmethod, k, rows, limit=MEMORY_LIMIT):
    """Refuse a quadrature whose node arrays exceed ``limit`` bytes.

    Level l has K_l = k^d_l nodes per group; an evaluation holds about QUAD_COPIES arrays
    of rows x prod_l K_l entries and the nodes of every level (G_l x prod_{l' <= l} K_l' x
    d_l).  ``rows``: the observations one evaluation holds -- for a nested model, evaluated
    by row blocks of whole top-level groups, the largest block's; for a crossed one's joint
    rule all n.
    """
    q = sum(lev.n_groups * lev.d for lev in model.levels)

    def need(points):
        if not model.nested:                 # one joint rule over all q effects (n x k^q)
            combos = math.inf if q * math.log(points) > 700 else float(points) ** q
            return 8 * (QUAD_COPIES * rows + 2 * q + 2) * combos
        total, nodes, path = 0, 0, 1
        for lev in model.levels:
            path *= points ** lev.d
            nodes += lev.n_groups * path * (lev.d + 2)
        total = QUAD_COPIES * rows * path + 2 * nodes
        return 8 * total
    if intmethod in LAPLACE_METHODS or need(k) <= limit:
        return
    fits = [p for p in range(1, k) if need(p) <= limit]
    dims = [lev.d for lev in model.levels]
    advice = (f"use intpoints <= {fits[-1]}" if fits else "reduce the random effects")
    raise WorkTooLargeError(bad_value(
        "intpoints", f"a rule whose nodes fit in {_size(limit)} (mcglmm._checks.MEMORY_LIMIT)",
        f"{k} points per dimension for random effects of dimensions {dims} "
        f"({_combinations(k, sum(dims) if model.nested else q)} node combinations per "
        f"observation)") + f" It would hold about {_size(need(k))}; {advice} or "
        f"intmethod='laplace'.")


def _combinations(k, dim):
    """k^dim written out when short, else as the power."""
    return k ** dim if dim * math.log10(max(k, 2)) < 15 else f"{k}^{dim}"


# ---- lr2 / lr3 ----------------------------------------------------------------------------

MAX_START_SIGMA = 1e3        # a starting sd beyond this overflows exp(sigma * node)


def lr_arguments(front, formula, ids, data, quad_pts, sigma, frame, trace, sort):
    """lr2/lr3's arguments checked before any work: (data, quad_pts).

    ids: {argument name: column}.  The formula has no lme4 bar (the random intercepts come
    from the ids); the ids are distinct columns; the rule and the observations x nodes
    arrays fit in MEMORY_LIMIT; starting sds at most MAX_START_SIGMA; a response constant
    or separated is refused.
    """
    try:
        values = np.asarray(sigma, dtype=float).ravel()
        big = (sigma is not None and frame is False and values.size == len(ids)
               and np.all(np.isfinite(values) & (values > 0))
               and np.any(values > MAX_START_SIGMA))
    except (TypeError, ValueError):
        big = False
    if big:
        raise ArgumentError(bad_value("sigma", f"starting standard deviations at most "
                                      f"{MAX_START_SIGMA:g}", sigma))
    _two_sided("formula", formula)
    if "|" in formula:
        raise FormulaError(bad_value("formula", f"a fixed-effects formula ({front}'s random "
                                     "intercepts come from its id arguments; patsy would read "
                                     "'|' as bitwise or)", formula))
    data = data_frame(data)
    for name, column in ids.items():
        if not isinstance(column, str) or column not in data.columns:
            raise ArgumentError(bad_value(name, "the name of a column of data", column))
    if len(set(ids.values())) < len(ids):
        raise ArgumentError(bad_value("level3", "a column other than level2 (the levels must "
                                      "differ)", ids.get("level3")))
    quad_pts = integer("quad_pts", quad_pts, 1, allowed="an integer >= 1")
    lr_work(quad_pts, len(data), len(ids) + 1)
    for name, value in (("frame", frame), ("trace", trace), ("sort", sort)):
        flag(name, value)
    if not flag("frame", frame):
        _lr_sample(formula, data, list(ids.values()))
    return data, quad_pts


def lr_work(quad_pts, n, levels, limit=MEMORY_LIMIT):
    """Refuse a rule too large to build or an n x quad_pts^(levels-1) array above limit."""
    need = 8 * (3 * quad_pts ** 2 + QUAD_COPIES * n * quad_pts ** (levels - 1))
    if quad_pts <= MAX_LR_POINTS and need <= limit:
        return
    fits = [k for k in (64, 32, 24, 16, 12, 8)
            if 8 * (3 * k * k + QUAD_COPIES * n * k ** (levels - 1)) <= limit]
    raise WorkTooLargeError(bad_value(
        "quad_pts", f"at most {MAX_LR_POINTS} points and a rule fitting {_size(limit)} "
        "(mcglmm._checks.MEMORY_LIMIT)", quad_pts)
        + f" It would need about {_size(need)} for {n} rows; "
        + (f"use quad_pts = {fits[0]} or fewer (12 is the notes' default)." if fits else
           "use fewer rows."))


def _lr_sample(formula, data, id_columns):
    """Refuse an empty X, or a constant or perfectly predicted 0/1 response, on the
    complete rows."""
    from .design import complete_rows, fixed_part
    from .design.degenerate import check_estimation_sample
    from .model.families import bernoulli_glmm
    keep = complete_rows(data, [formula], extra=id_columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DesignWarning)
        fx = fixed_part(formula, data.loc[keep])
    if fx.response_columns != 1:
        return
    if fx.X.shape[1] == 0:
        raise FormulaError(bad_value("formula", "at least one fixed-effects column (the "
                                     "random intercepts are not in the formula)", formula))
    bernoulli_glmm.check_response(fx.y, fx.ntrials)
    check_estimation_sample(BINARY, fx.y, fx.ntrials, fx.X, fx.x_names,
                            formula.split("~")[0].strip())


__all__ = ["BINARY", "COUNT", "CONTINUOUS", "MEMORY_LIMIT", "choice", "response_kind", "data_frame", "flag", "glmm_arguments", "integer", "lr_arguments",
           "lr_work", "mcla_work", "meglm_arguments", "quadrature_work", "real"]
