"""Restricted covariances: Sigma affine in psi, with entries fixed or tied (Stata's
covariance(fixed(matname)), covariance(pattern(matname)) and constraints on variance
components)."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ...exceptions import bad_value
from .structures import LOG_SD_MIN, Covariance, Unstructured

PD_MARGIN = 1e-10    # relative least eigenvalue of a positive definite Sigma


@dataclass(frozen=True)
class Restricted(Covariance):
    """Sigma with entries fixed or tied (Stata's fixed(), pattern() and constraints on
    variance components): with E_r the symmetric indicator of the entries of class r and
    F the fixed entries,

        Sigma = F + sum_r v_r E_r,   v_r = exp(2 psi_r) for a class of variances,
                                     v_r = psi_r for a class of covariances,

    so a fixed entry is exactly its value and tied entries are exactly equal on the
    reported (variance/covariance) scale.  Not positive definite for every psi:
    ``positive_definite`` tells.  classes: per psi_r the lower-triangle entries (a >= b)
    sharing it; fixed: ((a, b), value); shown: the reported entries; implied: the
    constraints the structure itself states, ((a, b), value or (c, e)), for the header.
    """

    classes: tuple = ()
    fixed: tuple = ()
    shown: tuple = ()
    implied: tuple = ()
    name = "restricted"
    direct_cholesky = False

    @property
    def n_params(self):
        return len(self.classes)

    @property
    def _variance(self):
        """(r,) bool: class r holds variances (its value is exp(2 psi_r))."""
        return np.array([pairs[0][0] == pairs[0][1] for pairs in self.classes], dtype=bool)

    def _indicators(self):
        """(E (r, d, d), F (d, d))."""
        d = self.d
        E, F = np.zeros((self.n_params, d, d)), np.zeros((d, d))
        for r, pairs in enumerate(self.classes):
            for a, b in pairs:
                E[r, a, b] = E[r, b, a] = 1.0
        for (a, b), value in self.fixed:
            F[a, b] = F[b, a] = value
        return E, F

    def _values(self, psi):
        psi = np.asarray(psi, dtype=float)
        return np.where(self._variance, np.exp(2.0 * psi), psi)

    def sigma_and_grad(self, psi):
        E, F = self._indicators()
        v = self._values(psi)
        dv = np.where(self._variance, 2.0 * v, 1.0)
        return F + np.einsum("r,rab->ab", v, E), E * dv[:, None, None]

    def sigma_second(self, psi):
        """d2 Sigma: 4 exp(2 psi_r) E_r = 2 dSigma_r for a class of variances, else 0."""
        _, dS = self.sigma_and_grad(psi)
        r = self.n_params
        out = np.zeros((r, r, self.d, self.d))
        out[np.arange(r), np.arange(r)] = 2.0 * dS * self._variance[:, None, None]
        return out

    def cholesky_second(self, psi):
        raise NotImplementedError("a restricted covariance has no direct Cholesky factor")

    def lower(self):
        return np.where(self._variance, LOG_SD_MIN, -np.inf)

    def positive_definite(self, psi):
        """Whether Sigma(psi) is positive definite: its least eigenvalue above PD_MARGIN
        times its largest |entry| (a singular Sigma may factor in rounding)."""
        S = self.sigma_and_grad(psi)[0]
        return bool(np.linalg.eigvalsh(S)[0] > PD_MARGIN * np.abs(S).max())

    def from_sigma(self, S):
        """psi from the class means of S; free covariances halved, then free variances
        doubled, until Sigma is positive definite (ValueError naming ``covariance`` if the
        fixed entries admit none within 60 doublings)."""
        var = self._variance
        means = np.array([np.mean([S[a, b] for a, b in pairs]) for pairs in self.classes])
        means = np.where(var, np.maximum(means, 1e-12), means)
        for step in range(120):
            psi = means.copy()
            psi[var] = 0.5 * np.log(means[var])
            if self.positive_definite(psi):
                return psi
            means = np.where(var, means * 2.0, means) if step >= 60 else np.where(var, means,
                                                                                    0.5 * means)
        raise ValueError(bad_value("covariance", "fixed values that a positive definite "
                                   "matrix can take", self._matrix()))

    def _matrix(self):
        """Sigma's pattern for messages: fixed values, NaN where estimated."""
        M = np.full((self.d, self.d), np.nan)
        for (a, b), value in self.fixed:
            M[a, b] = M[b, a] = value
        return M

    def reported_pairs(self):
        return list(self.shown)

    def grid_pairs(self):
        held = {pair for pair, _ in self.fixed}
        return [pair for pair in self.shown if pair not in held]

    def tied(self, a, b):
        pair = (max(a, b), min(a, b))
        out = super().tied(a, b)
        for pairs in self.classes:
            if pair in pairs:
                for c, e in pairs:
                    out[c, e] = out[e, c] = True
        return out

    def pattern(self):
        return self.classes, self.fixed

    def restrict(self, pair, value=None, other=None):
        """The structure with entry ``pair`` (a >= b) fixed at ``value`` or tied to the entry
        ``other``: one class each, so a tie merges two classes and fixes both if one is
        fixed.  ValueError naming ``constraints`` when it contradicts a fixed value, ties a
        variance to a covariance, or fixes a variance at a non-positive value."""
        classes, fixed = list(self.classes), dict(self.fixed)
        find = {p: r for r, pairs in enumerate(classes) for p in pairs}
        if other is not None and pair in find and other in find:
            r, s = find[pair], find[other]
            if (pair[0] == pair[1]) != (other[0] == other[1]):
                raise ValueError(bad_value("constraints", "ties between variances or between "
                                           "covariances", (pair, other)))
            if r != s:
                classes[r] = classes[r] + classes[s]
                del classes[s]
            return replace(self, classes=tuple(classes))
        if other is not None:
            held, free = (pair, other) if pair in fixed else (other, pair)
            pair, value = free, fixed[held]
        if pair in fixed or pair not in find:
            if pair in fixed and fixed[pair] == value:
                return self
            raise ValueError(bad_value("constraints", "consistent with the values already "
                                       "fixed", (pair, value)))
        if pair[0] == pair[1] and not value > 0:
            raise ValueError(bad_value("constraints", "a positive value for a variance", value))
        held = classes.pop(find[pair])
        fixed.update({p: float(value) for p in held})
        return replace(self, classes=tuple(classes), fixed=tuple(fixed.items()))


def restricted(cov):
    """``cov`` as a ``Restricted`` structure (the same Sigma; its own reported entries)."""
    if isinstance(cov, Restricted):
        return cov
    classes, fixed = cov.pattern()
    return Restricted(cov.d, classes, fixed, tuple(cov.reported_pairs()))


class Fixed(Restricted):
    """Stata's covariance(fixed(matname)): the entries of M that are not missing are fixed
    at their values, the missing ones estimated (``from_matrix``)."""

    name = "fixed"

    @classmethod
    def from_matrix(cls, M):
        """From a checked (d, d) matrix (``matrix_argument``), NaN where estimated."""
        d = len(M)
        pairs = [(a, b) for a in range(d) for b in range(a + 1)]
        free = tuple((p,) for p in pairs if np.isnan(M[p]))
        fixed = tuple((p, float(M[p])) for p in pairs if not np.isnan(M[p]))
        if any(value <= 0 for (a, b), value in fixed if a == b):
            raise ValueError(bad_value("covariance", "a matrix whose fixed variances are "
                                       "positive", M))
        held = [j for j in range(d) if not np.isnan(M[j, j])]
        block = M[np.ix_(held, held)]
        if held and not np.isnan(block).any() and np.linalg.eigvalsh(block).min() <= 0:
            raise ValueError(bad_value("covariance", "fixed values forming a positive "
                                       "definite matrix", M))
        return cls(d, free, fixed, _unstructured_order(d), fixed)


class Pattern(Restricted):
    """Stata's covariance(pattern(matname)): entries of M with the same value are equal,
    missing entries free (``from_matrix``); a value may not tie a variance to a covariance."""

    name = "pattern"

    @classmethod
    def from_matrix(cls, M):
        d = len(M)
        groups = {}
        for a in range(d):
            for b in range(a + 1):
                key = ("free", a, b) if np.isnan(M[a, b]) else float(M[a, b])
                groups.setdefault(key, []).append((a, b))
        classes = tuple(tuple(pairs) for pairs in groups.values())
        if any(len({a == b for a, b in pairs}) > 1 for pairs in classes):
            raise ValueError(bad_value("covariance", "a pattern whose values tie variances to "
                                       "variances and covariances to covariances", M))
        order = {p: j for j, p in enumerate(_unstructured_order(d))}
        implied = tuple((p, min(pairs, key=order.get)) for pairs in classes
                        for p in sorted(pairs, key=order.get)[1:])
        return cls(d, classes, (), _unstructured_order(d), implied)


def _unstructured_order(d):
    """Stata's order of an unstructured Sigma's entries: variances, then covariances."""
    return tuple(Unstructured(d).reported_pairs())
