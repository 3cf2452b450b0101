"""``glmm()``: Monte Carlo likelihood approximation with R glmm's arguments.

The front only validates arguments and chains the stages:
design (and its independent blocks) -> start (PQL, par_init or user-supplied
sampler inputs) -> rounds of importance sampling and trust-region maximisation
(api.glmm_rounds; R glmm's method is one round) -> results.
"""
from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd

from .._checks import glmm_arguments, mcla_work
from ..design import glmm_design
from ..design.blocks import Blocks, independent_blocks
from ..design.gram import WeightedGram
from ..design.scaling import ColumnScaling
from ..engines.mcla.objective import MCLAObjective
from ..engines.mcla.mcse import mc_vcov
from ..engines.mcla.sampler import BLOCK, SIGMA_FLOOR, SamplerInputs, build_sampler
from ..exceptions import (BoundaryWarning, ConvergenceWarning, DesignError, HessianWarning,
                          MonteCarloWarning, bad_value)
from ..model.families import get_glmm_family
from ..optim.convergence import convergence_message
from ..optim.trust import maximize
from ..engines.mcla.pql import pql_start
from ..results.covariance import covariance_from_hessian, not_negative_definite
from ..results.diagnostics import boundary_messages
from ..results.glmm import GLMMResults
from ..results.post_source import attach, glmm_source
from .glmm_checks import (RINIT, check_m, check_method, check_options, check_rounds,
                          check_sampler, start_from_par_init)
from .glmm_rounds import RoundRunner, ess_is_small, memory_cap, run_rounds

PILOT_MIN = 1000
HESSIAN_ADVICE = ("The MCLA Hessian at the estimate is not negative definite: try a larger m "
                  "or par_init.")
DEFAULT_MEMORY_BUDGET = 2 ** 30


def _call_text(fixed, random, varcomps_names, family, m, extra):
    parts = [f"fixed = {fixed}", f"random = {random!r}",
             f"varcomps_names = {list(varcomps_names)!r}",
             "data = data", f"family_glmm = {family!r}", f"m = {m}"]
    parts += [f"{k} = {v!r}" for k, v in extra.items()]
    return "glmm(" + ", ".join(parts) + ")"


PROGRESS_DRAWS = 100_000      # show a bar for sampling from this many draws


def _draw(importance, m, seed, n_jobs, progress):
    """The draws, with a tqdm bar over blocks when asked for and m is large."""
    if not (progress and m >= PROGRESS_DRAWS):
        return importance.draw(m, seed, n_jobs)
    from tqdm.auto import tqdm
    with tqdm(total=-(-m // BLOCK), desc="sampling", unit="block") as bar:
        return importance.draw(m, seed, n_jobs, on_block=lambda: bar.update(1))


def _progress_callback(progress, iterlim):
    if not progress:
        return None, None
    from tqdm.auto import tqdm
    bar = tqdm(total=iterlim, desc="trust iterations", unit="it")

    def callback(step):
        bar.update(1)
        bar.set_postfix(value=f"{step.value:.6g}", radius=f"{step.radius:.3g}")
    return callback, bar


def _start(design, family, sampler, par_init, do_pql, sc):
    """The sampler's centre (SamplerInputs) and trust's starting point, by glmm's rules, on
    the scale of ``design`` (par_init on the user's, mapped by ``sc``)."""
    given = None if par_init is None else start_from_par_init(design, par_init)
    if given is not None:
        given = replace(given, beta=sc.to_internal(given.beta))
    if sampler is not None:
        start = check_sampler(design, sampler)
    elif given is not None:
        start = given
    elif do_pql:
        pql = pql_start(design, family)
        if not pql.converged:
            warnings.warn("PQL did not converge: the importance sampler is centred at its last "
                          "iterate (the MCLA is still exact for the draws it makes)",
                          ConvergenceWarning, stacklevel=3)
        start = SamplerInputs(beta=pql.beta, nu=pql.nu, u=pql.u)
    else:
        start = SamplerInputs(beta=np.zeros(design.p), nu=np.ones(design.T), u=np.zeros(design.q))
    if given is not None:
        return start, np.concatenate([given.beta, given.nu])
    # PQL may put a variance at 0 (its boundary): trust must start inside the space.
    return start, np.concatenate([start.beta, np.maximum(start.nu, SIGMA_FLOOR ** 2)])


def _sample(importance, start, m, seed, n_jobs, progress):
    """The draws U, their log f~ and the component counts (None for supplied draws)."""
    if start.umat is not None:
        return start.umat, importance.logpdf(start.umat), None
    return _draw(importance, m, seed, n_jobs, progress)


def _maximize(objective, theta0, rmax, iterlim, progress):
    callback, bar = _progress_callback(progress, iterlim)
    try:
        return maximize(objective.evaluate, theta0, rinit=RINIT, rmax=rmax, iterlim=iterlim,
                        callback=callback)
    finally:
        if bar is not None:
            bar.close()


def _diagnose(opt, m, names, varcomps_names, block_names):
    """Warnings about the fit (mcglmm's classes), the covariance and the Monte Carlo covariance
    (on the optimiser's scale); ``names`` (p + T,) the parameters'."""
    final = opt.evaluation
    issues = []
    nu = opt.argument[-len(varcomps_names):]
    issues += [(BoundaryWarning, text)
               for text in boundary_messages(varcomps_names, nu, "variance")]
    if not opt.converged:
        issues.append((ConvergenceWarning,
                       f"trust did not converge ({opt.message}) after {opt.iterations} "
                       "iterations; rerun with par_init set to these estimates or a larger "
                       "iterlim"))
    elif convergence_message(final.gradient, final.hessian, names):
        issues.append((ConvergenceWarning,
                       "trust: " + convergence_message(final.gradient, final.hessian, names)))
    worst = int(np.argmin(final.ess))
    if ess_is_small(final.ess[worst], m):
        where = "" if len(final.ess) == 1 else f" in the block of {block_names[worst]}"
        issues.append((MonteCarloWarning,
                       f"the effective sample size of the importance weights is "
                       f"{final.ess[worst]:.1f} of m = {m}{where}: the MCLA rests on a few draws "
                       "and the MCSE understate its Monte Carlo error; increase m"))
    for category, message in issues:
        warnings.warn(message, category, stacklevel=3)
    covariance = covariance_from_hessian(final.hessian, HESSIAN_ADVICE, stacklevel=4)
    if np.isnan(covariance).any():
        issues.append((HessianWarning, not_negative_definite(HESSIAN_ADVICE)))
        return tuple(message for _, message in issues), covariance, covariance
    return tuple(message for _, message in issues), covariance, mc_vcov(final)


def _fit_glmm_joint(design, family, start, theta0, pvec, zeta, m, seed, n_jobs, budget, rmax,
                    iterlim, progress):
    """R glmm's method: one round of its joint mixture centred at the start."""
    importance = build_sampler(design, family, start, pvec, zeta)
    umat, logq, counts = _sample(importance, start, m, seed, n_jobs, progress)
    objective = MCLAObjective.build(design, family, umat, logq, n_jobs=n_jobs, memory_budget=budget)
    opt = _maximize(objective, theta0, rmax, iterlim, progress)
    return dict(opt=opt, umat=umat, logq=logq, objective=objective, blocks=Blocks.single(
        design.n, design.q), extra_debug={"component_counts": counts}, rounds=(), m_path=())


def _fit_blocks(design, family, start, theta0, zeta, m, pilot_m, recentre, mcse_target, seed,
                n_jobs, budget, rmax, iterlim, progress):
    """The default method: per-block proposals, re-centred rounds (api.glmm_rounds)."""
    blocks = independent_blocks(design.Z)
    cap = memory_cap(design, blocks, budget)
    if pilot_m is None:
        pilot_m = PILOT_MIN if m == "auto" else max(m // 10, PILOT_MIN)
    runner = RoundRunner(design, family, blocks, WeightedGram.build(design.Z), float(zeta), seed,
                         n_jobs, budget,
                         lambda objective, theta: _maximize(objective, theta, rmax, iterlim,
                                                            progress))
    pilots, finals, path = run_rounds(runner, theta0, start.u, m, pilot_m, recentre,
                                      mcse_target, cap)
    if m == "auto" and path[-1][1] > mcse_target:
        warnings.warn(f"m = \"auto\" stopped at m = {path[-1][0]} (the memory cap of "
                      f"memory_budget) with MCSE / SE = {path[-1][1]:.3g} above mcse_target = "
                      f"{mcse_target}; raise memory_budget", MonteCarloWarning, stacklevel=3)
    last = finals[-1]
    rounds = tuple(dict(m=r.m, role=role, start=r.opt.argpath[0], estimates=r.opt.argument,
                        loglik=r.opt.value,
                        min_ess=r.min_ess, converged=r.opt.converged, iterations=r.opt.iterations)
                   for role, group in (("pilot", pilots), ("final", finals)) for r in group)
    return dict(opt=last.opt, umat=last.U, logq=last.logq, objective=last.objective,
                blocks=blocks, extra_debug={"centre": last.centre}, rounds=rounds,
                m_path=path if m == "auto" else ())


def _block_names(design, blocks):
    """Each block named by its first random effect."""
    return tuple(design.z_names[j] for j in blocks.first_column)


def glmm(fixed, random, varcomps_names, data, family_glmm, m=None, varcomps_equal=None,
         weights=None, do_pql=True, debug=False, p1=1 / 3, p2=1 / 3, p3=1 / 3, rmax=1000,
         iterlim=1000, par_init=None, zeta=5, seed=None, n_jobs=1,
         memory_budget=DEFAULT_MEMORY_BUDGET, progress=False, sampler=None, asis=False,
         method=None, recentre=2, pilot_m=None, mcse_target=0.1):
    """Fit a GLMM by Monte Carlo likelihood approximation (R glmm's ``glmm``).

    Parameters follow R glmm in snake_case.  ``random`` is a one-sided formula
    string ("0 + Female") or a list of them; ``m`` the Monte Carlo sample size, or
    "auto"; ``seed`` fixes every random number (results are identical for any
    ``n_jobs`` and joblib backend); ``memory_budget`` (bytes) bounds the stored
    n x m array of Z u_k (and m="auto"); ``progress`` shows tqdm bars; ``sampler``
    (a ``SamplerInputs``) supplies beta*, nu*, u* and optionally the draws
    themselves (draws of glmm's joint mixture), bypassing PQL and sampling.

    ``method="blocks"`` (the default) samples each independent block of random
    effects from its own proposal 1/2 t_zeta + 1/2 N at the block's conditional mode
    and curvature, centred first at the start (PQL), then ``recentre`` times at the
    previous round's MCMLE with ``pilot_m`` (default max(m/10, 1000)) fresh draws (and
    again after a pilot whose worst block's ESS is small, at most 2 ``recentre`` pilots),
    before the final round of m draws.  With m="auto" the final round is repeated
    with m growing geometrically until every MCSE is at most ``mcse_target`` times
    its SE.  ``method="glmm"`` is R glmm's joint sampler (mixture p1, p2, p3 of
    t_zeta(0, D*), N(u*, D*), N(u*, Sigma~)), one round centred at PQL; p1, p2, p3
    apply to it only.

    Collinear fixed-effects columns are omitted with a note and listed in ``omitted``
    (PQL needs a full-rank X); unless ``asis`` (Stata's option), a two-valued
    covariate predicting a binary response perfectly is omitted with the rows it
    determines, and complete separation by a continuous covariate is refused.
    """
    (data, m, p1, p2, p3, zeta, do_pql, debug, rmax, iterlim, seed, n_jobs, memory_budget,
     progress) = glmm_arguments(fixed, data, m, p1, p2, p3, zeta, do_pql, debug, rmax, iterlim,
                                seed, n_jobs, memory_budget, progress, sampler)
    family = get_glmm_family(family_glmm)
    method = check_method(method, sampler)
    pvec, iterlim, n_jobs, seed, budget = check_options(
        p1, p2, p3, zeta, do_pql, rmax, iterlim, n_jobs, seed, memory_budget)
    m = check_m(m, method, sampler)
    recentre, mcse_target = check_rounds(recentre, pilot_m, mcse_target)
    design = glmm_design(fixed, random, data, family, varcomps_names, varcomps_equal, weights,
                         asis=asis)
    if design.q == 0:
        raise DesignError(bad_value("random", "formulas giving at least one random effect "
                                    "(a column of Z)", random))
    mcla_work(m, design.q, budget)
    # Supplied sampler inputs are used exactly as given (glmm parity on its own draws).
    sc = ColumnScaling.identity(design.p) if sampler is not None else ColumnScaling.of(design.X)
    inner = replace(design, X=sc.apply(design.X))
    start, theta0 = _start(inner, family, sampler, par_init, do_pql, sc)
    if method == "glmm":
        fit = _fit_glmm_joint(inner, family, start, theta0, pvec, zeta, m, seed, n_jobs, budget,
                              rmax, iterlim, progress)
    else:
        fit = _fit_blocks(inner, family, start, theta0, zeta, m, pilot_m, recentre, mcse_target,
                          seed, n_jobs, budget, rmax, iterlim, progress)
    extra = {k: v for k, v in dict(varcomps_equal=varcomps_equal, seed=seed).items()
             if v is not None}
    extra["method"] = method
    res = _results(design, family, fit, start, sc, debug, dict(
        pvec=pvec, zeta=zeta, seed=seed, method=method, call=lambda m_used: _call_text(
            fixed, random, design.varcomps_names, family,
            "auto" if m == "auto" else m_used, extra)))
    return attach(res, glmm_source(res, design, fixed, data, _importance_at(
        fit["objective"], fit["opt"], fit["blocks"].col_block)))


def _results(design, family, fit, start, sc, debug, opts):
    """``GLMMResults`` on the user's scale from a fit on the optimiser's (``sc``:
    ``design.scaling.ColumnScaling``); ``opts``: pvec, zeta, seed, method and call(m)."""
    opt, umat, p = fit["opt"], fit["umat"], design.p
    names = _block_names(design, fit["blocks"])
    issues, covariance, mc_cov = _diagnose(
        opt, umat.shape[0], list(design.x_names) + list(design.varcomps_names),
        design.varcomps_names, names)
    final, theta = opt.evaluation, sc.to_user(opt.argument)
    debug_info = False
    if debug:
        debug_info = {"trust_argpath": opt.argpath @ sc.A(len(theta)).T, "trust_path": opt.path,
                      "umat_logq": fit["logq"], "weights": fit["objective"].weights(opt.argument),
                      **fit["extra_debug"]}
    rounds = tuple(dict(r, start=sc.to_user(r["start"]), estimates=sc.to_user(r["estimates"]))
                   for r in fit["rounds"])
    return GLMMResults(
        beta=pd.Series(theta[:p], index=list(design.x_names)),
        nu=pd.Series(theta[p:], index=list(design.varcomps_names)),
        likelihood_value=final.value, likelihood_gradient=sc.gradient_to_user(final.gradient),
        likelihood_hessian=sc.hessian_to_user(final.hessian), trust_converged=opt.converged,
        covariance=sc.covariance_to_user(covariance), mc_covariance=sc.covariance_to_user(mc_cov),
        x=design.X, y=design.y, z=design.Z, ntrials=design.ntrials, weights=design.weights,
        umat=umat, pvec=opts["pvec"], beta_pql=sc.to_user(start.beta), nu_pql=start.nu,
        u_pql=start.u, zeta=opts["zeta"], varcomps_names=design.varcomps_names,
        varcomps_equal=design.varcomps_equal, family_glmm=family,
        call=opts["call"](umat.shape[0]), m=umat.shape[0], seed=opts["seed"],
        ess=pd.Series(final.ess, index=list(names), name="ess"), n_dropped=design.n_dropped,
        debug=debug_info, trust_message=opt.message, warnings=issues, omitted=design.omitted,
        method=opts["method"], blocks=fit["blocks"], rounds=rounds, m_path=fit["m_path"])


def _importance_at(objective, opt, col_block=None):
    """() -> (draws U (m, q), self-normalised weights at the MCMLE: (m,), or (m, q) when the
    objective weighs each block of random effects separately (``col_block`` (q,) maps
    effects to blocks)), evaluated when first asked for."""
    light = replace(objective, zu_atoms=None, fixed_atoms=None)

    def draws():
        v = np.asarray(light.weights(opt.argument))
        return light.U, (v[col_block].T if v.ndim == 2 else v)
    return draws
