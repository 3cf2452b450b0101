"""glmm() (MCLA), both methods side by side: wall, CPU, peak memory, ESS and the estimate's
near-exact log likelihood; each case and method in a fresh process.

Run from the repository root:
    python benchmarks/bench_mcla.py [--cases NAME ...] [--methods blocks glmm] [--n-jobs 2]

Cases (issues 3 and 10): salamander with m = 10^3, 10^4, 10^5; murder (overdispersed
Poisson, one random effect per respondent, q = 1308, on Agresti's counts y - 1; the
shipped counts are underdispersed and put the variance MLE at 0) with m = 10^4; and, on
request, a simulated crossed Bernoulli model (n = 10^5, two factors of 1000 levels,
q = 2000, one block) with m = 10^4.  Methods: "blocks" (the default: per-block proposals,
two re-centred pilot rounds) and "glmm" (R glmm's joint sampler).  The near-exact log
likelihood of each estimate comes from benchmarks/near_exact.py (salamander: per-block
importance sampling over the females with Gauss-Hermite over the males, 20,000 draws
per block, Monte Carlo error about 0.009, the same draws for every estimate; murder:
exact by 100-point adaptive Gauss-Hermite); the MLE's is -207.594 (salamander) and
-437.2695 (murder).  ESS: the smallest block's (glmm: the joint weights').
PQL cpu: the process time of the PQL start inside the fit.  Before each case, when Rscript
with lme4 is installed, lme4's glmer Laplace fit of the same model on the same data (its
time and log likelihood; otherwise the line says why not; --no-lme4 skips it).
Reference: R glmm 1.4.5 on a 2-core machine takes 114 s for salamander m = 10^4
and does not finish murder m = 10^3 within 15 minutes.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

CASES = ["salamander-1e3", "salamander-1e4", "salamander-1e5", "murder-1e4"]
ALL_CASES = CASES + ["crossed-1e5x1e4"]
METHODS = ["blocks", "glmm"]


def simulated_crossed(n=100_000, levels=1000, seed=20261127):
    """Bernoulli logit with two crossed factors: eta = 0.5 x - 0.3 + a[f1] + b[f2], var 0.5 and 0.3."""
    rng = np.random.default_rng(seed)
    f1, f2 = rng.integers(levels, size=n), rng.integers(levels, size=n)
    x = rng.standard_normal(n)
    eta = -0.3 + 0.5 * x + rng.normal(0, np.sqrt(0.5), levels)[f1] + rng.normal(0, np.sqrt(0.3), levels)[f2]
    y = rng.random(n) < 1 / (1 + np.exp(-eta))
    return pd.DataFrame({"y": y.astype(int), "x": x, "f1": pd.Categorical(f1), "f2": pd.Categorical(f2)})


def near_exact_loglik(name, estimates):
    """The estimate's near-exact log likelihood (None for the simulated case)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import near_exact as ne
    import near_exact_single as nes
    theta = np.asarray(estimates, dtype=float)
    if name.startswith("salamander"):
        return ne.salamander_loglik(theta[:4], theta[4], theta[5], n_draws=20_000, seed=7)[0]
    if name.startswith("murder"):
        return nes.single_factor_exact("murder", theta[:-1], theta[-1])
    return None


def _time_pql():
    """A list that collects the CPU seconds of every pql_start the fit calls (wrapped where
    the glmm front imported it)."""
    from mcglmm.engines.mcla import pql
    original, spent = pql.pql_start, []

    def timed(*args, **kwargs):
        t = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.process_time() - t)
    for module in list(sys.modules.values()):
        if getattr(module, "pql_start", None) is original:
            module.pql_start = timed
    return spent


LME4 = {"salamander": ("Mate ~ 0 + Cross + (1 | Female) + (1 | Male)", "binomial"),
        "murder": ("y ~ 0 + race + (1 | id)", "poisson"),
        "crossed": ("y ~ x + (1 | f1) + (1 | f2)", "binomial")}


def lme4_laplace(name):
    """glmer's Laplace fit of the case's model on its data (benchmarks/bench_quadrature.py's
    ``glmer``: time and log likelihood), or why it was not run."""
    sys.path.insert(0, str(Path(__file__).parent))
    import bench_quadrature as bq
    why_not = bq.lme4_available()
    if why_not:
        return why_not
    formula, family = LME4[name.split("-")[0]]
    if name.startswith("salamander"):
        data = mc_data("salamander")
    elif name.startswith("murder"):
        data = mc_data("murder").assign(id=lambda d: np.arange(len(d)))
        data["y"] = data["y"] - 1
    else:
        data = simulated_crossed()
    return bq.glmer(data, formula, 1, family)


def mc_data(name):
    import mcglmm as mc
    return mc.datasets.load(name)


def run_case(name, method, n_jobs):
    import mcglmm as mc
    if name.startswith("salamander"):
        m = int(float(name.split("-")[1]))
        args = dict(fixed="Mate ~ 0 + Cross", random=["0 + Female", "0 + Male"],
                    varcomps_names=["F", "M"], data=mc.datasets.load("salamander"),
                    family_glmm=mc.bernoulli_glmm, m=m)
    elif name == "murder-1e4":
        data = mc.datasets.load("murder")
        data["y"] = data["y"] - 1          # Agresti's counts (the shipped ones are +1)
        data["id"] = pd.Categorical(np.arange(len(data)))
        args = dict(fixed="y ~ 0 + race", random="0 + id", varcomps_names=["respondent"],
                    data=data, family_glmm=mc.poisson_glmm, m=10_000)
    elif name == "crossed-1e5x1e4":
        args = dict(fixed="y ~ x", random=["0 + f1", "0 + f2"], varcomps_names=["f1", "f2"],
                    data=simulated_crossed(), family_glmm=mc.bernoulli_glmm, m=10_000)
    else:
        raise SystemExit(f"unknown case {name!r}; cases are {ALL_CASES}")
    pql_cpu = _time_pql()
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mc.glmm(**args, seed=1, n_jobs=n_jobs, method=method)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    loglik = near_exact_loglik(name, fit.estimates())
    print(json.dumps({"case": name, "method": method, "n": int(len(fit.y)),
                      "q": int(fit.z.shape[1]), "m": fit.m, "blocks": int(len(fit.ess)),
                      "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                      "pql_cpu_s": round(sum(pql_cpu), 3),
                      "peak_rss_mib": round(peak_mib, 1), "converged": fit.trust_converged,
                      "ess": round(float(fit.ess.min()), 1),
                      "loglik": None if loglik is None else round(float(loglik), 4)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=CASES)
    parser.add_argument("--methods", nargs="*", default=METHODS)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--no-lme4", action="store_true",
                        help="skip lme4's glmer line (else run when Rscript has lme4)")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.one:
        run_case(*opts.one, opts.n_jobs)
        return
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    print(f"{'case':<16}{'method':>7}{'n':>7}{'q':>6}{'blocks':>7}{'m':>8}{'wall s':>8}"
          f"{'cpu s':>8}{'PQL cpu':>8}{'peak MiB':>9}{'conv':>6}{'min ESS':>9}{'log L':>11}")
    for name in opts.cases:
        if not opts.no_lme4:
            print(f"{name:<16}  lme4 glmer (Laplace), same data: {lme4_laplace(name)}")
        for method in opts.methods:
            out = subprocess.run([sys.executable, __file__, "--one", name, method, "--n-jobs",
                                  str(opts.n_jobs)], capture_output=True, text=True)
            if out.returncode != 0:
                print(f"{name:<16}{method:>7} failed: {out.stderr.strip().splitlines()[-1]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            loglik = "" if r["loglik"] is None else f"{r['loglik']:.4f}"
            print(f"{r['case']:<16}{r['method']:>7}{r['n']:>7}{r['q']:>6}{r['blocks']:>7}"
                  f"{r['m']:>8}{r['wall_s']:>8.2f}{r['cpu_s']:>8.2f}{r['pql_cpu_s']:>8.2f}"
                  f"{r['peak_rss_mib']:>9.0f}"
                  f"{str(r['converged']):>6}{r['ess']:>9.1f}{loglik:>11}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
