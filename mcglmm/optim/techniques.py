"""Stata's maximize options for the one Newton driver (``optim.newton``): the technique
schedule, the curvature each technique uses, the stepping rule in non-concave regions and
the stopping rules.

Techniques (Stata's ``technique(algorithm_spec)``), each giving the matrix H (P, P) that
stands for the Hessian of the maximised log likelihood in the step (-H)^-1 g:

- ``nr``: the Hessian itself (exact, or differences of the analytic gradient with BFGS
  updates in between, as ``newton_maximize`` documents);
- ``bhhh``: minus the outer product of the per-top-level-group scores s_g (G, P),
  H = -sum_g s_g s_g' (``outer_product``: Berndt, Hall, Hall and Hausman);
- ``dfp``, ``bfgs``: quasi-Newton updates of H after every step s with gradient change
  y (``quasi_update``), started from the Hessian where the technique takes over.

A schedule such as ``"bhhh 5 nr 10"`` runs 5 iterations of bhhh, 10 of nr, and cycles
(Stata: a technique without a count runs 5 iterations); ``technique_at(schedule, it)`` is
the technique of iteration ``it``.  Whatever the technique, convergence is declared only
with the real Hessian (Stata's default, where ``qtolerance`` is not given).

Stopping (Stata's [R] maximize): with b_k, l_k the coefficients and log likelihood at
iteration k, converged when -H is positive definite and

    (nonrtolerance or g (-H)^-1 g' < nrtolerance)
    and (mreldif(b_k, b_{k-1}) <= tolerance or |l_k - l_{k-1}| / (|l_{k-1}| + 1) <= ltolerance),

mreldif(x, y) = max_j |x_j - y_j| / (|y_j| + 1).

``difficult``: where -H is not positive definite, the default step (Newton on the
eigenvalues lam of -H replaced by max(|lam|, floor)) is replaced by Marquardt's shift,
Newton on -H + mu I with mu = -min(lam) + 1e-3 max|lam|: every direction's curvature is
raised by the same amount, so the step lies between Newton's (mu -> 0) and steepest
ascent's (mu large).  Stata documents ``difficult`` only as "a different stepping algorithm
in nonconcave regions" (Mata's optimize() describes its alternative as a mixture of
steepest ascent and Newton); this is such a mixture, not Stata's unpublished algorithm.
On pig's random intercept started at (6, 19, 0, 3) it converges in 15 iterations against
the default's 23, to the same log likelihood.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .._checks import flag, real
from ..exceptions import ArgumentError, ArgumentTypeError, bad_value

TECHNIQUES = ("nr", "bhhh", "dfp", "bfgs")
DEFAULT_COUNT = 5     # Stata: iterations of a technique given without a count
MARQUARDT = 1e-3     # difficult: the shift's margin above -min(lam), relative to max|lam|
DISPLAY = ("trace", "gradient", "showstep", "hessian", "showtolerance")


def parse_technique(spec):
    """((technique, iterations), ...) from Stata's algorithm_spec, e.g. "bhhh 5 nr 10".

    A single technique runs throughout (its count, if any, is ignored, as Stata does);
    in a list, a technique without a count runs ``DEFAULT_COUNT`` iterations.  Unknown
    names and counts that are not positive integers are refused (ValueError naming
    ``technique``).
    """
    allowed = ("a string of techniques among " + ", ".join(TECHNIQUES) + ", each with an "
               "optional positive iteration count, e.g. 'bhhh 5 nr 10'")
    if not isinstance(spec, str):
        raise ArgumentTypeError(bad_value("technique", allowed, spec))
    if not spec.split():
        raise ArgumentError(bad_value("technique", allowed, spec))
    out = []
    for word in spec.split():
        if word.lower() in TECHNIQUES:
            out.append([word.lower(), None])
            continue
        if not out or out[-1][1] is not None or not re.fullmatch(r"\+?\d+", word) \
                or int(word) <= 0:
            raise ArgumentError(bad_value("technique", allowed, spec))
        out[-1][1] = int(word)
    return tuple((name, DEFAULT_COUNT if n is None else n) for name, n in out)


def technique_at(schedule, it):
    """The technique of iteration ``it`` (0-based) under a cycled schedule."""
    ends = np.cumsum([n for _, n in schedule])
    return schedule[int(np.searchsorted(ends, it % ends[-1], side="right"))][0]


def outer_product(scores):
    """sum_g s_g s_g' (P, P) of per-group scores (G, P): the BHHH matrix, and the OPG
    information whose inverse is Stata's vce(opg)."""
    scores = np.asarray(scores, dtype=float)
    return scores.T @ scores


def quasi_update(kind, H, s, dg):
    """BFGS or DFP update of the Hessian approximation H (P, P) of a maximised function
    after the step s (P,) with gradient change dg (P,).

    In terms of B = -H and y = -dg (the minimised function), with rho = 1 / (y's):
    BFGS B+ = B + y y' rho - B s s' B / (s' B s);
    DFP  B+ = (I - rho y s') B (I - rho s y') + rho y y'.
    H is returned unchanged when y's is not positive (the update would lose definiteness).
    """
    B, y = -H, -dg
    ys = float(y @ s)
    if ys <= 1e-12 * np.linalg.norm(y) * np.linalg.norm(s):
        return H
    if kind == "bfgs":
        Bs = B @ s
        return -(B + np.outer(y, y) / ys - np.outer(Bs, Bs) / float(s @ Bs))
    E = np.eye(len(s)) - np.outer(y, s) / ys
    return -(E @ B @ E.T + np.outer(y, y) / ys)


def ascent_direction(g, H, difficult=False):
    """(direction (P,), concave): Newton's direction on -H where -H is positive definite.

    Otherwise, with floor = max(1e-8, 1e-6 max|lam|) for the eigenvalues lam of -H: by
    default each lam is replaced by max(|lam|, floor) (a modified Newton step); with
    ``difficult`` by lam + mu, mu = -min(lam) + max(floor, 1e-3 max|lam|) (Marquardt's
    shift).  Where H is not finite: the gradient direction, at most unit length.
    """
    if not np.all(np.isfinite(H)):
        return g / max(1.0, float(np.linalg.norm(g))), False
    lam, V = np.linalg.eigh(-H)
    concave = bool(lam.min() > 0) if len(lam) else True
    floor = max(1e-8, 1e-6 * np.abs(lam).max()) if len(lam) else 1.0
    proj = V.T @ g
    if concave or not difficult:
        return V @ (proj / np.where(lam > floor, lam, np.maximum(np.abs(lam), floor))), concave
    mu = -lam.min() + max(floor, MARQUARDT * np.abs(lam).max())
    return V @ (proj / (lam + mu)), concave


def mreldif(x, y):
    """Stata's mreldif: max_j |x_j - y_j| / (|y_j| + 1) (inf when y is None)."""
    if y is None:
        return np.inf
    return float(np.max(np.abs(x - y) / (np.abs(y) + 1.0))) if len(x) else 0.0


@dataclass(frozen=True)
class Stopping:
    """Stata's stopping rules: tolerance (coefficients), ltolerance (log likelihood),
    nrtolerance (scaled gradient g (-H)^-1 g'), nonrtolerance (drop the last)."""

    tolerance: float = 1e-8
    ltolerance: float = 1e-8
    nrtolerance: float = 1e-10
    nonrtolerance: bool = False

    def measures(self, theta, prev_theta, value, prev_value, nr):
        """(coefficient change, log-likelihood change, scaled gradient) at an iteration."""
        dl = abs(value - prev_value) / (abs(prev_value) + 1.0) if np.isfinite(prev_value) \
            else np.inf
        return mreldif(theta, prev_theta), dl, nr

    def met(self, concave, measures):
        """Whether the rules hold (the module docstring's test)."""
        db, dl, nr = measures
        return bool(concave and (self.nonrtolerance or nr < self.nrtolerance)
                    and (db <= self.tolerance or dl <= self.ltolerance))

    def shown(self, measures):
        """Stata's showtolerance: the measure compared with the criterion not yet met
        (coefficients until they or the log likelihood settle, then the scaled gradient)."""
        db, dl, nr = measures
        if db > self.tolerance and dl > self.ltolerance:
            return f"  (tolerance = {db:.6g})" if np.isfinite(db) else ""
        if self.nonrtolerance:
            return f"  (ltolerance = {dl:.6g})"
        return f"  (nrtolerance = {nr:.6g})"


def maximize_options(technique, difficult, ltolerance, nrtolerance, nonrtolerance, display):
    """``newton_maximize``'s keyword arguments from Stata's maximize options, checked
    (ValueError or TypeError naming the option); display: {option: flag} of the log's
    extra displays (``DISPLAY``)."""
    parse_technique(technique)
    for name, value in (("ltolerance", ltolerance), ("nrtolerance", nrtolerance)):
        real(name, value, 0, open_lo=True, allowed="a positive finite number")
    return dict(technique=technique, difficult=flag("difficult", difficult),
                ltolerance=float(ltolerance), nrtol=float(nrtolerance),
                nonrtolerance=flag("nonrtolerance", nonrtolerance),
                display=check_display(k for k, v in display.items() if flag(k, v)))


def refuse_bhhh(technique, why):
    """ValueError naming technique when its schedule has bhhh, which needs per-group
    scores that ``why`` (e.g. "the Laplace approximation") does not give."""
    if any(name == "bhhh" for name, _ in parse_technique(technique)):
        raise ArgumentError(bad_value("technique", f"nr, dfp or bfgs with {why} (bhhh needs "
                                   "per-group scores)", technique))


def check_display(display):
    """frozenset of the display options (``DISPLAY``) asked for; ValueError for others."""
    out = frozenset(display)
    unknown = sorted(out - set(DISPLAY))
    if unknown:
        raise ArgumentError(bad_value("display", "options among " + ", ".join(DISPLAY), unknown))
    return out


__all__ = ["DISPLAY", "TECHNIQUES", "Stopping", "ascent_direction", "check_display",
           "maximize_options", "mreldif", "outer_product", "parse_technique", "quasi_update",
           "refuse_bhhh", "technique_at"]
