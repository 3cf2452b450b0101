"""Pinheiro-Chao (pcaghermite, pclaplace) against the full-Hessian mcaghermite and laplace.

Run from the repository root:  python benchmarks/bench_pc.py [--tops 25 100 250] [--fit 100]

The model: a simulated nested logit with four random-intercept levels (the top and three
nested below it; each group has ``BRANCH`` children, each bottom group ``ROWS`` rows), so
top groups T give 64 T bottom groups and 192 T rows.  Every measurement runs in a fresh
process (one BLAS thread) and reports wall time, CPU time (``time.process_time``), the
largest numpy/Python allocation peak (``tracemalloc``, column "traced", MiB) and the
process's peak resident set (``ru_maxrss``, with the interpreter and imports, ~150 MiB):

- ``adapt``: one mode-curvature adaptation at theta (mode search from zero and the nodes'
  mu, B, C): ``laplace.curvature_adapt`` (sparse q x q Hessian, Schur complements level by
  level) against ``pinheiro_chao.pc_curvature_adapt``;
- ``laplace``: one Laplace value and exact gradient: ``laplace.laplace`` (Schur complement
  on the three upper levels, whose inverse the gradient forms densely) against
  ``pinheiro_chao.pc_laplace``;
- ``fit``: whole meglm fits with T = ``--fit`` top groups, laplace / pclaplace and
  mcaghermite / pcaghermite with 3 points per level (81 node combinations per row).

The two columns of each pair must agree (log likelihood printed); the timings are not a
test (the machine is shared), the ratio and the growth with T are the point.

Measured (2 shared cores, CPU seconds / tracemalloc peak MiB, full against Pinheiro-Chao):
  T = 100 (19,200 rows):  adapt 1.33 / 46 against 0.14 / 6;  laplace 1.65 / 48 against 0.12 / 9
  T = 250 (48,000 rows):  adapt 0.40 / 41 against 0.19 / 15; laplace 3.28 / 450 against 0.25 / 21
  (process peak 824 against 172 MiB);  fits at T = 25: laplace 2.26 against 1.63 s,
  mcaghermite 12.9 against 9.8 s (the 81-node quadrature itself is common to both);
  log likelihoods equal to every printed digit.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd

BRANCH, ROWS, SDS = 4, 3, (0.8, 0.6, 0.5, 0.4)
FORMULA = "y ~ x + (1 | a) + (1 | a:b) + (1 | a:b:c) + (1 | a:b:c:e)"
PAIRS = {"adapt": ("curvature_adapt", "pc_curvature_adapt"), "laplace": ("laplace", "pc_laplace"),
         "fit-laplace": ("laplace", "pclaplace"), "fit-aghq": ("mcaghermite", "pcaghermite")}


def data(tops, seed=1):
    """The simulated four-level logit data with ``tops`` top-level groups."""
    rng = np.random.default_rng(seed)
    n = tops * BRANCH ** 3 * ROWS
    codes = [np.arange(n) // (ROWS * BRANCH ** (3 - l)) for l in range(4)]
    x = rng.normal(size=n)
    eta = -0.3 + 0.5 * x + sum(rng.normal(0, s, c.max() + 1)[c] for s, c in zip(SDS, codes))
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame(dict(y=y, x=x, a=codes[0], b=codes[1], c=codes[2], e=codes[3]))


def _theta():
    """The simulation's values on the internal scale: beta, then log sd per level."""
    return np.array([-0.3, 0.5] + [np.log(s) for s in SDS])


def _engine(kind, method, tops):
    from mcglmm.api.meglm import build_model
    from mcglmm.engines.quadrature import laplace, pinheiro_chao
    from mcglmm.model.families import get_family
    model, _ = build_model(FORMULA, data(tops), get_family("bernoulli"), "independent", False,
                           None, None, None)
    theta = _theta()
    assert model.dim == len(theta)
    fn = getattr(pinheiro_chao if method.startswith("pc") else laplace, method)
    return (lambda: fn(model, theta)), (lambda out: None if kind == "adapt" else float(out.value))


def _fit(method, tops):
    import mcglmm as mc
    d = data(tops)
    k = {} if method.endswith("laplace") else dict(intpoints=3)
    return (lambda: mc.meglm(FORMULA, d, family="bernoulli", intmethod=method, **k)), \
        (lambda res: float(res.ll))


def one(kind, method, tops):
    """Measure one case in this process; returns the record printed as JSON."""
    run, value = _fit(method, tops) if kind.startswith("fit") else _engine(kind, method, tops)
    tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    out = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return dict(kind=kind, method=method, tops=tops, wall=wall, cpu=cpu, traced=peak,
                rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                value=value(out))


def _child(kind, method, tops):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, "--one", kind, method, str(tops)],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        return dict(kind=kind, method=method, tops=tops, error=out.stderr.strip()[-300:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _mib(b):
    return f"{b / 2 ** 20:8.1f}"


def _row(r):
    if "error" in r:
        return f"{r['kind']:<12}{r['method']:<20}{r['tops']:>5}  failed: {r['error']}"
    value = "" if r["value"] is None else f"{r['value']:.8f}"
    return (f"{r['kind']:<12}{r['method']:<20}{r['tops']:>5}{r['wall']:9.3f}{r['cpu']:9.3f}"
            f"{_mib(r['traced'])}{_mib(r['rss'])}  {value}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tops", type=int, nargs="+", default=[25, 100, 250])
    ap.add_argument("--fit", type=int, default=25, help="top groups of the whole fits (0: none)")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        kind, method, tops = args.one
        print(json.dumps(one(kind, method, int(tops))))
        return
    print(f"{'kind':<12}{'method':<20}{'tops':>5}{'wall s':>9}{'cpu s':>9}{'traced':>8}"
          f"{'rss MiB':>8}  log likelihood")
    jobs = [(k, m, t) for t in args.tops for k in ("adapt", "laplace") for m in PAIRS[k]]
    if args.fit:
        jobs += [(k, m, args.fit) for k in ("fit-laplace", "fit-aghq") for m in PAIRS[k]]
    for kind, method, tops in jobs:
        rows = tops * BRANCH ** 3 * ROWS
        r = _child(kind, method, tops)
        print(_row(r) + ("" if "error" in r else f"   ({rows} rows)"), flush=True)


if __name__ == "__main__":
    main()
