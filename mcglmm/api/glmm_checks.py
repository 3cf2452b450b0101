"""glmm()'s option checks: each argument's type and range before any work, and the
user-supplied start (par_init) and sampler inputs checked against the design."""
from __future__ import annotations

import numbers

import numpy as np

from ..engines.mcla.sampler import SamplerInputs
from ..exceptions import bad_value
from ..parallel import check_n_jobs

RINIT = 10.0
METHODS = ("blocks", "glmm")
NU_MIN_INIT = 1e-9


def check_probabilities(p1, p2, p3):
    for name, p in (("p1", p1), ("p2", p2), ("p3", p3)):
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(bad_value(name, "a number between 0 and 1", p))
    if p1 == 0:
        raise ValueError(bad_value("p1", "positive (the t component keeps the weights bounded)",
                                   p1))
    if abs(p1 + p2 + p3 - 1) > 1e-12:
        raise ValueError(bad_value("p1 + p2 + p3", "1", p1 + p2 + p3))
    return np.array([p1, p2, p3], dtype=float)


def check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(bad_value(name, "a positive integer", value))
    return int(value)


def check_seed(seed):
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(bad_value("seed", "None or a non-negative integer", seed))
    return int(seed)


def check_memory_budget(budget):
    if isinstance(budget, bool) or not isinstance(budget, numbers.Real) or not budget > 0:
        raise ValueError(bad_value("memory_budget", "a positive number of bytes", budget))
    return int(budget)


def start_from_par_init(design, par_init):
    """SamplerInputs from par_init (glmm: beta and nu given, random effects centred at 0)."""
    par = np.asarray(par_init, dtype=float)
    if par.ndim != 1 or len(par) != design.p + design.T:
        raise ValueError(bad_value("par_init", f"a vector of length {design.p + design.T} "
                                   f"(fixed effects {list(design.x_names)} then variance "
                                   f"components {list(design.varcomps_names)})",
                                   list(np.ravel(par))))
    if not np.all(np.isfinite(par)):
        raise ValueError(bad_value("par_init", "finite", par.tolist()))
    if np.any(par[design.p:] <= NU_MIN_INIT):
        raise ValueError(bad_value("the variance components in par_init", "greater than 1e-9",
                                   par[design.p:].tolist()))
    return SamplerInputs(beta=par[:design.p], nu=par[design.p:], u=np.zeros(design.q))


def check_sampler(design, sampler):
    if not isinstance(sampler, SamplerInputs):
        raise TypeError(bad_value("sampler", "a mcglmm.SamplerInputs", type(sampler).__name__))
    shapes = {"beta": (design.p,), "nu": (design.T,), "u": (design.q,)}
    for name, shape in shapes.items():
        if np.shape(getattr(sampler, name)) != shape:
            raise ValueError(bad_value(f"sampler.{name}", f"of shape {shape}",
                                       np.shape(getattr(sampler, name))))
    if sampler.umat is not None and (np.ndim(sampler.umat) != 2
                                     or np.shape(sampler.umat)[1] != design.q):
        raise ValueError(bad_value("sampler.umat", f"a matrix with {design.q} columns",
                                   np.shape(sampler.umat)))
    for name in ("beta", "nu", "u"):
        if not np.all(np.isfinite(getattr(sampler, name))):
            raise ValueError(bad_value(f"sampler.{name}", "finite", list(getattr(sampler, name))))
    if not np.all(np.asarray(sampler.nu) > 0):
        raise ValueError(bad_value("sampler.nu", "positive", list(sampler.nu)))
    return SamplerInputs(*(None if v is None else np.asarray(v, dtype=float)
                           for v in (sampler.beta, sampler.nu, sampler.u, sampler.umat)))


def check_method(method, sampler):
    """"blocks" or "glmm"; None picks "glmm" for supplied draws (they are glmm's joint
    mixture's)."""
    given_draws = sampler is not None and getattr(sampler, "umat", None) is not None
    if method is None:
        return "glmm" if given_draws else "blocks"
    if method not in METHODS:
        raise ValueError(bad_value("method", f"one of {list(METHODS)}", method))
    if method == "blocks" and given_draws:
        raise ValueError(bad_value("method", '"glmm" when sampler.umat supplies draws (the draws '
                                   "of glmm's joint mixture)", method))
    return method


def check_m(m, method, sampler):
    if getattr(sampler, "umat", None) is not None:
        return m
    if isinstance(m, str) and m == "auto":
        if method == "glmm":
            raise ValueError(bad_value("m", 'a positive integer with method="glmm"', m))
        return m
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(bad_value("m", 'a positive integer or "auto"', m))
    return int(m)


def check_rounds(recentre, pilot_m, mcse_target):
    if isinstance(recentre, bool) or not isinstance(recentre, (int, np.integer)) or recentre < 0:
        raise ValueError(bad_value("recentre", "a non-negative integer (pilot rounds)", recentre))
    if pilot_m is not None:
        check_positive_int("pilot_m", pilot_m)
    if isinstance(mcse_target, bool) or not isinstance(mcse_target, numbers.Real) \
            or not 0 < mcse_target < np.inf:
        raise ValueError(bad_value("mcse_target", "a positive number (largest MCSE / SE)",
                                   mcse_target))
    return int(recentre), float(mcse_target)


def check_options(p1, p2, p3, zeta, do_pql, rmax, iterlim, n_jobs, seed, memory_budget):
    """Validate the scalar options before any work; returns the normalised values."""
    pvec = check_probabilities(p1, p2, p3)
    if isinstance(zeta, bool) or not isinstance(zeta, numbers.Real) or not zeta > 0:
        raise ValueError(bad_value("zeta", "a positive number of degrees of freedom", zeta))
    if not isinstance(do_pql, bool):
        raise ValueError(bad_value("do_pql", "True or False", do_pql))
    if isinstance(rmax, bool) or not isinstance(rmax, numbers.Real) or not rmax >= RINIT:
        raise ValueError(bad_value("rmax", f"a number >= {RINIT} (the initial trust radius)", rmax))
    return (pvec, check_positive_int("iterlim", iterlim), check_n_jobs(n_jobs),
            check_seed(seed), check_memory_budget(memory_budget))


__all__ = ["RINIT", "METHODS", "check_method", "check_m", "check_options", "check_rounds",
           "check_sampler", "start_from_par_init"]
