"""The near-exact oracle's figures for issue 10: MLEs, exact log likelihoods, salamander checks.

Run from the repository root:  python benchmarks/near_exact_table.py [--draws 100000]

1. Single-factor models (BoothHobert, cbpp2, murder in Agresti's form): the MLE of the exact
   log likelihood (adaptive Gauss-Hermite, 100 points per group), its SE from the
   finite-difference Hessian, the log likelihood (kernel, R glmm's convention) and its change
   from 50 to 100 points.
2. Salamander: the near-exact log likelihood at the issue's MLE point (females sampled, males
   sampled, a t_3 proposal), at this module's Laplace MLE and at R glmm's m = 10^4 answer, each
   with its Monte Carlo standard error.
   The losses of the last two against the issue's point, with common random numbers.
3. Salamander, is the issue's point the maximum?  The gradient of the evaluator by central
   differences with common random numbers (the draws are a smooth map of theta for a fixed
   seed), a Newton step with the Laplace Hessian, and the log likelihood it predicts to gain.
Each row prints its wall and CPU time; peak memory is printed at the end.
"""
import argparse
import resource
import time
import warnings

import numpy as np
from scipy.optimize import minimize

import near_exact as ne
import near_exact_single as nes

ISSUE_MLE = np.array([1.019, 0.321, -1.938, 0.998, 1.387, 1.233])
R_GLMM_1E4 = np.array([1.2328, 0.3199, -1.9986, 0.9159, 1.4588, 1.6436])   # glmm vignette
NAMES = ne.SALAMANDER_COEF + ["nu_F", "nu_M"]


def timed(f, *args, **kwargs):
    """(f(*args, **kwargs), wall seconds, CPU seconds)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = f(*args, **kwargs)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def single_factor_rows():
    print("Single-factor models: exact ML (kernel log likelihood, as R glmm reports it)")
    for model in nes.SINGLE_FACTOR:
        fit, wall, cpu = timed(nes.single_factor_mle, model)
        fixed, random, family = nes.SINGLE_FACTOR[model]
        with_constants = nes.single_factor_exact(model, fit["coef"], fit["nu"], constants=True)
        drift = fit["loglik"] - nes.single_factor_exact(model, fit["coef"], fit["nu"], n_points=50)
        print(f"\n{model}: fixed {fixed!r}, random {random!r}, {family}  "
              f"[{wall:.1f} s wall, {cpu:.1f} s CPU]")
        values = np.r_[fit["coef"], fit["nu"]]
        for name, value, se in zip(fit["names"] + ["nu"], values, fit["se"]):
            print(f"  {name:14s} {value:12.6f}  (SE {se:.6f})")
        gradient = np.abs(fit["gradient"]).max()
        print(f"  log L (kernel) {fit['loglik']:.6f}; with the data constants "
              f"{with_constants:.6f}; 100 - 50 points {drift:.1e}; max |gradient| {gradient:.1e}; "
              f"converged {fit['success']}")


def salamander_exact(theta, **kwargs):
    return ne.salamander_loglik(theta[:4], theta[4], theta[5], **kwargs)


def laplace_mle():
    """Maximise the per-block Laplace approximation over (beta, log nu)."""
    def f(t):
        return -ne.salamander_laplace(t[:4], np.exp(t[4]), np.exp(t[5]))
    res = minimize(f, np.r_[ISSUE_MLE[:4], np.log(ISSUE_MLE[4:])], method="BFGS", jac="3-point")
    return np.r_[res.x[:4], np.exp(res.x[4:])], -res.fun


def salamander_rows(n_draws):
    print(f"\nSalamander (Mate ~ 0 + Cross; 0 + Female, 0 + Male): n_draws = {n_draws} per block")
    lap_point, lap_value = laplace_mle()
    points = [("issue's MLE, females sampled", ISSUE_MLE, dict(seed=1)),
              ("issue's MLE, males sampled", ISSUE_MLE, dict(seed=2, sampled="Male")),
              ("issue's MLE, t_3(1.5^2 S) proposal", ISSUE_MLE,
               dict(seed=3, proposal="t", df=3.0, inflate=1.5)),
              ("Laplace MLE", lap_point, dict(seed=4)),
              ("R glmm m = 10^4 answer", R_GLMM_1E4, dict(seed=5))]
    print("  Laplace MLE: " + ", ".join(f"{n} {v:.4f}" for n, v in zip(NAMES, lap_point))
          + f" (Laplace log L {lap_value:.4f})")
    for label, theta, kwargs in points:
        out, wall, cpu = timed(salamander_exact, theta, n_draws=n_draws, full=True, **kwargs)
        print(f"  {label:36s} log L {out['value']:.4f} (MC SE {out['mc_se']:.4f}), min block ESS "
              f"{out['block_ess'].min() / n_draws:.2f} n  [{wall:.1f} s wall, {cpu:.1f} s CPU]")
    loss_rows([("Laplace MLE", lap_point), ("R glmm m = 10^4 answer", R_GLMM_1E4)], 10_000)


def loss_rows(points, n_draws, seed=9):
    """log L(ISSUE_MLE) - log L(theta) with common random numbers, and its MC SE."""
    print(f"\nSalamander: log-likelihood loss against the issue's MLE (common random numbers, "
          f"n_draws = {n_draws})")
    base = salamander_exact(ISSUE_MLE, n_draws=n_draws, seed=seed, full=True)
    for label, theta in points:
        out, wall, cpu = timed(salamander_exact, theta, n_draws=n_draws, seed=seed, full=True)
        loss, se = ne.paired_difference(base, out)
        print(f"  {label:24s} loss {loss:.4f} (MC SE {se:.4f})  "
              f"[{wall:.1f} s wall, {cpu:.1f} s CPU]")


def newton_check(n_draws, seed, h=0.05):
    """Central-difference gradient g (6,) of the evaluator at ISSUE_MLE with common random
    numbers, the Newton step -H_L^-1 g with the Laplace Hessian H_L (6, 6), the Laplace SE."""
    g = np.array([(salamander_exact(ISSUE_MLE + e, n_draws=n_draws, seed=seed)[0]
                   - salamander_exact(ISSUE_MLE - e, n_draws=n_draws, seed=seed)[0]) / (2 * h)
                  for e in h * np.eye(6)])
    hess = nes.fd_hessian(lambda t: ne.salamander_laplace(t[:4], t[4], t[5]), ISSUE_MLE, 1e-3)
    return g, -np.linalg.solve(hess, g), np.sqrt(np.diag(np.linalg.inv(-hess)))


def stationarity_rows(n_draws, seeds=(7, 8), h=0.05):
    """The quadratic model f + g's + s'Hs/2 gains g's/2 at the Newton step s."""
    print(f"\nSalamander: is the issue's point the maximum? (common random numbers, "
          f"n_draws = {n_draws}, h = {h}, seeds {seeds})")
    runs = [timed(newton_check, n_draws, seed, h) for seed in seeds]
    se = runs[0][0][2]
    print(f"  {'':12s}" + "".join(f" {'gradient':>9s} {'step/SE':>8s}" for _ in seeds)
          + f" {'Laplace SE':>11s}")
    for j, name in enumerate(NAMES):
        cells = "".join(f" {g[j]:9.4f} {s[j] / se[j]:8.3f}" for (g, s, _), _, _ in runs)
        print(f"  {name:12s}{cells} {se[j]:11.4f}")
    for seed, ((g, s, _), wall, cpu) in zip(seeds, runs):
        print(f"  seed {seed}: predicted gain of the Newton step {g @ s / 2:.5f} "
              f"[{wall:.1f} s wall, {cpu:.1f} s CPU]")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100_000)
    parser.add_argument("--gradient-draws", type=int, default=20_000)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)    # exp overflow in rejected BFGS trials
        single_factor_rows()
        salamander_rows(args.draws)
        stationarity_rows(args.gradient_draws)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory {peak:.0f} MiB")


if __name__ == "__main__":
    main()
