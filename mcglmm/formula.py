"""Split an lme4-style formula into its fixed part and its random-effects terms.

    "y ~ x + (1 + x | g) + (1 | school/class)"
        -> fixed "y ~ x",
           terms [RandomTerm("1 + x", ("g",)), RandomTerm("1", ("school",)),
                  RandomTerm("1", ("school", "class"))]

A grouping ``a/b`` means ``a`` and ``a:b``; ``a:b`` is the interaction of the
factors (the groups of ``b`` within ``a``).  Errors quote the formula.
"""
from __future__ import annotations

from dataclasses import dataclass

from .exceptions import FormulaError


@dataclass(frozen=True)
class RandomTerm:
    """expr: right side of the bar ("1 + x"); group: factor names, outermost first."""

    expr: str
    group: tuple


def _split_top(text, sep):
    """Split ``text`` on ``sep`` outside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            raise ValueError("unbalanced parentheses")
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise ValueError("unbalanced parentheses")
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def _parse_bar(inner, formula):
    """Terms of one "(expr | grouping)"."""
    if "||" in inner:
        raise FormulaError(f"formula {formula!r}: '||' is not supported; write separate "
                           "(1 | g) + (0 + x | g) terms (independent is the default covariance).")
    expr, _, grouping = inner.partition("|")
    expr, grouping = expr.strip(), grouping.strip()
    if not expr or not grouping:
        raise FormulaError(f"formula {formula!r}: random term ({inner}) needs 'expr | group'.")
    names = [g.strip() for g in grouping.replace("/", ":").split(":")]
    if any(not n.isidentifier() for n in names):
        raise FormulaError(f"formula {formula!r}: grouping {grouping!r} must be factor names "
                           "joined by ':' or '/'.")
    if "/" in grouping:
        return [RandomTerm(expr, tuple(names[:i + 1])) for i in range(len(names))]
    return [RandomTerm(expr, tuple(names))]


def split_formula(formula):
    """(fixed formula string, tuple of RandomTerm) for an lme4-style formula."""
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise FormulaError(f"formula must be a two-sided string such as 'y ~ x + (1 | g)'; "
                           f"got {formula!r}.")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    if not lhs:
        raise FormulaError(f"formula {formula!r} has no response.")
    try:
        pieces = _split_top(rhs, "+")
    except ValueError:
        raise FormulaError(f"formula {formula!r} has unbalanced parentheses.") from None
    fixed, terms = [], []
    for piece in pieces:
        if piece.startswith("(") and piece.endswith(")") and "|" in piece:
            terms.extend(_parse_bar(piece[1:-1], formula))
        elif "|" in piece:
            raise FormulaError(f"formula {formula!r}: random term {piece!r} must be written "
                               "in parentheses, as (1 | g).")
        elif piece:
            fixed.append(piece)
        else:
            raise FormulaError(f"formula {formula!r} has an empty term.")
    if not terms:
        raise FormulaError(f"formula {formula!r} has no random-effects term such as (1 | g).")
    return f"{lhs} ~ {' + '.join(fixed) if fixed else '1'}", tuple(terms)
