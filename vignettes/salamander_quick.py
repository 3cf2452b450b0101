"""The salamander model of R glmm's vignette, fitted by MCLA; prints glmm's summary."""
import mcglmm as mc

sal = mc.datasets.load("salamander")
fit = mc.glmm("Mate ~ 0 + Cross", random=["0 + Female", "0 + Male"], varcomps_names=["F", "M"],
              data=sal, family_glmm=mc.bernoulli_glmm, m=10_000, seed=1234, n_jobs=2)
print(fit.summary())
