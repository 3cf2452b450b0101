"""One structure per level: Stata's covariance() option and constraints on variance components.

``covariance`` is a name (every level), ``("fixed", M)`` / ``("pattern", M)`` (Stata's
fixed(matname) / pattern(matname); M a (d, d) array or DataFrame, NaN where Stata has a
missing value), or a dict {grouping ("g", "g:h" or Stata's "g>h"): either}.  M's rows and
columns follow the level's random effects in the table's order (``Level.z_names``; a
DataFrame labelled by them is reordered to it).  As in Stata only M's lower triangle is
read: the upper one must be missing (NaN) or mirror it.

Variance components are named as Stata does: ``var(x[g])``, ``cov(x[g],_cons[g])``
(also ``[var(x[g])]_cons``, ``[/]var(x[g])``, ``/var(x[g])``).  A constraint setting one to
a number fixes it; one making two of a level equal ties them (``Restricted.restrict``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...exceptions import bad_value
from ...optim.constraints import covariance_equations
from ..params import unpack
from .restricted import Fixed, Pattern, Restricted, restricted
from .structures import Exchangeable, Identity, Independent, Unstructured

COVARIANCES = {c.name: c for c in (Independent, Exchangeable, Identity, Unstructured)}
MATRIX_COVARIANCES = {c.name: c for c in (Fixed, Pattern)}
DEFAULT = "independent"


def get_covariance(name, d):
    """The structure called ``name`` for d random effects (ValueError naming ``covariance``)."""
    if not isinstance(name, str) or name not in COVARIANCES:
        raise ValueError(bad_value("covariance", "one of " + ", ".join(COVARIANCES)
                                   + ", ('fixed', M) or ('pattern', M)", name))
    return COVARIANCES[name](d)


def matrix_argument(M, lev):
    """M (d, d) float, symmetric from its lower triangle, NaN where free; ValueError naming
    ``covariance`` for a wrong shape, infinite entries or an upper triangle that is neither
    missing nor the mirror of the lower one."""
    z = list(lev.z_names)
    want = f"a {lev.d} x {lev.d} matrix for level {lev.name!r} (random effects {z})"
    if isinstance(M, pd.DataFrame) and set(M.index) == set(z) == set(M.columns):
        M = M.loc[z, z]
    try:
        A = np.array(M, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(bad_value("covariance", f"{want} of numbers", M)) from None
    if A.shape != (lev.d, lev.d):
        raise ValueError(bad_value("covariance", want, A))
    if np.isinf(A).any():
        raise ValueError(bad_value("covariance", f"{want} of finite numbers or NaN", A))
    low, up = np.tril(np.ones_like(A, dtype=bool), -1), A.T
    mirror = np.isnan(up[low]) | (A[low] == up[low])
    if not (np.isnan(up[low]).all() or (mirror.all() and (np.isnan(up[low])
                                                          == np.isnan(A[low])).all())):
        raise ValueError(bad_value("covariance", f"{want}, symmetric or with a missing (NaN) "
                                   "upper triangle", A))
    return np.where(low.T, A.T, A)


def get_structure(spec, lev):
    """The structure of one level from a name or ("fixed" | "pattern", M)."""
    if isinstance(spec, tuple) and len(spec) == 2 and spec[0] in MATRIX_COVARIANCES:
        return MATRIX_COVARIANCES[spec[0]].from_matrix(matrix_argument(spec[1], lev))
    return get_covariance(spec, lev.d)


def per_level(covariance, levels, constraints=None):
    """One structure per level from ``covariance`` (see the module doc), restricted by the
    ``constraints`` that name variance components."""
    if isinstance(covariance, (str, tuple)):
        chosen = {lev.name: covariance for lev in levels}
    elif isinstance(covariance, dict):
        keys = {k.replace(">", ":"): v for k, v in covariance.items()}
        unknown = set(keys) - {":".join(lev.factors) for lev in levels}
        if unknown:
            raise ValueError(bad_value("covariance", "a dict keyed by the groupings "
                                       + str([":".join(lv.factors) for lv in levels]),
                                       sorted(unknown)))
        chosen = {lev.name: keys.get(":".join(lev.factors), DEFAULT) for lev in levels}
    else:
        raise ValueError(bad_value("covariance", "a string, ('fixed', M), ('pattern', M) or a "
                                   "dict of them", covariance))
    covs = tuple(get_structure(chosen[lev.name], lev) for lev in levels)
    return _constrain(covs, levels, constraints) if constraints else covs


def stata_terms(levels, covs):
    """[(Stata's name, (level, a, b))] of the reported variance components: var(x[g]),
    cov(x[g],z[g]) with the labels' order of ``Covariance.reported``."""
    out = []
    for l, (lev, cov) in enumerate(zip(levels, covs)):
        for a, b in cov.reported_pairs():
            za, zb = f"{lev.z_names[a]}[{lev.name}]", f"{lev.z_names[b]}[{lev.name}]"
            out.append((f"var({za})" if a == b else f"cov({zb},{za})", (l, a, b)))
    return out


def _constrain(covs, levels, constraints):
    """covs restricted by the constraints on their variance components."""
    terms = stata_terms(levels, covs)
    covs = list(covs)
    for expr, coef, rhs in covariance_equations(constraints, [n for n, _ in terms]):
        nz = np.flatnonzero(coef)
        keys = [terms[j][1] for j in nz]
        if len(nz) == 1:
            l, a, b = keys[0]
            covs[l] = restricted(covs[l]).restrict((a, b), value=rhs / coef[nz[0]])
        elif (len(nz) == 2 and coef[nz[0]] == -coef[nz[1]] and rhs == 0
              and keys[0][0] == keys[1][0]):
            l = keys[0][0]
            covs[l] = restricted(covs[l]).restrict(keys[0][1:], other=keys[1][1:])
        else:
            raise ValueError(bad_value("constraints", "on variance components, one set to a "
                                       "number or two of one level equal", expr))
    return tuple(covs)


def constraint_terms(model):
    """(names, implied) for ``optim.constraints.parse_constraints``: Stata's names of the
    variance components and the constraints fixed()/pattern() state, as (row over the
    names, right-hand side)."""
    terms = stata_terms(model.levels, model.covariances)
    index = {key: j for j, (_, key) in enumerate(terms)}
    implied = []
    for l, cov in enumerate(model.covariances):
        for pair, rhs in getattr(cov, "implied", ()):
            row = np.zeros(len(terms))
            tie = isinstance(rhs, tuple)
            row[index[(l, *pair)]] = -1.0 if tie else 1.0
            if tie:
                row[index[(l, *rhs)]] = 1.0
            implied.append((row, 0.0 if isinstance(rhs, tuple) else float(rhs)))
    return [n for n, _ in terms], implied


def admissible(model):
    """theta -> whether every restricted level's Sigma is positive definite, or None when
    every structure is positive definite for all psi."""
    levels = [l for l, cov in enumerate(model.covariances) if isinstance(cov, Restricted)]
    if not levels:
        return None

    def feasible(theta):
        psis = unpack(model, theta)[2]
        return all(model.covariances[l].positive_definite(psis[l]) for l in levels)
    return feasible
