"""R glmm's salamander vignette, in Python with mcglmm.

Run from the repository root: ``python vignettes/salamander.py``.  The output is
committed beside this file (``salamander.out``) and a test checks that running
the script reproduces it exactly: every random number comes from ``seed``.
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

section("6. Monte Carlo standard errors beside standard errors")
print(pd.DataFrame({"se": mc.se(sal_fit), "mcse": mc.mcse(sal_fit)}))
print(f"effective sample size of the importance weights: {sal_fit.ess:.2f} of m = {sal_fit.m}")

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
                    .rename(f"seed {seed}").to_frame().T.assign(ess=f.ess))
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
What the spread shows.  Across five seeds the estimates move by {ratio.min():.1f} to
{ratio.max():.1f} times the median MCSE that the fits themselves report, and the
effective sample size of the importance weights ranges from {table.ess.min():.1f} to
{table.ess.max():.1f} out of m = 10^4 (it was {sal_fit.ess:.1f} for seed 1234 above, whose
Cross[W/W] estimate lies far from the other seeds').  The sampler, centred at the
PQL estimates, puts almost all of its draws where the integrand is negligible for
these 120 crossed random effects, so the Monte Carlo likelihood rests on a few
draws, and an MCSE computed from those same draws cannot see what they missed: it
understates the Monte Carlo error whenever the effective sample size is small.
R glmm behaves the same way: its m = 10^3 and m = 10^4 salamander answers differ by
far more than their MCSE.  Read MCSE together with the effective sample size
(mcglmm warns below 10) and prefer larger m, or a deterministic method, before
trusting the digits.""")
