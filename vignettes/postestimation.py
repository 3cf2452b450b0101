"""After the fit: random effects, predictions, residuals, simulation and model comparison.

Run from the repository root: ``python vignettes/postestimation.py`` (needs matplotlib,
the ``[plot]`` extra).  The output is committed beside this file (``postestimation.out``)
with the caterpillar plot of the salamander random effects
(``postestimation_salamander.png``); a test checks that running the script reproduces
the output.  Stata's variables are derived from the shipped data as in
``meglm_examples.py``.
"""
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

import mcglmm as mc

matplotlib.use("Agg")
pd.set_option("display.width", 100)
HERE = Path(__file__).resolve().parent


def section(title):
    print("\n" + "=" * 78 + "\n" + title + "\n" + "=" * 78)


section("pig: empirical Bayes means of a linear model are the BLUPs")
pig = mc.datasets.load("pig").rename(columns={"id.num": "id", "num.weeks": "week"})
fit = mc.meglm("weight ~ week + (1 | id)", data=pig)
re = fit.random_effects()
b = fit.b
resid = (pig["weight"] - b["weight:_cons"] - b["weight:week"] * pig["week"]).groupby(pig["id"])
shrink = b["id:var(_cons)"] / (b["id:var(_cons)"] + b["var(e.weight)"] / resid.size())
re["BLUP (closed form)"] = (shrink * resid.mean()).to_numpy()
print(re.head().to_string())
gap = np.max(np.abs(re["_cons"] - re["BLUP (closed form)"]))
print(f"\nEB means equal the BLUPs of all 48 pigs within 1e-10: {gap < 1e-10}")

section("Contraception: random intercept (i) against intercept and urban slope (ii)")
raw = mc.datasets.load("Contraception")
bang = raw.assign(c_use=(raw["use"] == "Y").astype(int), urban=(raw["urban"] == "Y").astype(int),
                  children=raw["livch"].astype(str).map({"0": 0, "1": 1, "2": 2, "3+": 3}))
fit_i = mc.meglm("c_use ~ C(urban) + age + C(children) + (1 | district)", data=bang,
                 family="bernoulli")
fit_ii = mc.meglm("c_use ~ C(urban) + age + C(children) + (1 + C(urban) | district)",
                  data=bang, family="bernoulli")
print("Random effects of (ii), posterior means and SDs (Stata's ebmeans, reses):")
print((fit_ii.random_effects().head().round(6) + 0.0).to_string())   # no "-0.000000"
print("\nPosterior modes of (i) and their curvature SEs (Stata's ebmodes):")
print(fit_i.random_effects(kind="mode").head(3).to_string())
print("\nLikelihood-ratio test of (i) within (ii):")
print(mc.lrtest(fit_i, fit_ii))
print("\nInformation criteria (Stata's estat ic):")
print(mc.estat_ic(fit_i, fit_ii, names=["(i)", "(ii)"]).to_string())
print("\nGroups (Stata's estat group):")
print(fit_ii.estat_group().to_string())

section("Predictions for new women: a known district, and one the fit has not seen")
new = pd.DataFrame({"district": [1, 1, 999, 999], "urban": [1, 0, 1, 0],
                    "age": [0.0, 0.0, 0.0, np.nan], "children": [2, 2, 2, 2]})
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    table = pd.DataFrame({
        "mu (district effect)": fit_ii.predict(new),
        "fixed part": fit_ii.predict(new, which="fixed"),
        "new district integrated": fit_ii.predict(new, new_groups="marginal"),
        "population average": fit_ii.predict(new, conditional=False)})
    table["se of fixed part"] = fit_ii.predict(new, which="fixed", se=True)["se"]
print(table.to_string())
print("warning:", caught[0].message)

section("Residuals and simulated responses of (i)")
kinds = ("response", "pearson", "deviance", "anscombe")
res = pd.DataFrame({k: fit_i.residuals(k) for k in kinds})
print(res.describe().loc[["mean", "std", "min", "max"]].to_string())
sims = fit_i.simulate(500, seed=2026)
per_sim = sims.mean(axis=0)
print(f"\nmean of 500 simulated data sets: {per_sim.mean():.5f} "
      f"(MC SE {per_sim.std(ddof=1) / np.sqrt(500):.5f}); fitted marginal mean "
      f"{fit_i.predict(conditional=False).mean():.5f}; observed {bang['c_use'].mean():.5f}")
print(f"the same seed gives the same draws: {np.array_equal(sims, fit_i.simulate(500, seed=2026))}")

section("salamander: crossed random effects (Laplace), the caterpillar plot")
sal = mc.datasets.load("salamander")
cross = sal["Cross"].astype(str)
sal = sal.assign(y=sal["Mate"], wsf=(cross.str[0] == "W").astype(int),
                 wsm=(cross.str[-1] == "W").astype(int), male=sal["Male"], female=sal["Female"])
fit_sal = mc.meglm("y ~ wsm * wsf + (1 | male) + (1 | female)", data=sal, family="bernoulli")
re_sal = fit_sal.random_effects()
print(re_sal.groupby(level="level", sort=False).describe().T.to_string())
axes = fit_sal.plot_random_effects()
figure = axes[0].figure
figure.tight_layout()
figure.savefig(HERE / "postestimation_salamander.png", dpi=110, metadata={"Software": None})
print(f"\n{len(axes)} panels, {sum(len(a.lines[0].get_xdata()) for a in axes)} effects drawn: "
      "postestimation_salamander.png")

section("salamander by MCLA (glmm, m = 10^4): conditional means from the importance weights")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    fit_mcla = mc.glmm("Mate ~ 0 + Cross", random=["0 + Female", "0 + Male"],
                       varcomps_names=["F", "M"], data=mc.datasets.load("salamander"),
                       family_glmm=mc.bernoulli_glmm, m=10_000, seed=1234)
    fit_female = mc.glmm("Mate ~ 0 + Cross", random=["0 + Female"], varcomps_names=["F"],
                         data=mc.datasets.load("salamander"), family_glmm=mc.bernoulli_glmm,
                         m=10_000, seed=1234)
re_mcla = fit_mcla.random_effects()
print(re_mcla.head().round(6).to_string())
ours = np.r_[re_mcla.loc["F", "_cons"], re_mcla.loc["M", "_cons"]]
laplace = np.r_[re_sal.loc["female", "_cons"], re_sal.loc["male", "_cons"]]
print(f"\ncorrelation with the Laplace modes over the 120 effects: "
      f"{np.corrcoef(ours, laplace)[0, 1]:.4f}; largest Monte Carlo error of a mean "
      f"{re_mcla['mcse(_cons)'].max():.4f} (smallest posterior SD "
      f"{re_mcla['se(_cons)'].min():.4f})")
print("\nLikelihood-ratio test of the male variance (MCLA log likelihoods):")
print(mc.lrtest(fit_female, fit_mcla))
