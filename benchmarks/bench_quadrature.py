"""Wall time and peak memory of meglm's quadrature engines, beside other software's figures.

Run from the repository root:  python benchmarks/bench_quadrature.py [--skip-large]

Cases (other software's times as measured on a machine like ours, from the issue):
  Contraception, independent intercept and urban slope, 7-point AGHQ   GLMMadaptive 2.8 s
  salamander, crossed male and female intercepts, Laplace              lme4 0.23 s
  simulated logistic random intercept, 10^6 rows, 10^4 groups, AGHQ-7  lme4 300 s
and, without reference figures, two deeper nested models (3 and 4 levels).
Peak memory is the largest resident set size of the process (ru_maxrss) so far; the
large case runs last, so its figure is the peak of the 10^6-row fit.
"""
from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

import mcglmm as mc


def contraception():
    b = mc.datasets.load("Contraception")
    data = b.assign(c_use=(b["use"] == "Y").astype(int), urban=(b["urban"] == "Y").astype(int),
                    children=b["livch"].astype(str).map({"0": 0, "1": 1, "2": 2, "3+": 3}))
    return lambda: mc.meglm("c_use ~ urban + age + C(children) + (1 | district) "
                            "+ (0 + urban | district)", data=data, family="bernoulli")


def salamander():
    s = mc.datasets.load("salamander")
    cross = s["Cross"].astype(str)
    data = s.assign(y=s["Mate"], wsf=(cross.str[0] == "W").astype(int),
                    wsm=(cross.str[-1] == "W").astype(int), male=s["Male"], female=s["Female"])
    return lambda: mc.meglm("y ~ wsm * wsf + (1 | male) + (1 | female)", data=data,
                            family="bernoulli")


def tvsfpors():
    d = mc.datasets.load("SmokingPrevention").rename(columns={"thksord": "thk",
                                                            "thkspre": "prethk"})
    return lambda: mc.meglm("thk ~ prethk + cc * tv + (1 | school/class)", data=d,
                            family="ordinal")


def grouseticks():
    d = mc.datasets.load("grouseticks")
    return lambda: mc.meglm("TICKS ~ C(YEAR) + cHEIGHT + (1 | LOCATION/BROOD/INDEX)", data=d,
                            family="poisson")


def simulated_large(n_groups=10_000, per_group=100, seed=20261127):
    """Logistic random intercept: eta = -0.5 + 0.8 x + u_g, u_g ~ N(0, 1), fixed seed."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    x = rng.normal(size=g.size)
    eta = -0.5 + 0.8 * x + rng.normal(0.0, 1.0, n_groups)[g]
    y = (rng.uniform(size=g.size) < 1.0 / (1.0 + np.exp(-eta))).astype(np.int8)
    data = pd.DataFrame({"y": y, "x": x, "g": g})
    return lambda: mc.meglm("y ~ x + (1 | g)", data=data, family="bernoulli")


def run(name, fit, reference):
    """Time one fit; print wall time, the reference figure and the process's peak RSS."""
    t0 = time.perf_counter()
    res = fit()
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{name:<50} {wall:7.2f} s  ({reference})  ll = {res.ll:.4f}  "
          f"peak RSS so far {rss:7.0f} MiB", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-large", action="store_true", help="skip the 10^6-row case")
    args = parser.parse_args()
    run("Contraception, indep. intercept + slope, AGHQ-7", contraception(),
        "GLMMadaptive 2.8 s; goal <= 0.5 s")
    run("salamander crossed, Laplace", salamander(), "lme4 0.23 s; goal <= 0.25 s")
    run("tvsfpors, 3-level ordinal logit, AGHQ-7", tvsfpors(), "no reference figure")
    run("grouseticks, 4-level Poisson, AGHQ-7", grouseticks(),
        "no reference figure")
    if not args.skip_large:
        run("simulated logit, 10^6 rows, 10^4 groups, AGHQ-7", simulated_large(),
            "lme4 300 s; goal <= 20 s")


if __name__ == "__main__":
    main()
