"""Wall time, CPU time and peak memory of meglm's quadrature engines, each case in a fresh process.

Run from the repository root:  python benchmarks/bench_quadrature.py [--cases NAME ...]
(``--cases small`` runs the published examples only).  Beside each fit, when ``Rscript``
with lme4 is installed, lme4's ``glmer`` on the same data (same rows, same formula, nAGQ
for the quadrature cases; its time includes reading the data); otherwise that column says
why it is empty.  Peak memory is the fresh process's largest resident set (ru_maxrss).

Cases (targets of issue 14, on a 2-core machine):
  contraception    Contraception, independent intercept and urban slope, AGHQ-7
  salamander       salamander, crossed male and female intercepts, Laplace
  tvsfpors         3-level ordinal logit, AGHQ-7;  grouseticks: 4-level Poisson, AGHQ-7
  crossed-1e5      logit y ~ x + (1 | f1) + (1 | f2), 10^5 rows, 2 x 1,000 levels, Laplace
                   (<= 8 s; log likelihood before the Schur-complement engine -61124.346437006)
  crossed-1e6      the same, 10^6 rows, 2 x 10^4 levels (<= 120 s, <= 4 GiB)
  nested-1e6       logit random intercept, 10^6 rows, 10^4 groups, AGHQ-7 (<= 5 s)
  nested-1e7       the same, 10^7 rows, 10^5 groups (<= 6 GiB)
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

SMALL = ["contraception", "salamander", "tvsfpors", "grouseticks"]
LARGE = ["crossed-1e5", "nested-1e6", "crossed-1e6", "nested-1e7"]


def contraception():
    import mcglmm as mc
    b = mc.datasets.load("Contraception")
    data = b.assign(c_use=(b["use"] == "Y").astype(int), urban=(b["urban"] == "Y").astype(int),
                    children=b["livch"].astype(str).map({"0": 0, "1": 1, "2": 2, "3+": 3}))
    return (data, "c_use ~ urban + age + C(children) + (1 | district) + (0 + urban | district)",
            dict(family="bernoulli"),
            "c_use ~ urban + age + factor(children) + (1 | district) + (0 + urban | district)", 7)


def salamander():
    import mcglmm as mc
    s = mc.datasets.load("salamander")
    cross = s["Cross"].astype(str)
    data = s.assign(y=s["Mate"], wsf=(cross.str[0] == "W").astype(int),
                    wsm=(cross.str[-1] == "W").astype(int), male=s["Male"], female=s["Female"])
    f = "y ~ wsm * wsf + (1 | male) + (1 | female)"
    return data, f, dict(family="bernoulli"), f, 1


def tvsfpors():
    import mcglmm as mc
    d = mc.datasets.load("SmokingPrevention").rename(columns={"thksord": "thk",
                                                            "thkspre": "prethk"})
    return d, "thk ~ prethk + cc * tv + (1 | school/class)", dict(family="ordinal"), None, 7


def grouseticks():
    import mcglmm as mc
    d = mc.datasets.load("grouseticks")
    f = "TICKS ~ C(YEAR) + cHEIGHT + (1 | LOCATION/BROOD/INDEX)"
    return d, f, dict(family="poisson"), None, 7


def simulated_crossed(n, levels, seed=20261127):
    """Logit with two crossed factors: eta = -0.3 + 0.5 x + a[f1] + b[f2], var 0.5 and 0.3
    (the data of benchmarks/bench_mcla.py's crossed case for n = 10^5, 1,000 levels)."""
    rng = np.random.default_rng(seed)
    f1, f2 = rng.integers(levels, size=n), rng.integers(levels, size=n)
    x = rng.standard_normal(n)
    eta = (-0.3 + 0.5 * x + rng.normal(0, np.sqrt(0.5), levels)[f1]
           + rng.normal(0, np.sqrt(0.3), levels)[f2])
    y = rng.random(n) < 1 / (1 + np.exp(-eta))
    data = pd.DataFrame({"y": y.astype(int), "x": x, "f1": f1, "f2": f2})
    f = "y ~ x + (1 | f1) + (1 | f2)"
    return data, f, dict(family="bernoulli"), f, 1


def simulated_nested(n_groups, per_group, seed=20261127):
    """Logit random intercept: eta = -0.5 + 0.8 x + u_g, u_g ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    x = rng.normal(size=g.size)
    eta = -0.5 + 0.8 * x + rng.normal(0.0, 1.0, n_groups)[g]
    y = (rng.uniform(size=g.size) < 1.0 / (1.0 + np.exp(-eta))).astype(np.int8)
    f = "y ~ x + (1 | g)"
    return pd.DataFrame({"y": y, "x": x, "g": g}), f, dict(family="bernoulli"), f, 7


CASES = {
    "contraception": contraception, "salamander": salamander, "tvsfpors": tvsfpors,
    "grouseticks": grouseticks,
    "crossed-1e5": lambda: simulated_crossed(10**5, 1000),
    "crossed-1e6": lambda: simulated_crossed(10**6, 10**4),
    "nested-1e6": lambda: simulated_nested(10**4, 100),
    "nested-1e7": lambda: simulated_nested(10**5, 100),
}


def run_one(name):
    """Fit one case in this process; print one JSON line."""
    import mcglmm as mc
    data, formula, options, _, _ = CASES[name]()
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mc.meglm(formula, data=data, **options)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"case": name, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                      "peak_mib": round(peak), "ll": round(float(fit.ll), 9),
                      "code": os.path.dirname(os.path.dirname(mc.__file__))}))


R_SCRIPT = """
suppressMessages(library(lme4))
d <- read.csv("{csv}")
t0 <- proc.time()[["elapsed"]]
fit <- glmer({formula}, data = d, family = {family}, nAGQ = {nagq})
cat(sprintf("%.2f %.6f\\n", proc.time()[["elapsed"]] - t0, as.numeric(logLik(fit))))
"""


def lme4_available():
    """None when Rscript with lme4 runs here, else the reason it does not."""
    if shutil.which("Rscript") is None:
        return "no Rscript"
    ok = subprocess.run(["Rscript", "-e", "library(lme4)"], capture_output=True)
    return None if ok.returncode == 0 else "lme4 not installed"


def glmer(data, r_formula, nagq=1, family="binomial"):
    """'<seconds> s (ll <log likelihood>)' of lme4's glmer on ``data`` (R's family name), or
    why it failed; the time excludes R's start and reading the data."""
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "data.csv")
        data.to_csv(csv, index=False)
        script = R_SCRIPT.format(csv=csv, formula=r_formula, family=family, nagq=nagq)
        out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True)
    if out.returncode != 0:
        return "glmer failed: " + out.stderr.strip().splitlines()[-1][:60]
    seconds, ll = out.stdout.split()
    return f"{float(seconds):.2f} s (ll {float(ll):.3f})"


def run_lme4(name):
    """glmer on the case's data (``glmer``), or a reason it was not run."""
    data, _, options, r_formula, nagq = CASES[name]()
    if r_formula is None or options.get("family") != "bernoulli":
        return "no glmer equivalent here"
    return glmer(data, r_formula, nagq)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=SMALL + LARGE,
                        help=f"case names, 'small' or 'large'; all: {SMALL + LARGE}")
    parser.add_argument("--no-lme4", action="store_true", help="skip the lme4 column")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.one:
        run_one(opts.one)
        return
    names = [c for name in opts.cases for c in {"small": SMALL, "large": LARGE}.get(name, [name])]
    why_not = "skipped (--no-lme4)" if opts.no_lme4 else lme4_available()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; lme4: "
          f"{why_not or 'glmer, same data'}", flush=True)
    print(f"{'case':<15}{'wall s':>8}{'cpu s':>8}{'peak MiB':>10}{'log likelihood':>18}  lme4")
    for name in names:
        out = subprocess.run([sys.executable, __file__, "--one", name], capture_output=True,
                             text=True)
        if out.returncode != 0:
            print(f"{name:<15} failed: {out.stderr.strip().splitlines()[-1]}", flush=True)
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        other = why_not or run_lme4(name)
        print(f"{name:<15}{r['wall_s']:>8.2f}{r['cpu_s']:>8.2f}{r['peak_mib']:>10}"
              f"{r['ll']:>18.6f}  {other}  [{r['code']}]", flush=True)


if __name__ == "__main__":
    main()
