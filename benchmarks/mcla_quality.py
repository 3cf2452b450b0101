"""Quality of glmm()'s default MCLA (issue 10): estimates against the (near-)exact MLE over seeds.

Run from the repository root:  python benchmarks/mcla_quality.py [--parts salamander single auto
calibration]  (calibration: benchmarks/mcla_calibration.py with its defaults; it is not in the
default parts, being the longest: about 30 min of one core)

Each fit's estimate is judged by an evaluator independent of mcglmm's engines
(benchmarks/near_exact.py): for salamander, within each of the 6 blocks the 10 male
effects are integrated by adaptive Gauss-Hermite given the female effects and the 10
female effects importance-sampled (its Monte Carlo error is printed beside each value);
for the single-factor models (BoothHobert, cbpp2, murder in Agresti's form) the exact
log likelihood by 100-point adaptive Gauss-Hermite and its maximiser.

Printed per model: per seed the estimates, the near-exact log likelihood of the estimate
(and its Monte Carlo error), its loss against the MLE's (for salamander both evaluated
with the same draws, so the loss's Monte Carlo error is far below the value's), the largest |estimate - MLE| / SE, the smallest per-block ESS
/ m; then per parameter the seed-to-seed SD, the median reported MCSE and their ratio.
"""
import argparse
import time
import warnings

import numpy as np
import pandas as pd

import mcglmm as mc
import near_exact as ne
import near_exact_single as nes

SALAMANDER_MLE = np.array([1.019, 0.321, -1.938, 0.998, 1.387, 1.233])
SALAMANDER_LOGLIK = -207.594
NEAR_EXACT_DRAWS = 20_000     # per block; the same seed for every theta (common random numbers)
FMT = dict(float_format=lambda v: f"{v:9.4f}")


def salamander_fit(m, seed):
    return mc.glmm("Mate ~ 0 + Cross", random=["0 + Female", "0 + Male"],
                   varcomps_names=["F", "M"], data=mc.datasets.load("salamander"),
                   family_glmm=mc.bernoulli_glmm, m=m, seed=seed, n_jobs=2)


def single_fit(model, m, seed):
    fixed, random, family = nes.SINGLE_FACTOR[model]
    data = mc.datasets.load(model)
    if model == "murder":
        data["id"] = pd.Categorical(np.arange(len(data)))
    family = mc.bernoulli_glmm if family == "bernoulli" else mc.poisson_glmm
    return mc.glmm(fixed, random, ["nu"], data, family, m=m, seed=seed, n_jobs=2)


def seed_table(fits, loglik, mle, se, m):
    """One row per seed, then the SD / MCSE table."""
    rows = []
    for seed, (fit, wall) in fits.items():
        est = fit.estimates().to_numpy()
        value, mc_se = loglik(est)
        rows.append(dict(seed=seed, **dict(zip(fit.param_names, est)), loglik=value,
                         loglik_mcse=mc_se, loss=loglik(mle)[0] - value,
                         max_dev_se=np.max(np.abs(est - mle) / se),
                         min_ess_frac=fit.ess.min() / m, wall_s=wall))
    table = pd.DataFrame(rows).set_index("seed")
    names = list(next(iter(fits.values()))[0].param_names)
    est = table[names]
    mcse = pd.DataFrame([f.mcse() for f, _ in fits.values()])
    spread = pd.DataFrame({"MLE": mle, "SE": se, "seed SD": est.std().to_numpy(),
                           "median MCSE": mcse.median().to_numpy(),
                           "RMSE / SE": np.sqrt(((est - mle) ** 2).mean()).to_numpy() / se},
                          index=names)
    spread["SD / MCSE"] = spread["seed SD"] / spread["median MCSE"]
    return table, spread


def report(title, table, spread):
    print(f"\n== {title}")
    print(table.to_string(**FMT))
    print(spread.to_string(**FMT))
    print(f"max loss {table.loss.max():.4f}, max |est - MLE| / SE {table.max_dev_se.max():.3f}, "
          f"min ESS / m {table.min_ess_frac.min():.3f}, median wall {table.wall_s.median():.2f} s")


def fits_over(make, seeds):
    out = {}
    for seed in seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            fit = make(seed)
            out[seed] = (fit, time.perf_counter() - start)
    return out


def salamander_part():
    def loglik(theta):
        return ne.salamander_loglik(theta[:4], theta[4], theta[5], n_draws=NEAR_EXACT_DRAWS,
                                    seed=7)
    mle_value, mle_se = loglik(SALAMANDER_MLE)
    print(f"near-exact log L at the issue's MLE: {mle_value:.4f} (MC error {mle_se:.4f}); "
          f"issue: {SALAMANDER_LOGLIK}")
    se = None
    for m in (10_000, 1_000):
        fits = fits_over(lambda s: salamander_fit(m, s), range(1, 11))
        if se is None:
            se = np.median([f.se().to_numpy() for f, _ in fits.values()], axis=0)
        report(f"salamander, m = {m}, seeds 1..10 (SE: median over seeds)",
               *seed_table(fits, loglik, SALAMANDER_MLE, se, m))


def single_part():
    for model, seeds, ms in (("BoothHobert", range(1, 6), (10_000, 1_000)),
                             ("cbpp2", range(1, 6), (10_000, 1_000)),
                             ("murder", range(1, 11), (10_000,))):
        exact = nes.single_factor_mle(model)
        mle = np.r_[exact["coef"], exact["nu"]]
        print(f"\n{model}: exact MLE {np.round(mle, 5)}, log L {exact['loglik']:.5f}, "
              f"SE {np.round(exact['se'], 4)}")

        def loglik(theta, model=model):
            return nes.single_factor_exact(model, theta[:-1], theta[-1]), 0.0
        for m in ms:
            fits = fits_over(lambda s: single_fit(model, m, s), seeds)
            report(f"{model}, m = {m}, seeds {seeds.start}..{seeds.stop - 1}",
                   *seed_table(fits, loglik, mle, exact["se"], m))


def auto_part():
    for name, make in (("salamander", lambda: salamander_fit("auto", 1)),
                       ("BoothHobert", lambda: single_fit("BoothHobert", "auto", 1))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            fit = make()
        ratio = (fit.mcse() / fit.se()).max()
        print(f"\n{name} m='auto': m used {fit.m}, path (m, max MCSE/SE) "
              f"{[(m, round(r, 4)) for m, r in fit.m_path]}, final max MCSE/SE {ratio:.4f}, "
              f"wall {time.perf_counter() - start:.2f} s")


def calibration_part():
    import mcla_calibration                  # imports this module's fits
    mcla_calibration.run(["murder", "salamander"], 10_000, 50, 100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="*", default=["salamander", "single", "auto"])
    opts = parser.parse_args()
    parts = dict(salamander=salamander_part, single=single_part, auto=auto_part,
                 calibration=calibration_part)
    for part in opts.parts:
        parts[part]()


if __name__ == "__main__":
    main()
