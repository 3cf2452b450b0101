"""Stata's test, lincom and nlcom on any fit's params b (P,) and cov_params() V (P, P).

    test:    H0: R b = r (m rows),  chi2 = (R b - r)' (R V R')^- (R b - r),
             df = rank(R V R'), p = P(chi2_df > chi2);
    lincom:  c' b - c0 with se = sqrt(c' V c), z = est / se, Wald interval est -/+ z_a se;
    nlcom:   f(b) with V_f = G V G' (delta method), G (k, P) the Jacobian of f by central
             differences, h_j = 6.1e-6 max(1, |b_j|) (cube root of machine epsilon).

Expressions are Stata's linear expressions, parsed by ``optim.constraints.linear_form``:
``"week"``, ``"[weight]week = 6"``, ``"_b[week] + 2*_b[_cons]"``, ``"2*x1 - x2 = 1"``.
A parameter is named as in ``params`` (``"weight:week"``), as ``[eq]label`` or ``_b[...]``,
by its label alone when unique, or (meglm) as Stata's ``var(_cons[id])``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..exceptions import bad_value
from ..optim.constraints import linear_form
from .stata_text import coef_row, table_head

_STATA_VAR = re.compile(r"^(var|cov)\((.+)\)$")
_IN_GROUP = re.compile(r"^(.+)\[([^\]]+)\]$")
STEP = np.finfo(float).eps ** (1 / 3)


class ParamLookup:
    """Resolves parameter names of a fit (``names``: params' index) and displays them."""

    def __init__(self, names, equations):
        self.names = list(names)
        self.equations = equations      # whether names are "eq:label" (meglm)
        self._split = [n.split(":", 1) if equations and ":" in n else ["", n]
                       for n in self.names]

    def display(self, j):
        """Stata's name of parameter j: [weight]week, [/]var(_cons[id]), [/]cut1."""
        eq, label = self._split[j]
        if not self.equations:
            return label
        if eq in ("", "/"):
            return f"[/]{label.lstrip('/')}"
        kind = _STATA_VAR.match(label)
        if kind and eq in self._group_equations():
            inner = ",".join(f"{a}[{eq}]" for a in kind.group(2).split(","))
            return f"[/]{kind.group(1)}({inner})"
        return f"[{eq}]{label}"

    def _group_equations(self):
        return {eq for eq, label in self._split if _STATA_VAR.match(label)}

    def __call__(self, name, expr):
        name = re.sub(r"^_b\[(.+)\]$", r"\1", name)
        for cand in self._candidates(name):
            if cand in self.names:
                return self.names.index(cand)
        labels = [j for j, (eq, lab) in enumerate(self._split) if lab in (name, "/" + name)]
        if len(labels) == 1:
            return labels[0]
        raise ValueError(bad_value("expression", f"names among the parameters {self.names}",
                                   expr))

    def _candidates(self, name):
        """Spellings of name in params' index: as given, [eq]label, var(x[g])."""
        out = [name]
        eq = re.match(r"^\[([^\]]*)\](.+)$", name)
        if eq:
            e, label = eq.groups()
            out += [f"{e}:{label}", f"{e}:/{label}"] + ([label, "/" + label] if e == "/" else [])
            name = label
        kind = _STATA_VAR.match(name)
        if kind:
            parts = [_IN_GROUP.match(a) for a in kind.group(2).split(",")]
            if all(parts) and len({m.group(2) for m in parts}) == 1:
                inner = ",".join(m.group(1) for m in parts)
                out.append(f"{parts[0].group(2)}:{kind.group(1)}({inner})")
        return out


def _lookup(fit):
    return ParamLookup(fit.params.index, getattr(fit, "front", "") == "meglm")


def _row(expr, lookup, need_equation=False):
    """(coefficients (P,), rhs) of 'lhs = rhs', or of 'lhs' meaning lhs = 0."""
    if not isinstance(expr, str) or expr.count("=") > 1 or (need_equation and "=" not in expr):
        raise ValueError(bad_value("expression", "a string such as 'x', 'x = 0.5' or "
                                   "'[y]x1 = [y]x2'", expr))
    left, _, right = expr.partition("=")
    a, ca = linear_form(left, lookup, expr)
    b, cb = linear_form(right, lookup, expr) if right else (np.zeros(len(a)), 0.0)
    if not np.any(a - b):
        raise ValueError(bad_value("expression", "an expression involving a parameter", expr))
    return a - b, cb - ca


def _display(row, rhs, lookup):
    """Stata's ' ( 1)  [weight]week - 2*[weight]_cons = 0' text of one row (without the number)."""
    parts = []
    for j in np.flatnonzero(row):
        c = row[j]
        mag = "" if abs(c) == 1 else f"{abs(c):g}*"
        parts.append(("-" if c < 0 else "+", mag + lookup.display(j)))
    text = ("-" if parts[0][0] == "-" else "") + parts[0][1]
    text += "".join(f" {s} {t}" for s, t in parts[1:])
    value = f"{rhs:g}"
    value = value.replace("0.", ".", 1) if abs(rhs) < 1 else value
    return f"{text} = {value}"


def _items(args):
    """The constraints of test(*args): strings or lists of them; 'x z' is x = 0, z = 0."""
    out = []
    for a in args:
        for item in ([a] if isinstance(a, str) else list(a)):
            if isinstance(item, str) and "=" not in item and not re.search(r"[-+*]", item):
                out += item.split()
            else:
                out.append(item)
    if not out:
        raise ValueError(bad_value("expression", "at least one constraint", args))
    return out


@dataclass(frozen=True)
class WaldTest:
    """Stata's test: chi2, df, p (r(chi2), r(df), r(p)), R (m, P), r (m,), the constraint
    lines, dropped (1-based numbers of redundant constraints) and the printed ``text``."""

    chi2: float
    df: int
    p: float
    R: np.ndarray
    r: np.ndarray
    lines: tuple
    dropped: tuple
    text: str

    def __str__(self):
        return self.text

    __repr__ = __str__


def _independent(R):
    """Indices of rows of R kept (each not a combination of the earlier ones), the dropped."""
    kept, dropped = [], []
    for i in range(len(R)):
        trial = R[kept + [i]]
        (kept if np.linalg.matrix_rank(trial) == len(kept) + 1 else dropped).append(i)
    return kept, dropped


def test(fit, *constraints):
    """Wald test of linear constraints on ``fit.params`` (Stata's test); see the module doc."""
    lookup = _lookup(fit)
    pairs = [_row(e, lookup) for e in _items(constraints)]
    R, r = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    kept, dropped = _independent(R)
    b, V = fit.params.to_numpy(), fit.cov_params().to_numpy()
    d = R[kept] @ b - r[kept]
    W = R[kept] @ V @ R[kept].T
    lam, U = np.linalg.eigh(W)
    ok = lam > 1e-12 * max(lam.max(), 0.0)
    proj = U[:, ok].T @ d
    chi2, df = float(proj @ (proj / lam[ok])), int(ok.sum())
    p = float(stats.chi2.sf(chi2, df))
    lines = tuple(_display(row, c, lookup) for row, c in zip(R, r))
    text = "\n".join([""] + [f" ({j + 1:>2})  {t}" for j, t in enumerate(lines)] + [""]
                     + [f"       Constraint {j + 1} dropped" for j in dropped]
                     + ([""] if dropped else [])
                     + [f"{'':11}chi2({df:>3}) ={chi2:8.2f}", f"{'':9}Prob > chi2 ={p:10.4f}"])
    return WaldTest(chi2, df, p, R, r, lines, tuple(j + 1 for j in dropped), text)


@dataclass(frozen=True)
class Combination:
    """lincom/nlcom: ``table`` one row per combination (estimate, se, z, p, ll, ul: Stata's
    r(estimate), r(se), r(z), r(p), r(lb), r(ub) for one), ``b``/``V`` (nlcom's r(b),
    r(V)), the printed ``text``.  Attributes estimate, se, z, p, lb, ub: the first row."""

    table: pd.DataFrame
    b: pd.Series
    V: pd.DataFrame
    text: str

    def __getattr__(self, name):
        column = {"estimate": "estimate", "se": "se", "z": "z", "p": "p", "lb": "ll",
                  "ub": "ul"}.get(name)
        if column is None:
            raise AttributeError(name)
        return float(self.table[column].iloc[0])

    def __str__(self):
        return self.text

    __repr__ = __str__


def _combination(names, est, V, level, title, label, heading):
    """The table and text of combinations est (k,) with covariance V (k, k)."""
    se = np.sqrt(np.maximum(np.diag(V), 0.0))
    crit = stats.norm.ppf(0.5 + level / 200.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, est / se, np.nan)
    p = 2 * stats.norm.sf(np.abs(z))
    lo, hi = est - crit * se, est + crit * se
    table = pd.DataFrame({"estimate": est, "se": se, "z": z, "p": p, "ll": lo, "ul": hi},
                         index=names)
    shown = (np.exp(est), np.exp(est) * se, np.exp(lo), np.exp(hi)) if label else (est, se, lo, hi)
    rows = [coef_row(n, shown[0][j], shown[1][j], z[j], p[j], shown[2][j], shown[3][j])
            for j, n in enumerate(names)]
    text = "\n".join(heading + [""] + table_head(title, label, level) + rows + ["-" * 78])
    return Combination(table, pd.Series(est, index=names),
                       pd.DataFrame(V, index=names, columns=names), text)


def _level(fit, level):
    level = 100.0 * fit.default_level if level is None else level
    if not isinstance(level, (int, float)) or isinstance(level, bool) or not 10 <= level <= 99.99:
        raise ValueError(bad_value("level", "a confidence level between 10 and 99.99", level))
    return float(level)


def _eform(eform, or_, irr):
    return "Odds ratio" if or_ else "IRR" if irr else "exp(b)" if eform else None


def _title(fit, lookup, row):
    """The table's corner: the equation when every term is in one (meglm), else blank."""
    eqs = {lookup._split[j][0] for j in np.flatnonzero(row)}
    return eqs.pop() if len(eqs) == 1 and lookup.equations else ""


def lincom(fit, expression, level=None, eform=False, or_=False, irr=False):
    """Linear combination of ``fit.params`` (Stata's lincom), e.g. ``"week + _cons"``."""
    lookup = _lookup(fit)
    row, rhs = _row(expression, lookup) if "=" not in str(expression) else (None, None)
    if row is None:
        raise ValueError(bad_value("expression", "a linear expression without '='", expression))
    const = -rhs
    est = np.array([row @ fit.params.to_numpy() + const])
    V = np.array([[row @ fit.cov_params().to_numpy() @ row]])
    heading = ["", f" ( 1)  {_display(row, -const, lookup)}"]
    return _combination(["(1)"], est, V, _level(fit, level), _title(fit, lookup, row),
                        _eform(eform, or_, irr), heading)


def jacobian(f, b):
    """(k, P) Jacobian of f: (P,) -> (k,) at b by central differences (see the module doc)."""
    cols = []
    for j in range(len(b)):
        h = STEP * max(1.0, abs(b[j]))
        e = np.zeros(len(b))
        e[j] = h
        cols.append((np.atleast_1d(f(b + e)) - np.atleast_1d(f(b - e))) / (2 * h))
    return np.column_stack(cols)


def nlcom(fit, func, name=None, level=None):
    """Delta-method estimate of func(params) (Stata's nlcom): ``func`` takes the params
    Series and returns a number, a vector or a Series (its index naming the rows)."""
    if not callable(func):
        raise TypeError(bad_value("func", "a callable of the parameter Series", func))
    params = fit.params
    value = func(params.copy())
    index = list(value.index) if isinstance(value, pd.Series) else None

    def f(x):
        return np.asarray(func(pd.Series(x, index=params.index)), dtype=float)
    est = np.atleast_1d(np.asarray(value, dtype=float))
    if index is None:
        base = name or "_nl"
        index = [base] if len(est) == 1 and name else [f"{base}_{j + 1}" for j in range(len(est))]
    G = jacobian(f, params.to_numpy())
    V = G @ fit.cov_params().to_numpy() @ G.T
    what = getattr(func, "__name__", "function")
    heading = [""] + [f"{n:>12}: {what}" for n in index]
    return _combination([str(n) for n in index], est, V, _level(fit, level),
                        getattr(fit, "depvar", "") or "", None, heading)


class WaldMethods:
    """test/lincom/nlcom as methods of a result (anything with params and cov_params())."""

    def test(self, *constraints):
        """Stata's test: a Wald test of linear constraints (``results.wald.test``)."""
        return test(self, *constraints)

    def lincom(self, expression, level=None, eform=False, or_=False, irr=False):
        """Stata's lincom: a linear combination (``results.wald.lincom``)."""
        return lincom(self, expression, level, eform, or_, irr)

    def nlcom(self, func, name=None, level=None):
        """Stata's nlcom: the delta method for a callable (``results.wald.nlcom``)."""
        return nlcom(self, func, name, level)


__all__ = ["Combination", "ParamLookup", "WaldMethods", "WaldTest", "jacobian", "lincom",
           "nlcom", "test"]
