"""Split an lme4-style formula into its fixed part and its random-effects terms.

    "y ~ x + (1 + x | g) + (1 | school/class)"
        -> fixed "y ~ x",
           terms [RandomTerm("1 + x", ("g",)), RandomTerm("1", ("school",)),
                  RandomTerm("1", ("school", "class"))]

A grouping ``a/b`` means ``a`` and ``a:b``; ``a:b`` is the interaction of the
factors (the groups of ``b`` within ``a``).  Stata's crossed spelling ``|| _all: R.male``
is written ``(1 | _all:R.male)``: the same model as ``(1 | male)`` (one variance for the
indicators of male's levels), labelled as Stata labels it, ``_all>male``, with the
observations forming the one group ``_all`` of the group table.  Errors quote the formula.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .exceptions import FormulaError


_ALL_R = re.compile(r"^_all\s*:\s*R\.([A-Za-z_]\w*)$")


@dataclass(frozen=True)
class RandomTerm:
    """expr: right side of the bar ("1 + x"); group: factor names, outermost first;
    label: Stata's name of the level when spelled ``_all:R.x`` ("_all>x"), else None."""

    expr: str
    group: tuple
    label: str = None


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
    crossed = _ALL_R.match(grouping)
    if crossed:
        if "".join(expr.split()) != "1":
            raise FormulaError(f"formula {formula!r}: ({inner}) must be (1 | _all:R.name) "
                               "(R.name gives the random intercepts of name's levels).")
        return [RandomTerm("1", (crossed.group(1),), f"_all>{crossed.group(1)}")]
    names = [g.strip() for g in grouping.replace("/", ":").split(":")]
    if any(not n.isidentifier() for n in names):
        raise FormulaError(f"formula {formula!r}: grouping {grouping!r} must be factor names "
                           "joined by ':' or '/'.")
    if "/" in grouping:
        return [RandomTerm(expr, tuple(names[:i + 1])) for i in range(len(names))]
    return [RandomTerm(expr, tuple(names))]


def formula_offset(formula):
    """(formula without its ``offset(expr)`` term, expr or None): R's and lme4's spelling of
    an offset inside the formula, ``"y ~ x + offset(log_t) + (1 | g)"``.  One offset term
    at most."""
    if not isinstance(formula, str) or formula.count("~") != 1:
        return formula, None
    lhs, rhs = formula.split("~")
    try:
        pieces = _split_top(rhs, "+")
    except ValueError:
        return formula, None
    offsets = [p for p in pieces if p.startswith("offset(") and p.endswith(")")]
    if not offsets:
        return formula, None
    if len(offsets) > 1:
        raise FormulaError(f"formula {formula!r} has {len(offsets)} offset() terms; give one "
                           "(a sum inside it adds offsets).")
    expr = offsets[0][len("offset("):-1].strip()
    if not expr:
        raise FormulaError(f"formula {formula!r}: offset() needs a column or an expression.")
    rest = [p for p in pieces if p is not offsets[0]]
    return f"{lhs.strip()} ~ {' + '.join(rest) if rest else '1'}", expr


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
