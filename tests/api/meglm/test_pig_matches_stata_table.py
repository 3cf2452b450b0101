"""meglm example 1 (pig, Gaussian random intercept) against Stata's printed table.

Stata 19: ``meglm weight week || id:`` (seeds/meglm-stata-manual.txt, example 1).
"""
import numpy as np
import pytest

from mcglmm.api.meglm import meglm


@pytest.fixture(scope="module")
def fit(pig):
    return meglm("weight ~ week + (1 | id)", data=pig)


def test_pig_log_likelihood(fit):
    assert fit.ll == pytest.approx(-1014.9268, abs=5e-5)   # seen 7e-6
    assert fit.converged


def test_pig_estimates_to_four_digits(fit):
    b, se = fit.table.loc["b"], fit.table.loc["se"]
    stata = {"weight:week": (6.209896, .0390124), "weight:_cons": (19.35561, .5974047),
             "id:var(_cons)": (14.81745, 3.124202), "var(e.weight)": (4.383264, .3163349)}
    for name, (est, err) in stata.items():
        assert b[name] == pytest.approx(est, rel=5e-5)      # seen 3e-6 (var(_cons))
        assert se[name] == pytest.approx(err, rel=5e-5)     # seen 6e-6


def test_pig_variance_interval_on_log_scale(fit):
    ci = fit.table["id:var(_cons)"]
    assert ci["ll"] == pytest.approx(9.801687, rel=5e-5)
    assert ci["ul"] == pytest.approx(22.39989, rel=5e-5)


def test_pig_lr_test_and_wald(fit):
    assert fit.chi2_c == pytest.approx(472.65, abs=0.005)
    assert fit.df_c == 1
    assert fit.chi2 == pytest.approx(25337.48, rel=1e-5)
    assert fit.N == 432 and list(fit.N_g) == [48]
    assert np.isclose(fit.g_avg[0], 9.0)
