"""The parameter vector of meglm: the one packer, unpacker and namer of theta.

theta = [beta (p), aux (a), psi_1, ..., psi_L]: fixed effects, the family's
auxiliary parameters (``Aux``: cut points, log sd, log dispersion), then each level's
covariance parameters (``covariance``).  ``unpack`` is the only place that splits
theta and ``pack`` the only place that joins it; ``internal_names`` names theta's
entries and ``reported`` gives the parameters on Stata's reported scale (entries of
each Sigma, var(e.y) for the Gaussian family) with their Jacobians d(reported)/dtheta.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Reported:
    """One reported parameter: equation, label, value, Jacobian row (dim,), kind
    (b, var, cov or aux) and wald: whether its z and p-value are printed.  Named in e(b)
    as "eq:label" (Stata's "/:cut1", "/:lnalpha"); aux rows print as "/label"."""

    eq: str
    label: str
    value: float
    jac: np.ndarray
    kind: str
    wald: bool = True


class Aux:
    """A family without auxiliary parameters (the base: every method's neutral answer)."""

    ordinal = False        # the response is coded as categories 0..K-1; no fixed intercept

    def count(self, n_categories):
        """Number of auxiliary parameters for a response with ``n_categories`` values."""
        return 0

    def names(self, n):
        """Internal names of the n parameters."""
        return []

    def start(self, y, n):
        """Start values (n,) from the response y (n_obs,)."""
        return np.zeros(n)

    def sd_scale(self, aux):
        """Scale of the random effects' start standard deviations (the residual sd)."""
        return 1.0

    def rows_before(self, aux, p, unit):
        """Reported rows printed after the coefficients, before the random effects."""
        return []

    def rows_after(self, aux, p, unit, y_name):
        """Reported rows printed after the random effects."""
        return []

    def with_residual_variance(self, aux, variance):
        """aux (a,) with the residual variance set to ``variance`` (Stata's startgrid
        e.depvar), or None when the family has no residual variance."""
        return None

    def from_reported(self, value):
        """The parameter whose reported row has ``value`` (the rows' map inverted; NaN
        outside its range)."""
        return float(value)


class LogSD(Aux):
    """Gaussian: a = log sd of the residual, reported as var(e.y) = exp(2a)."""

    def count(self, n_categories):
        return 1

    def names(self, n):
        return ["/lnsd_e"]

    def start(self, y, n):
        return np.array([np.log(np.std(y) + 1e-8)])

    def sd_scale(self, aux):
        return float(np.exp(aux[0]))

    def from_reported(self, value):
        return float(0.5 * np.log(value)) if value > 0 else float("nan")

    def rows_after(self, aux, p, unit, y_name):
        v = np.exp(2.0 * aux[0])
        return [Reported("", f"var(e.{y_name})", v, 2.0 * v * unit[p], "var")]

    def with_residual_variance(self, aux, variance):
        return np.array([0.5 * np.log(variance)])


class Cuts(Aux):
    """Ordinal: K - 1 cut points, started at the logits of the cumulative proportions."""

    ordinal = True

    def count(self, n_categories):
        return n_categories - 1

    def names(self, n):
        return [f"/cut{j + 1}" for j in range(n)]

    def start(self, y, n):
        cum = np.cumsum(np.bincount(y.astype(int), minlength=n + 1))[:-1] / len(y)
        return np.log(cum / (1 - cum))

    def rows_before(self, aux, p, unit):
        return [Reported("/", f"cut{j + 1}", aux[j], unit[p + j], "aux", wald=False)
                for j in range(len(aux))]


class LogParameter(Aux):
    """One auxiliary parameter reported as estimated (/lnalpha, /lndelta, /logs)."""

    def __init__(self, label):
        self.label = label

    def count(self, n_categories):
        return 1

    def names(self, n):
        return [f"/{self.label}"]

    def rows_after(self, aux, p, unit, y_name):
        return [Reported("/", self.label, aux[0], unit[p], "aux")]


NO_AUX = Aux()


def unpack(model, theta):
    """(beta (p,), aux (a,), [psi_l]) from theta."""
    theta = np.asarray(theta, dtype=float)
    p, a = model.p, model.n_aux
    cuts = np.cumsum((p + a,) + model.n_psi)
    psis = [theta[s:e] for s, e in zip(cuts[:-1], cuts[1:])]
    return theta[:p], theta[p:p + a], psis


def pack(beta, aux, psis):
    """theta from its parts (the inverse of ``unpack``)."""
    return np.concatenate([np.asarray(beta, float), np.asarray(aux, float)]
                          + [np.asarray(psi, float) for psi in psis])


def theta_lower(model):
    """Lower bounds of theta (dim,): log standard deviations bounded, the rest free."""
    return np.concatenate([np.full(model.p + model.n_aux, -np.inf)]
                          + [cov.lower() for cov in model.covariances])


def sigmas(model, psis):
    """[(Sigma_l (d, d), dSigma_l (r, d, d))] per level."""
    return [cov.sigma_and_grad(psi) for cov, psi in zip(model.covariances, psis)]


def internal_names(model, x_names):
    """Names of theta's entries (internal scale)."""
    names = list(x_names) + model.family.aux.names(model.n_aux)
    for lev, cov in zip(model.levels, model.covariances):
        names += [f"/{lev.name}:psi{j + 1}" for j in range(cov.n_params)]
    return names


def reported(model, x_names, y_name, theta):
    """Reported parameters (``Reported``) in Stata's order with their Jacobians."""
    beta, aux, psis = unpack(model, theta)
    dim, p = len(theta), model.p
    unit = np.eye(dim)
    order = sorted(range(p), key=lambda j: x_names[j] == "_cons")
    rows = [Reported(y_name, x_names[j], beta[j], unit[j], "b") for j in order]
    rows += model.family.aux.rows_before(aux, p, unit)
    start = p + model.n_aux
    for lev, cov, psi in zip(model.levels, model.covariances, psis):
        S, dS = cov.sigma_and_grad(psi)
        labels, pairs = cov.reported(lev.z_names)
        for lab, (a, b) in zip(labels, pairs):
            jac = np.zeros(dim)
            jac[start:start + len(psi)] = dS[:, a, b]
            rows.append(Reported(lev.name, lab, S[a, b], jac, "var" if a == b else "cov",
                                 wald=a == b))
        start += len(psi)
    return rows + model.family.aux.rows_after(aux, p, unit, y_name)


def grid_names(model):
    """{term: (level, a, b)} of the searchable entries of each Sigma (Stata's startgrid):
    variances (a == b) as "g:var(x)" and "x[g]" (cons[g] for _cons); covariances as
    "g:cov(x,z)" and "x[g]*z[g]" (either order)."""
    names = {}
    for l, (cov, lev) in enumerate(zip(model.covariances, model.levels)):
        labels, pairs = cov.reported(lev.z_names)

        def stata(z):
            return {f"{z}[{lev.name}]", f"{z}[{lev.factors[-1]}]",
                    f"{z.replace('_cons', 'cons')}[{lev.name}]",
                    f"{z.replace('_cons', 'cons')}[{lev.factors[-1]}]"}
        for label, (a, b) in zip(labels, pairs):
            names[f"{lev.name}:{label}"] = (l, a, b)
        for a, b in cov.grid_pairs():
            za, zb = lev.z_names[a], lev.z_names[b]
            keys = stata(za) if a == b else {f"{s}*{t}" for s in stata(za) for t in stata(zb)}
            keys |= set() if a == b else {f"{t}*{s}" for s in stata(za) for t in stata(zb)}
            names.update({k: (l, a, b) for k in keys})
    return names
