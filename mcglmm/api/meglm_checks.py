"""meglm's option checks and Stata's integration defaults: scalar options before any data
work, then the integration method, its points and its refusals for the model at hand."""
from __future__ import annotations

import numbers

import numpy as np

from .._checks import INTMETHODS, LAPLACE_METHODS, PC_METHODS
from ..engines.quadrature.laplace import MAX_Q_GRADIENT, schur_order
from ..exceptions import bad_value

STARTVALUES = ("fixedonly", "constantonly", "zero", "iv")


def check_options(intmethod, intpoints, vce, level, iterate, tolerance, startvalues, startgrid):
    """Scalar options, checked before any data work."""
    if intmethod is not None and intmethod not in INTMETHODS:
        raise ValueError(bad_value("intmethod", "one of " + ", ".join(INTMETHODS), intmethod))
    if intpoints is not None:
        if intmethod in LAPLACE_METHODS:
            raise ValueError(bad_value("intpoints", f"None with intmethod={intmethod!r} (the "
                                       "Laplace approximation uses one point)", intpoints))
        if not _is_number(intpoints, numbers.Integral) or not 1 <= intpoints <= 128:
            raise ValueError(bad_value("intpoints", "an integer between 1 and 128", intpoints))
    parse_vce(vce)
    if not _is_number(level) or not 10 <= level <= 99.99:
        raise ValueError(bad_value("level", "a confidence level between 10 and 99.99", level))
    if not _is_number(iterate, numbers.Integral) or iterate < 0:
        raise ValueError(bad_value("iterate", "a non-negative integer", iterate))
    if not _is_number(tolerance) or not 0 < tolerance < np.inf:
        raise ValueError(bad_value("tolerance", "a positive finite number", tolerance))
    if startvalues not in STARTVALUES:
        raise ValueError(bad_value("startvalues", "one of " + ", ".join(STARTVALUES), startvalues))
    if not (startgrid is None or startgrid is True or isinstance(startgrid, (list, tuple, dict))):
        raise ValueError(bad_value("startgrid", "None, True, a list of variances or a dict "
                                   "{term: values}", startgrid))


def _is_number(value, kind=numbers.Real):
    """Whether value is a number of ``kind`` (Python's or numpy's), a bool not counting."""
    return isinstance(value, kind) and not isinstance(value, bool)


def parse_vce(vce):
    """("oim" | "opg" | "robust" | "cluster", cluster variable or None) from Stata's vce()."""
    if isinstance(vce, str) and vce in ("oim", "opg", "robust"):
        return vce, None
    if (isinstance(vce, tuple) and len(vce) == 2 and vce[0] == "cluster"
            and isinstance(vce[1], str)):
        return "cluster", vce[1]
    raise ValueError(bad_value("vce", "'oim', 'opg', 'robust' or ('cluster', column name)", vce))


def integration(model, intmethod, intpoints):
    """(intmethod, points, notes): Stata's defaults and refusals for this model."""
    notes = []
    if intmethod is None:
        intmethod = "mvaghermite" if model.nested else "laplace"
        if not model.nested:
            notes.append("crossed random-effects model specified; option intmethod(laplace) "
                         "implied")
    elif not model.nested and intmethod not in ("laplace", "mcaghermite"):
        raise ValueError(bad_value("intmethod", "'laplace' or 'mcaghermite' for a crossed model "
                                   "(its quadrature is over all random effects jointly, at "
                                   "their mode and curvature)", intmethod))
    _check_pc(model, intmethod)
    if intmethod in LAPLACE_METHODS and intpoints is not None:
        raise ValueError(bad_value("intpoints", "None for a crossed model (the Laplace "
                                   "approximation is implied)", intpoints))
    if intmethod == "laplace":
        _check_laplace_size(model, intmethod)
    k = 1 if intmethod in LAPLACE_METHODS else (7 if intpoints is None else int(intpoints))
    return intmethod, k, notes


def _check_pc(model, intmethod):
    """Stata: pcaghermite and pclaplace "are available only with family(binomial) and
    family(bernoulli) combined with link(logit) and with family(poisson)"."""
    if intmethod in PC_METHODS and not model.family.canonical:
        fam = f"family({model.family.name}) link({model.family.link.name})"
        raise ValueError(bad_value(
            "intmethod", f"mvaghermite, mcaghermite, ghermite or laplace with {fam} "
            f"(intmethod({intmethod}) is available only with family(binomial) and "
            "family(bernoulli) combined with link(logit) and with family(poisson))", intmethod))


def _check_laplace_size(model, intmethod):
    """The Laplace gradient needs the dense inverse of the Schur complement of H on all levels
    but the largest: refuse more than MAX_Q_GRADIENT random effects outside that level
    (naming intmethod when quadrature is possible)."""
    q = schur_order(model)
    if q <= MAX_Q_GRADIENT:
        return
    why = (f"at most {MAX_Q_GRADIENT} random effects outside its largest level with the "
           "Laplace approximation (its gradient inverts their Schur complement)")
    if model.nested:
        raise ValueError(bad_value("intmethod", f"'mvaghermite', 'mcaghermite' or 'ghermite' for "
                                   f"this nested model with {q} random effects outside its "
                                   f"largest level; {why}", intmethod))
    raise ValueError(bad_value("formula", f"a crossed model with {why}",
                               f"{q} random effects outside the largest level"))


def eform_label(eform, or_, irr):
    """Column title of exponentiated coefficients, or None."""
    if or_:
        return "Odds ratio"
    if irr:
        return "IRR"
    return "exp(b)" if eform else None


__all__ = ["check_options", "eform_label", "integration", "parse_vce"]
