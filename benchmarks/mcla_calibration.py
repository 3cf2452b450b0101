"""Calibration of glmm()'s Monte Carlo standard errors (issue 10): does the MCSE match the spread?

Run from the repository root:
    python benchmarks/mcla_calibration.py [--models murder salamander] [--m 10000]
        [--fixed-seeds 50] [--fit-seeds 100]

Two experiments per model (murder in Agresti's form; salamander):

1. Fixed proposal.  One per-block proposal, centred at the conditional mode at a fixed theta*
   (murder: the exact MLE by 100-point adaptive Gauss-Hermite, benchmarks/near_exact_single;
   salamander: the issue's MLE), and R seeds of the final round's m draws from it.  At theta*:
   the covariance C of the gradient over seeds against the mean reported V (per parameter
   C_jj / V_jj and the whole-matrix tr(V^-1 C) / P); for each seed's MCMLE (trust from theta*):
   its seed-to-seed SD against the median MCSE, and tr(S^-1 Cov) / P with S the mean sandwich.
   This isolates the formula and implementation of V and the sandwich from the rounds.
2. Default fits.  glmm() with default settings over seeds 1..N: SD / median MCSE (the issue's
   statistic), SD / RMS MCSE (the spread of a mixture of fits whose MCSE differ), the SD of
   each fit's (estimate - mean) / its own MCSE, and the statistic over disjoint groups of 10
   seeds (the issue's sample size).

Reference for an honest MCSE with Gaussian estimates: (n - 1) SD^2 / sigma^2 ~ chi2(n - 1);
printed are the central 95% interval of SD / sigma for n seeds, and, for tr(V^-1 C) / P, of
chi2(P (n - 1)) / (P (n - 1)).  Each experiment prints its wall and CPU time.
"""
import argparse
import resource
import time
import warnings

import numpy as np
import pandas as pd
from scipy.stats import chi2

import mcglmm as mc
import near_exact_single as nes
from mcla_quality import SALAMANDER_MLE, salamander_fit, single_fit
from mcglmm.design import glmm_design
from mcglmm.design.blocks import independent_blocks
from mcglmm.engines.mcla import MCLAObjective, mc_vcov
from mcglmm.engines.mcla.sampler import SamplerInputs, block_proposal
from mcglmm.model.families import get_glmm_family
from mcglmm.optim.trust import maximize

FINAL_ROUND = 2               # random stream of the fixed-proposal draws (a default fit's final
                              # round after two healthy pilots; more pilots shift it)
GROUP = 10                    # seeds per group in the statistic
FMT = dict(float_format=lambda v: f"{v:8.3f}")


def model_setup(name):
    """(design, family, theta*) of a model, on the user's scale (no column scaling)."""
    if name == "murder":
        exact = nes.single_factor_mle("murder")
        data = mc.datasets.load("murder")
        data["id"] = pd.Categorical(np.arange(len(data)))
        family = get_glmm_family(mc.poisson_glmm)
        design = glmm_design("I(y - 1) ~ 0 + race", "0 + id", data, family, ["nu"])
        return design, family, np.r_[exact["coef"], exact["nu"]]
    family = get_glmm_family(mc.bernoulli_glmm)
    design = glmm_design("Mate ~ 0 + Cross", ["0 + Female", "0 + Male"],
                         mc.datasets.load("salamander"), family, ["F", "M"])
    return design, family, SALAMANDER_MLE


def chi2_interval(df):
    """Central 95% interval of chi2(df) / df."""
    return tuple(chi2.ppf([0.025, 0.975], df) / df)


def sd_interval(n):
    """Central 95% interval of SD / sigma from n Gaussian seeds."""
    return tuple(np.sqrt(chi2_interval(n - 1)))


def fixed_proposal(name, m, seeds):
    """Parameter names and, per seed at theta*: gradient (R, P), V (R, P, P), MCMLE (R, P),
    sandwich (R, P, P)."""
    design, family, theta = model_setup(name)
    blocks = independent_blocks(design.Z)
    p = design.p
    proposal, _ = block_proposal(design, family, blocks, SamplerInputs(
        theta[:p], theta[p:], np.zeros(design.q)), 0.5, 5.0)
    out = {k: [] for k in ("grad", "V", "est", "S")}
    names = list(design.x_names) + list(design.varcomps_names)
    for seed in seeds:
        U, logq = proposal.draw(m, seed, FINAL_ROUND)
        objective = MCLAObjective.build(design, family, U, logq, blocks=blocks)
        ev = objective.evaluate(theta)
        opt = maximize(objective.evaluate, theta, rinit=1.0)
        for key, value in zip(out, (ev.gradient, ev.v2, opt.argument, mc_vcov(opt.evaluation))):
            out[key].append(value)
    return names, {k: np.array(v) for k, v in out.items()}


def fixed_table(names, r):
    """Per parameter C_jj / V_jj and SD / median MCSE; whole-matrix traces."""
    grad, V, est, S = r["grad"], r["V"], r["est"], r["S"]
    R, P = grad.shape
    C, Vbar = np.cov(grad.T), V.mean(axis=0)
    table = pd.DataFrame({"C/V (grad)": np.diag(C) / np.diag(Vbar),
                          "seed SD": est.std(axis=0, ddof=1),
                          "median MCSE": np.median(np.sqrt(np.diagonal(S, axis1=1, axis2=2)),
                                                   axis=0)}, index=names)
    table["SD / MCSE"] = table["seed SD"] / table["median MCSE"]
    traces = (np.trace(np.linalg.solve(Vbar, C)) / P,
              np.trace(np.linalg.solve(S.mean(axis=0), np.cov(est.T))) / P)
    return table, traces


def default_fits(name, m, seeds):
    """Estimates and MCSE (N, P) of default glmm() fits, and the parameter names."""
    est, mcse = [], []
    for seed in seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = salamander_fit(m, seed) if name == "salamander" else single_fit(name, m, seed)
        est.append(fit.estimates().to_numpy())
        mcse.append(fit.mcse().to_numpy())
    return list(fit.param_names), np.array(est), np.array(mcse)


def default_table(names, est, mcse):
    """SD / median MCSE, SD / RMS MCSE, SD of standardised deviations, per 10-seed group."""
    sd = est.std(axis=0, ddof=1)
    table = pd.DataFrame({"SD / median MCSE": sd / np.median(mcse, axis=0),
                          "SD / RMS MCSE": sd / np.sqrt((mcse ** 2).mean(axis=0)),
                          "SD of dev / own MCSE": ((est - est.mean(axis=0)) / mcse).std(
                              axis=0, ddof=1),
                          "MCSE rel. spread": mcse.std(axis=0) / mcse.mean(axis=0)}, index=names)
    groups = [(est[s:s + GROUP].std(axis=0, ddof=1) / np.median(mcse[s:s + GROUP], axis=0))
              for s in range(0, len(est) - GROUP + 1, GROUP)]
    per_group = pd.DataFrame(groups, columns=names,
                             index=[f"seeds {s + 1}-{s + GROUP}" for s in
                                    range(0, GROUP * len(groups), GROUP)])
    return table, per_group


def timed(label, fun, *args):
    start, cpu = time.perf_counter(), time.process_time()
    out = fun(*args)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  [{label}: wall {time.perf_counter() - start:.1f} s, "
          f"CPU {time.process_time() - cpu:.1f} s, peak so far {peak:.0f} MiB]")
    return out


def run(models, m, fixed_seeds, fit_seeds):
    for name in models:
        print(f"\n== {name}, m = {m}")
        if fixed_seeds:
            names, r = timed("fixed proposal", fixed_proposal, name, m, range(1, fixed_seeds + 1))
            table, (t_grad, t_est) = fixed_table(names, r)
            P = r["grad"].shape[1]
            low, high = chi2_interval(P * (fixed_seeds - 1))
            print(f"fixed proposal at theta*, {fixed_seeds} seeds of the final round: "
                  f"tr(V^-1 C)/P = {t_grad:.3f}, tr(S^-1 Cov(MCMLE))/P = {t_est:.3f} "
                  f"(honest, Gaussian: 95% in [{low:.3f}, {high:.3f}]); SD / sigma 95% in "
                  "[{:.3f}, {:.3f}]".format(*sd_interval(fixed_seeds)))
            print(table.to_string(**FMT))
        if fit_seeds:
            names, est, mcse = timed("default fits", default_fits, name, m,
                                     range(1, fit_seeds + 1))
            table, per_group = default_table(names, est, mcse)
            print(f"default fits, seeds 1..{fit_seeds}; honest SD / sigma 95% in "
                  "[{:.3f}, {:.3f}] for {} seeds, [{:.3f}, {:.3f}] for {}".format(
                      *sd_interval(fit_seeds), fit_seeds, *sd_interval(GROUP), GROUP))
            print(table.to_string(**FMT))
            inside = ((per_group >= 0.67) & (per_group <= 1.5)).all(axis=1)
            print(f"SD / median MCSE per group of {GROUP} seeds (all parameters in "
                  f"[0.67, 1.5] in {inside.sum()} of {len(inside)} groups):")
            print(per_group.to_string(**FMT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=["murder", "salamander"])
    parser.add_argument("--m", type=int, default=10_000)
    parser.add_argument("--fixed-seeds", type=int, default=50)
    parser.add_argument("--fit-seeds", type=int, default=100)
    opts = parser.parse_args()
    run(opts.models, opts.m, opts.fixed_seeds, opts.fit_seeds)


if __name__ == "__main__":
    main()
