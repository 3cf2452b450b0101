"""Evaluating formulas: in the caller's namespace, with patsy's errors made mcglmm's.

Functions in a formula (``np.log(x)``, ``log(income)`` after ``from numpy import log``)
resolve as statsmodels resolves them: in the namespace of the code that called mcglmm
(the first frame outside the package), with ``np`` (numpy) and ``cbind`` always
available.  A patsy error becomes a ``FormulaError`` that quotes the formula and the
offending term (patsy's ``origin`` span), never a raw patsy traceback.
"""
from __future__ import annotations

import ast
import sys
import tokenize

import numpy as np
import patsy

from ..exceptions import FormulaError


def cbind(*columns):
    """R's cbind for a formula's left-hand side: columns side by side, shape (n, k)."""
    return np.column_stack([np.asarray(c, dtype=float) for c in columns])


_OWN = {"np": np, "cbind": cbind}


def _inside_mcglmm(frame):
    name = frame.f_globals.get("__name__", "")
    return name == "mcglmm" or name.startswith("mcglmm.")


def caller_env():
    """patsy EvalEnvironment: mcglmm's names (np, cbind), then the caller's locals and globals."""
    frame = sys._getframe(1)
    while frame is not None and _inside_mcglmm(frame):
        frame = frame.f_back
    spaces = [] if frame is None else [frame.f_locals, frame.f_globals]
    return patsy.EvalEnvironment([_OWN] + spaces)


def formula_error(err, formula, what="formula"):
    """FormulaError for a PatsyError raised on ``formula``: formula, term and patsy's reason."""
    origin = getattr(err, "origin", None)
    reason = getattr(err, "message", None) or str(err)
    term = ""
    if origin is not None and origin.code and origin.end > origin.start:
        term = f" term {origin.code[origin.start:origin.end]!r}:"
    return FormulaError(f"{what} {formula!r}:{term} {reason}")


def _guard(call, formula, what):
    try:
        return call()
    except patsy.PatsyError as err:
        raise formula_error(err, formula, what) from None
    except (SyntaxError, tokenize.TokenError) as err:
        raise FormulaError(f"{what} {formula!r} is not a valid formula: {err}") from None
    except (AssertionError, ArithmeticError, LookupError, ValueError, TypeError) as err:
        if isinstance(err, FormulaError):
            raise
        raise FormulaError(f"{what} {formula!r} could not be evaluated: "
                           f"{type(err).__name__}: {err}") from None


def dmatrices(formula, data, what="formula"):
    """patsy.dmatrices(formula, data) in the caller's namespace; FormulaError on failure."""
    env = caller_env()
    return _guard(lambda: patsy.dmatrices(formula, data, eval_env=env, NA_action="raise",
                                          return_type="matrix"), formula, what)


def dmatrix(rhs, data, formula=None, what="formula"):
    """patsy.dmatrix(rhs, data) in the caller's namespace; errors quote ``formula`` (or rhs)."""
    env = caller_env()
    return _guard(lambda: patsy.dmatrix(rhs, data, eval_env=env, NA_action="raise",
                                        return_type="matrix"),
                  rhs if formula is None else formula, what)


def vector(expr, data, what="formula"):
    """The expression ``expr`` evaluated on every row of data, (len(data),) floats with NaN
    where an input is missing (an offset(expr) term; patsy's I() in the caller's namespace)."""
    env = caller_env()
    keep_nan = patsy.NAAction(NA_types=[])
    M = _guard(lambda: patsy.dmatrix(f"0 + I({expr})", data, eval_env=env, NA_action=keep_nan,
                                     return_type="matrix"), expr, what)
    if M.shape[1] != 1:
        raise FormulaError(f"{what} {expr!r} must give one number per row; got {M.shape[1]} "
                           "columns.")
    return np.asarray(M, dtype=float)[:, 0]


def model_desc(formula, what="formula"):
    """patsy ModelDesc of a formula string; FormulaError on a syntax error."""
    return _guard(lambda: patsy.ModelDesc.from_formula(formula), formula, what)


def _names_in(code):
    """Python names and Q("...") strings a factor's code refers to."""
    tokens = list(patsy.tokens.python_tokenize(code))
    names = set()
    for i, (kind, text, _) in enumerate(tokens):
        if kind == tokenize.NAME:
            names.add(text)
        elif kind == tokenize.STRING and i >= 2 and tokens[i - 1][1] == "(" and tokens[i - 2][1] == "Q":
            try:
                names.add(ast.literal_eval(text))
            except (ValueError, SyntaxError):
                pass
    return names


def formula_variables(formula, data, what="formula"):
    """Names of the columns of ``data`` a patsy formula refers to (both sides), Q("a b") too."""
    desc = model_desc(formula, what)
    columns = set(map(str, data.columns))
    used = set()
    for term in list(desc.lhs_termlist) + list(desc.rhs_termlist):
        for factor in term.factors:
            used |= _names_in(factor.name()) & columns
    return used


def response_variables(formula, data):
    """Columns of ``data`` the left-hand side of a two-sided formula refers to."""
    lhs = formula.split("~")[0].strip() if isinstance(formula, str) and "~" in formula else ""
    return formula_variables(f"{lhs} ~ 1", data, "formula") if lhs else set()


__all__ = ["caller_env", "cbind", "dmatrices", "dmatrix", "formula_error", "formula_variables",
           "model_desc", "response_variables", "vector"]
