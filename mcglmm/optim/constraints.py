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


@dataclass(frozen=True)
class Constraints:
    """R (m, dim), r (m,); K (dim, dim - m); theta_c (dim,) meets them; lines: Stata's
    display; table: e(Cns) as a DataFrame (columns: parameters and _r)."""

    R: np.ndarray
    r: np.ndarray
    K: np.ndarray
    lines: tuple
    table: pd.DataFrame

    @property
    def n_other(self):
        """Entries of theta after the coefficients and auxiliaries (the covariance psi)."""
        return self.R.shape[1] - (self.table.shape[1] - 1)

    def project(self, theta):
        """The point nearest theta (in the constrained coordinates) that meets R theta = r."""
        R = self.R
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


def parse_constraints(constraints, x_names, aux_names, depvar, dim):
    """Constraints for meglm's theta (dim,), or None when ``constraints`` is None/empty."""
    if constraints is None:
        return None
    items = [constraints] if isinstance(constraints, str) else list(constraints)
    if not items:
        return None
    lookup = _Lookup(x_names, aux_names, depvar)
    rows, rhs = [], []
    for expr in items:
        if not isinstance(expr, str) or expr.count("=") != 1:
            raise ValueError(bad_value("constraints", "strings 'lhs = rhs' such as 'x = 0.5'",
                                       expr))
        left, right = expr.split("=")
        a, ca = linear_form(left, lookup, expr)
        b, cb = linear_form(right, lookup, expr)
        if not np.any(a - b):
            raise ValueError(bad_value("constraints", "equations involving a parameter", expr))
        rows.append(a - b)
        rhs.append(cb - ca)
    Rf, r = np.array(rows), np.array(rhs)
    if np.linalg.matrix_rank(Rf) < len(rows):
        raise ValueError(bad_value("constraints", "linearly independent equations", items))
    k = len(lookup.names)
    R = np.hstack([Rf, np.zeros((len(rows), dim - k))])
    N = null_space(Rf)
    K = np.zeros((dim, dim - len(rows)))
    K[:k, :N.shape[1]] = N
    K[k:, N.shape[1]:] = np.eye(dim - k)
    table = pd.DataFrame(np.column_stack([Rf[:, lookup.order], r]),
                         columns=[lookup.display[j] for j in lookup.order] + ["_r"],
                         index=[f"{j + 1}" for j in range(len(rows))])
    lines = tuple(_display(row, c, lookup) for row, c in zip(Rf, r))
    return Constraints(R, r, K, lines, table)


def constrained(refresh, theta_c, K):
    """refresh over gamma for ``newton_maximize``: value and K'grad at theta_c + K gamma,
    K'HK when the criterion over theta has an exact Hessian, and scores S K when it has
    per-group scores S."""
    def refresh_gamma(gamma, final=False):
        crit = refresh(theta_c + K @ gamma, final)

        def value_grad(g):
            value, grad = crit.value_grad(theta_c + K @ g)
            return value, K.T @ grad
        hessian = None if crit.hessian is None else \
            (lambda g: K.T @ crit.hessian(theta_c + K @ g) @ K)
        scores = None if crit.scores is None else (lambda g: crit.scores(theta_c + K @ g) @ K)
        return Criterion(value_grad, hessian, scores)
    return refresh_gamma


def maximize(refresh, theta0, lower, cns, **kw):
    """newton_maximize, over gamma of theta = theta_c + K gamma under constraints.

    The result's x is mapped back; its grad and hess stay in gamma (what the
    covariance K (-H_gamma)^-1 K' needs).
    """
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


__all__ = ["Constraints", "constrained", "linear_form", "maximize", "parse_constraints"]
