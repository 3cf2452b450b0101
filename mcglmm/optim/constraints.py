"""Linear equality constraints on meglm's coefficients and cut points (Stata's constraints()).

Constraints R theta = r (m rows) touch only the first p + a entries of theta
(coefficients and auxiliary parameters).  With theta_c a point satisfying them and
N an orthonormal basis of the null space of R's first p + a columns,

    theta = theta_c + K gamma,   K = blockdiag(N, I)   (dim, dim - m),

so the covariance parameters map one to one (their bounds carry over), the
optimiser works on gamma with gradient K'g and Hessian K'HK, and the covariance of
theta is K (-K'HK)^-1 K'.  A constraint is written as in Stata, e.g. ``"x = 0.5"``,
``"[y]x1 = [y]x2"``, ``"2*x1 - x2 = 1"``; names are the coefficients' (``"1.urban"``,
``"_cons"``, ``"/cut1"``), optionally prefixed by their equation ``[depvar]``/``[/]``.

Constraints on variance components (``"var(x[g]) = 0.5"``, ``"[var(x[g])]_cons =
[var(_cons[g])]_cons"``) are parsed here (``covariance_equations``) but hold through the
covariance structures (``model.covariance``), exactly on the reported scale; they appear in
the lines and e(Cns), not in R.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.linalg import null_space

from ..exceptions import bad_value
from .newton import Criterion, newton_maximize

_TERM = re.compile(r"^(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)\s*\*\s*)?(.+)$")
_SPLIT = re.compile(r"(?<![0-9][eE])(?=[+-])")
_COVARIANCE = re.compile(r"(?:^|[][/*=+-])(?:var|cov)\(")


@dataclass(frozen=True)
class Constraints:
    """R (m, dim), r (m,); K (dim, dim - m); lines: Stata's display (also of the
    constraints on variance components, which hold through the covariance structures and
    add no row to R); table: e(Cns) as a DataFrame (columns: parameters and _r); k: the
    number of coefficients and auxiliary parameters (the first entries of theta)."""

    R: np.ndarray
    r: np.ndarray
    K: np.ndarray
    lines: tuple
    table: pd.DataFrame
    k: int

    @property
    def n_other(self):
        """Entries of theta after the coefficients and auxiliaries (the covariance psi)."""
        return self.R.shape[1] - self.k

    def project(self, theta):
        """The point nearest theta (in the constrained coordinates) that meets R theta = r."""
        R = self.R
        if not len(R):
            return np.asarray(theta, dtype=float)
        return theta + R.T @ np.linalg.solve(R @ R.T, self.r - R @ theta)


def _number(text):
    try:
        return float(text)
    except ValueError:
        return None


def linear_form(text, lookup, expr):
    """(coefficient vector over the parameters, constant) of a Stata linear expression
    such as ``"2*x1 - [y]x2 + 1"``: terms ``[number*]name`` or numbers joined by + and -.

    ``lookup``: ``lookup.names`` (the parameters) and ``lookup(name, expr)`` -> the index
    of ``name`` (raising a ValueError that quotes ``expr`` when it names none).  Shared by
    constraints() here and ``results.wald`` (test, lincom)."""
    coef, const = np.zeros(len(lookup.names)), 0.0
    for raw in _SPLIT.split(text.replace(" ", "")):
        if not raw:
            continue
        sign = -1.0 if raw[0] == "-" else 1.0
        term = raw.lstrip("+-")
        value = _number(term)
        if value is not None:
            const += sign * value
            continue
        factor, name = _TERM.match(term).groups()
        coef[lookup(name, expr)] += sign * (1.0 if factor is None else float(factor))
    return coef, const


class _Lookup:
    """Parameter names (coefficients, auxiliaries) and their Stata display names."""

    def __init__(self, x_names, aux_names, depvar):
        self.names = list(x_names) + list(aux_names)
        self.display = ([f"[{depvar}]{n}" for n in x_names]
                        + [f"[/]{n.lstrip('/')}" for n in aux_names])
        self.depvar = depvar
        self.order = sorted(range(len(self.names)), key=lambda j: self.names[j] == "_cons")

    def __call__(self, name, expr):
        eq = re.match(r"^\[([^\]]*)\](.+)$", name)
        if eq:
            name = ("/" + eq.group(2)) if eq.group(1) == "/" else eq.group(2)
            if eq.group(1) not in ("", "/", self.depvar):
                raise ValueError(bad_value("constraints", f"equations [{self.depvar}] or [/]",
                                           expr))
        for cand in (name, "/" + name):
            if cand in self.names:
                return self.names.index(cand)
        raise ValueError(bad_value("constraints", f"equations in the parameters {self.names}",
                                   expr))


class _CovarianceLookup:
    """Variance components by Stata's names (``var(x[g])``, ``cov(x[g],z[g])``), also
    written ``[var(x[g])]_cons``, ``[/]var(x[g])`` or ``/var(x[g])``; displayed ``[/]var(x[g])``."""

    def __init__(self, names):
        self.names = list(names)
        self.display = [f"[/]{n}" for n in self.names]
        self.order = list(range(len(self.names)))

    def __call__(self, name, expr):
        old = re.match(r"^\[((?:var|cov)\(.*\))\]_cons$", name)
        name = old.group(1) if old else re.sub(r"^(?:\[/\]|/)", "", name)
        if name in self.names:
            return self.names.index(name)
        raise ValueError(bad_value("constraints", f"equations in the variance components "
                                   f"{self.names}", expr))


def _display(row, rhs, lookup):
    """Stata's form of one constraint: '[y]x1 - [y]x2 = 0', coefficients as %g, in e(b)'s
    order (_cons after the covariates)."""
    parts = []
    for j in (j for j in lookup.order if row[j]):
        c = row[j]
        mag = "" if abs(c) == 1 else f"{abs(c):g}*"
        sign = "-" if c < 0 else "+"
        parts.append((sign, f"{mag}{lookup.display[j]}"))
    text = ("-" if parts[0][0] == "-" else "") + parts[0][1]
    text += "".join(f" {s} {t}" for s, t in parts[1:])
    value = f"{rhs:g}".replace("0.", ".", 1) if abs(rhs) < 1 else f"{rhs:g}"
    return f"{text} = {value}"


def _items(constraints):
    """The constraints as a list (one string or an iterable of them; None: none)."""
    if constraints is None:
        return []
    return [constraints] if isinstance(constraints, str) else list(constraints)


def names_covariance(expr):
    """Whether a constraint names a variance component (var(...) or cov(...))."""
    return isinstance(expr, str) and bool(_COVARIANCE.search(expr.replace(" ", "")))


def _equation(expr, lookup):
    """(row (n,), rhs) of 'lhs = rhs' over ``lookup``'s parameters: row theta = rhs."""
    if not isinstance(expr, str) or expr.count("=") != 1:
        raise ValueError(bad_value("constraints", "strings 'lhs = rhs' such as 'x = 0.5'",
                                   expr))
    left, right = expr.split("=")
    a, ca = linear_form(left, lookup, expr)
    b, cb = linear_form(right, lookup, expr)
    if not np.any(a - b):
        raise ValueError(bad_value("constraints", "equations involving a parameter", expr))
    return a - b, cb - ca


def covariance_equations(constraints, names):
    """[(expr, row over ``names``, rhs)] of the constraints naming variance components."""
    lookup = _CovarianceLookup(names)
    return [(expr, *_equation(expr, lookup)) for expr in _items(constraints)
            if names_covariance(expr)]


def parse_constraints(constraints, x_names, aux_names, depvar, dim, covariance=None):
    """Constraints for meglm's theta (dim,), or None when there are none.

    Constraints naming variance components hold through the covariance structures
    (``model.covariance.levels``): they add no row to R but, with ``covariance`` =
    (their names, implied [(row, rhs)] of fixed()/pattern()), a line and an e(Cns) row
    each, the implied ones after the user's.  Without ``covariance`` they are skipped.
    """
    lookup = _Lookup(x_names, aux_names, depvar)
    cov = None if covariance is None else _CovarianceLookup(covariance[0])
    linear, shown = [], []            # (row, rhs) of R; (row over both lookups, rhs, lookup)
    k = len(lookup.names)
    n_cov = 0 if cov is None else len(cov.names)
    for expr in _items(constraints):
        if names_covariance(expr):
            if cov is not None:
                row, rhs = _equation(expr, cov)
                shown.append((np.concatenate([np.zeros(k), row]), rhs, cov, row))
            continue
        row, rhs = _equation(expr, lookup)
        linear.append((row, rhs, expr))
        shown.append((np.concatenate([row, np.zeros(n_cov)]), rhs, lookup, row))
    for row, rhs in (() if covariance is None else covariance[1]):
        shown.append((np.concatenate([np.zeros(k), row]), rhs, cov, row))
    if not shown:
        return None
    R, r, K = _null_space_map(linear, k, dim)
    cols = [lookup.display[j] for j in lookup.order]
    cols += cov.display if cov is not None and len(shown) > len(linear) else []
    full = np.array([row[lookup.order + list(range(k, k + n_cov))][:len(cols)]
                     for row, *_ in shown])
    table = pd.DataFrame(np.column_stack([full, [rhs for _, rhs, *_ in shown]]),
                         columns=cols + ["_r"], index=[f"{j + 1}" for j in range(len(shown))])
    lines = tuple(_display(row, rhs, lk) for _, rhs, lk, row in shown)
    return Constraints(R, r, K, lines, table, k)


def _null_space_map(linear, k, dim):
    """(R (m, dim), r (m,), K (dim, dim - m)) of the m linear constraints
    [(row (k,), rhs, expr)] on the first k entries of theta (ValueError naming
    ``constraints`` if they are dependent)."""
    Rf = np.array([row for row, *_ in linear]).reshape(len(linear), k)
    r = np.array([rhs for _, rhs, _ in linear], dtype=float)
    if len(linear) and np.linalg.matrix_rank(Rf) < len(linear):
        raise ValueError(bad_value("constraints", "linearly independent equations",
                                   [expr for *_, expr in linear]))
    N = null_space(Rf) if len(linear) else np.eye(k)
    K = np.zeros((dim, dim - len(linear)))
    K[:k, :N.shape[1]] = N
    K[k:, N.shape[1]:] = np.eye(dim - k)
    return np.hstack([Rf, np.zeros((len(linear), dim - k))]), r, K


def constrained(refresh, theta_c, K):
    """refresh over gamma for ``newton_maximize``: value and K'grad at theta_c + K gamma, and
    K'HK when the criterion over theta has an exact Hessian."""
    def refresh_gamma(gamma, final=False):
        crit = refresh(theta_c + K @ gamma, final)

        def value_grad(g):
            value, grad = crit.value_grad(theta_c + K @ g)
            return value, K.T @ grad
        if crit.hessian is None:
            return Criterion(value_grad)
        return Criterion(value_grad, lambda g: K.T @ crit.hessian(theta_c + K @ g) @ K)
    return refresh_gamma


def guarded(refresh, feasible):
    """refresh whose criterion is -inf (a rejected step) where ``feasible(theta)`` is False."""
    def refresh_guarded(theta, final=False):
        crit = refresh(theta, final)

        def value_grad(t):
            if not feasible(t):
                return -np.inf, np.full(len(t), np.nan)
            return crit.value_grad(t)
        return Criterion(value_grad, crit.hessian)
    return refresh_guarded


def maximize(refresh, theta0, lower, cns, feasible=None, **kw):
    """newton_maximize, over gamma of theta = theta_c + K gamma under constraints, keeping
    to the theta where ``feasible`` (None: all) is True.

    The result's x is mapped back; its grad and hess stay in gamma (what the
    covariance K (-H_gamma)^-1 K' needs).
    """
    if feasible is not None:
        refresh = guarded(refresh, feasible)
    if cns is None:
        return newton_maximize(refresh, theta0, lower=lower, **kw)
    theta_c = cns.project(np.asarray(theta0, dtype=float))
    K = cns.K
    free = K.shape[1]
    lower_g = np.full(free, -np.inf)
    n_psi = cns.n_other
    if lower is not None and n_psi:
        lower_g[free - n_psi:] = lower[-n_psi:] - theta_c[-n_psi:]
    fit = newton_maximize(constrained(refresh, theta_c, K), np.zeros(free), lower=lower_g, **kw)
    return replace(fit, x=theta_c + K @ fit.x)


__all__ = ["Constraints", "constrained", "covariance_equations", "guarded", "linear_form",
           "maximize", "names_covariance", "parse_constraints"]
