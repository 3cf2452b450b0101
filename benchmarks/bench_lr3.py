"""lr3 on guImmun (Rodriguez's Guatemala model, 12 points): time per gradient, per gradient
with the exact Hessian, and per fit; wall and CPU time, peak memory.

Run from the repository root:  python benchmarks/bench_lr3.py [--repeat 20]

Each figure is the median over ``--repeat`` calls with BLAS on one thread (as lr2/lr3 and
meglm run).  CPU time is printed beside wall time because on a shared machine the wall
time mostly measures the other processes.  Peak memory is the process's largest resident
set size (ru_maxrss) so far.
"""
import argparse
import resource
import time

import numpy as np

import mcglmm as mc
from mcglmm.engines.quadrature.nested import aghq
from mcglmm.parallel import single_threaded_blas

FORMULA = "immun ~ kid2p + mom25p + ord + ethn + momEd + husEd + momWork + rural + pcInd81"


def median_times(call, repeat):
    """(median wall, median CPU) seconds of ``call()`` over ``repeat`` calls after one warm-up."""
    call()
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return float(np.median(walls)), float(np.median(cpus))


def report(name, wall, cpu):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{name:<34} wall {wall * 1e3:8.1f} ms  CPU {cpu * 1e3:8.1f} ms  "
          f"peak RSS so far {rss:6.0f} MiB", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    gu = mc.datasets.load("guImmun")
    frame = mc.lr3(FORMULA, "mom", "comm", data=gu, frame=True)
    theta = np.r_[np.zeros(16), np.log(2.0), 0.0][frame.order]
    with single_threaded_blas():
        report("gradient", *median_times(lambda: aghq(frame.model, theta, None, 12),
                                         args.repeat))
        report("gradient and exact Hessian",
               *median_times(lambda: aghq(frame.model, theta, None, 12, hessian=True),
                             args.repeat))
    fits = max(args.repeat // 10, 1)
    report("lr3 fit (6 trust iterations)",
           *median_times(lambda: mc.lr3(FORMULA, "mom", "comm", data=gu), fits))


if __name__ == "__main__":
    main()
