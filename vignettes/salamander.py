"""R glmm's salamander vignette, in Python with mcglmm.

Run from the repository root: ``python vignettes/salamander.py``.  The output is
committed beside this file (``salamander.out``) and a test checks that running
the script reproduces it (text exactly, numbers to 1e-7 relative): every random
number comes from ``seed``.  The fits use mcglmm's default MCLA (independent blocks
of random effects, each importance-sampled at its own conditional mode, re-centred
at the estimate); section 10 shows R glmm's joint sampler on the same data.
"""
import warnings

import numpy as np
import pandas as pd
from scipy.stats import norm

import mcglmm as mc

pd.set_option("display.width", 100)
pd.set_option("display.precision", 6)


def section(title):
    print("\n" + "=" * 78 + "\n" + title + "\n" + "=" * 78)


section("1. The data")
sal = mc.datasets.load("salamander")
print(sal.head(6))
print(sal.dtypes)

section("2. Fitting the model (m = 10^4, seed = 1234)")
print("""The 120 random effects (60 females, 60 males) fall into 6 independent blocks of
10 females x 10 males (no observation joins two blocks), so the likelihood is a
product over blocks and each block is sampled from its own proposal: a t_5/normal
mixture at the block's conditional mode and curvature, re-centred twice at the
current estimate with 1000 pilot draws before the final m = 10^4.""")
model = dict(fixed="Mate ~ 0 + Cross", random=["0 + Female", "0 + Male"],
             varcomps_names=["F", "M"], data=sal, family_glmm=mc.bernoulli_glmm)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    sal_fit = mc.glmm(**model, m=10_000, seed=1234, n_jobs=2)
for w in caught:
    print(f"{w.category.__name__}: {w.message}")
print("trust converged:", sal_fit.trust_converged)

section("3. The model summary")
print(sal_fit.summary())

section("4. Isolating the estimates")
print(mc.coef(sal_fit))
print(mc.varcomps(sal_fit))
print(mc.coef(sal_fit).iloc[[2, 3]])
print(mc.varcomps(sal_fit).iloc[[0]])

section("5. Confidence intervals")
print(mc.confint(sal_fit))
print(mc.confint(sal_fit, level=0.9))
print(mc.confint(sal_fit, level=0.99))
print(mc.confint(sal_fit, level=0.9, parm=[0, 2]))
print(mc.confint(sal_fit, level=0.9, parm=["Cross[R/R]", "Cross[W/R]"]))
print(mc.confint(sal_fit, level=0.93, parm=[4]))
print(mc.confint(sal_fit, level=0.93, parm=["F"]))

section("6. Monte Carlo standard errors beside standard errors; ESS per block")
print(pd.DataFrame({"se": mc.se(sal_fit), "mcse": mc.mcse(sal_fit)}))
print("effective sample size of each block's importance weights (of m = "
      f"{sal_fit.m}), blocks named by their first random effect:")
print(sal_fit.ess.round(1).to_string())
print("rounds (pilot, pilot, final):")
print(pd.DataFrame([{"role": r["role"], "m": r["m"], "loglik": r["loglik"],
                     "min ESS": r["min_ess"]} for r in sal_fit.rounds]).to_string())

section("7. The variance-covariance matrix and a Wald test of beta_RR - beta_WW = 0")
myvcov = mc.vcov(sal_fit)
print(myvcov)
myvar = myvcov.iloc[0, 0] + myvcov.iloc[3, 3] - 2 * myvcov.iloc[0, 3]
test_stat = (mc.coef(sal_fit).iloc[0] - mc.coef(sal_fit).iloc[3]) / np.sqrt(myvar)
print(f"z = {test_stat:.6f}, two-sided p = 2 * Phi(-|z|) = {2 * norm.sf(abs(test_stat)):.6f}")
print("(glmm's vignette computes 2 * pnorm(z), which exceeds 1 whenever z > 0; the two-sided "
      "p-value is 2 * pnorm(-|z|).)")

section("8. Setting the variance components equal (varcomps_equal = [1, 1])")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    equal_fit = mc.glmm(**{**model, "varcomps_names": ["Only Varcomp"]}, varcomps_equal=[1, 1],
                        m=10_000, seed=1234, n_jobs=2)
print(equal_fit.summary())

section("9. How large must m be? Five seeds, m = 10^4")
rows = []
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for seed in range(1, 6):
        f = mc.glmm(**model, m=10_000, seed=seed, n_jobs=2)
        rows.append(pd.concat([f.estimates(), f.mcse().add_prefix("mcse ")])
                    .rename(f"seed {seed}").to_frame().T.assign(min_ess=f.ess.min()))
table = pd.concat(rows)
print(table.iloc[:, :6].to_string(float_format=lambda v: f"{v:8.4f}"))
print()
print(table.iloc[:, 6:].to_string(float_format=lambda v: f"{v:8.4f}"))
spread = table.iloc[:, :6].std()
typical_mcse = table.iloc[:, 6:12].median().to_numpy()
print()
print(pd.DataFrame({"sd over seeds": spread, "median reported MCSE": typical_mcse,
                    "ratio": spread / typical_mcse}).to_string(float_format=lambda v: f"{v:8.4f}"))
ratio = spread / typical_mcse
print(f"""
Across five seeds the estimates move by {ratio.min():.1f} to {ratio.max():.1f} times the
median MCSE the fits report (five seeds pin an SD down only to about +-35%; over
thirty seeds the ratios are 0.92 to 1.36), and every block keeps at least
{table.min_ess.min() / 10_000:.0%} of its draws.  The Monte Carlo error is about 1/50 of
the standard error, so the digits that matter for inference are stable at m = 10^4.
To let the fit choose m, ask for m = "auto": m grows
geometrically until every MCSE is at most mcse_target (default 0.1) times its SE.""")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    auto_fit = mc.glmm(**model, m="auto", seed=1234, n_jobs=2)
print(f"m = 'auto' used m = {auto_fit.m}; path (m, largest MCSE / SE): "
      + ", ".join(f"({m}, {r:.4f})" for m, r in auto_fit.m_path))

section("10. R glmm's joint sampler on the same data (method = 'glmm')")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    joint_fit = mc.glmm(**model, m=10_000, seed=1234, n_jobs=2, method="glmm")
for w in caught:
    print(f"{w.category.__name__}: {w.message}")
print(pd.DataFrame({"default (blocks)": sal_fit.estimates(), "glmm's joint sampler":
                    joint_fit.estimates(), "se (blocks)": sal_fit.se()}).to_string(
    float_format=lambda v: f"{v:9.4f}"))
print(f"""
method = "glmm" is R glmm's own method, kept for comparison and for the exact
reproduction of glmm's answers on glmm's draws: one mixture centred at the PQL
estimates (p1 t_5(0, D*) + p2 N(u*, D*) + p3 N(u*, Sigma~)) draws all 120 random
effects jointly.  In 120 dimensions the importance weights collapse onto a few
draws: its effective sample size here is {joint_fit.ess.iloc[0]:.1f} of m = 10^4, its
MCSE (computed from those same draws) cannot see what the draws missed, and its
estimate differs from the default's by up to
{((joint_fit.estimates() - sal_fit.estimates()).abs() / sal_fit.se()).max():.2f} standard errors.  An
independent near-exact evaluation (benchmarks/near_exact.py: Gauss-Hermite over the
males within each block, importance sampling over the females, 50,000 draws per block,
the same draws for each estimate, Monte Carlo error 0.006) gives -207.598 at the MLE,
-207.599 at the default's estimate above and -208.479 at this joint-sampler estimate,
0.88 below the maximum.  The default factorises the likelihood over the 6
blocks, samples each 20-dimensional block near its own posterior and re-centres at
the estimate, which keeps more than half of every block's draws.""")
