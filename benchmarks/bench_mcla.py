"""Timings of glmm() (MCLA): wall time, CPU time and peak memory, each case in a fresh process.

Run from the repository root:  python benchmarks/bench_mcla.py [--cases NAME ...] [--n-jobs 2]

Cases (issue 3): salamander with m = 10^3, 10^4, 10^5; murder (overdispersed Poisson,
one random effect per respondent, q = 1308, on Agresti's counts y - 1; the shipped
counts are underdispersed and put the variance MLE at 0) with m = 10^4; a simulated crossed
Bernoulli model (n = 10^5, two factors of 1000 levels, q = 2000) with m = 10^4.
Reference: R glmm 1.4.5 on a 2-core machine takes 114 s for salamander m = 10^4
and does not finish murder m = 10^3 within 15 minutes.
"""
import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd

CASES = ["salamander-1e3", "salamander-1e4", "salamander-1e5", "murder-1e4", "crossed-1e5x1e4"]


def simulated_crossed(n=100_000, levels=1000, seed=20261127):
    """Bernoulli logit with two crossed factors: eta = 0.5 x - 0.3 + a[f1] + b[f2], var 0.5 and 0.3."""
    rng = np.random.default_rng(seed)
    f1, f2 = rng.integers(levels, size=n), rng.integers(levels, size=n)
    x = rng.standard_normal(n)
    eta = -0.3 + 0.5 * x + rng.normal(0, np.sqrt(0.5), levels)[f1] + rng.normal(0, np.sqrt(0.3), levels)[f2]
    y = rng.random(n) < 1 / (1 + np.exp(-eta))
    return pd.DataFrame({"y": y.astype(int), "x": x, "f1": pd.Categorical(f1), "f2": pd.Categorical(f2)})


def run_case(name, n_jobs):
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
        raise SystemExit(f"unknown case {name!r}; cases are {CASES}")
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mc.glmm(**args, seed=1, n_jobs=n_jobs)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"case": name, "n": int(len(fit.y)), "q": int(fit.z.shape[1]), "m": fit.m,
                      "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                      "peak_rss_mib": round(peak_mib, 1), "converged": fit.trust_converged,
                      "iterations": None, "ess": round(float(fit.ess), 1)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=CASES)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.one:
        run_case(opts.one, opts.n_jobs)
        return
    print(f"{'case':<18}{'n':>8}{'q':>6}{'m':>8}{'wall s':>9}{'cpu s':>9}{'peak MiB':>10}"
          f"{'conv':>6}{'ESS':>9}")
    for name in opts.cases:
        out = subprocess.run([sys.executable, __file__, "--one", name, "--n-jobs", str(opts.n_jobs)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{name:<18} failed: {out.stderr.strip().splitlines()[-1]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['case']:<18}{r['n']:>8}{r['q']:>6}{r['m']:>8}{r['wall_s']:>9.2f}{r['cpu_s']:>9.2f}"
              f"{r['peak_rss_mib']:>10.0f}{str(r['converged']):>6}{r['ess']:>9.1f}")


if __name__ == "__main__":
    main()
