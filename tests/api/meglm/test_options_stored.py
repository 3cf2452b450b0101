"""meglm's stored results beyond the estimates (Stata's e() list), checked by hand.

Values derived from the model: pig (``weight ~ week + (1 | id)``, Gaussian) has two
fixed-effects coefficients, one random-effect variance and the residual variance;
Contraception with ``(1 + urban | district)`` unstructured has two variances and one
covariance; ``children`` (0..3) as an ordinal response has four categories.
"""
import warnings

import numpy as np
import pytest

import mcglmm as mc
from mcglmm.results.meglm_stored import offset_label


@pytest.fixture(scope="module")
def pig_fit(pig):
    return mc.meglm("weight ~ week + (1 | id)", pig)


def test_pig_counts(pig_fit):
    r = pig_fit
    assert (r.k_dv, r.k_eq, r.k_eq_model) == (1, 2, 1)     # equations weight and /
    assert (r.k_f, r.k_r, r.k_rs, r.k_rc) == (2, 1, 1, 0)
    assert r.k == 4 and r.rank == 4
    assert r.k_cat is None and r.cat is None
    assert r.rc == 0


def test_pig_macros(pig_fit):
    r = pig_fit
    assert r.cmdline == "meglm('weight ~ week + (1 | id)', data)"
    assert r.title == "Mixed-effects GLM"
    assert r.model == "linear"           # Stata's "LR test vs. linear model"
    assert r.offset is None
    assert r.technique == "nr"
    assert r.properties == "b V"


def test_pig_sample_marks_the_rows_used(pig):
    data = pig.copy()
    data.loc[5, "weight"] = np.nan
    r = mc.meglm("weight ~ week + (1 | id)", data)
    assert r.sample.dtype == bool and len(r.sample) == len(pig)
    assert not r.sample[5] and r.sample.sum() == len(pig) - 1 == r.N


def test_pig_gradient_is_zero_at_the_maximum(pig_fit):
    g = pig_fit.gradient
    assert list(g.index) == list(pig_fit.b.index)
    assert np.abs(g.to_numpy()).max() < 1e-6            # seen 1.1e-10


def test_gradient_under_a_constraint_matches_finite_differences(pig):
    """With week fixed at 6, d logL / d week is not zero: compare with central differences of
    the log likelihood at the estimate (iterate=0 fits from theta -/+ h on week)."""
    r = mc.meglm("weight ~ week + (1 | id)", pig, constraints="week = 6")
    j = r.theta_names.index("week")
    h = 1e-4
    lls = []
    for sign in (1, -1):
        theta = r.theta.copy()
        theta[j] += sign * h
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mc.MCGLMMWarning)
            lls.append(mc.meglm("weight ~ week + (1 | id)", pig, from_=theta, iterate=0).ll)
    fd = (lls[0] - lls[1]) / (2 * h)
    assert abs(fd) > 100                                   # seen 128: far from the maximum
    assert r.gradient["weight:week"] == pytest.approx(fd, rel=1e-8)   # seen 1e-11
    assert abs(r.gradient["weight:_cons"]) < 1e-4 * abs(fd)


def test_rc_430_without_convergence(pig):
    with pytest.warns(mc.ConvergenceWarning):
        r = mc.meglm("weight ~ week + (1 | id)", pig, iterate=1)
    assert not r.converged and r.rc == 430


def test_offset_and_cmdline_options(pig):
    r = mc.meglm("weight ~ week + (1 | id)", pig, offset="week", level=90)
    assert r.offset == "week"
    assert r.cmdline == "meglm('weight ~ week + (1 | id)', data, offset='week', level=90)"
    assert offset_label(None, "t") == "ln(t)"
    assert offset_label(np.ones(3), None) == "offset"
    assert offset_label("o", "t") == "o + ln(t)"


def test_v_modelbased_is_the_oim_covariance_under_robust(pig, pig_fit):
    r = mc.meglm("weight ~ week + (1 | id)", pig, vce="robust")
    np.testing.assert_allclose(r.V_modelbased.to_numpy(), pig_fit.V.to_numpy(),
                               rtol=1e-8, atol=1e-12)        # seen 0 (identical)
    assert not np.allclose(r.V.to_numpy(), r.V_modelbased.to_numpy(), rtol=1e-2)
    np.testing.assert_array_equal(pig_fit.V_modelbased.to_numpy(), pig_fit.V.to_numpy())


def test_contraception_unstructured_counts(bangladesh):
    r = mc.meglm("c_use ~ urban + age + (1 + urban | district)", bangladesh,
                 family="bernoulli", covariance="unstructured")
    assert (r.k_f, r.k_rs, r.k_rc, r.k_r) == (3, 2, 1, 3)
    assert (r.k_eq, r.k_eq_model, r.k_dv) == (2, 1, 1)
    assert r.k == r.k_f + r.k_r == 6
    assert r.model == "logistic"
    assert r.cmdline == ("meglm('c_use ~ urban + age + (1 + urban | district)', data, "
                         "family='bernoulli', covariance='unstructured')")


def test_contraception_ordinal_categories(bangladesh):
    r = mc.meglm("children ~ urban + (1 | district)", bangladesh, family="ordinal",
                 link="logit")
    assert r.k_cat == 4
    np.testing.assert_array_equal(r.cat, [0, 1, 2, 3])
    assert (r.k_f, r.k_r, r.k_rs, r.k_rc) == (1, 1, 1, 0)   # urban; var(_cons[district])
    assert r.k == r.k_f + r.k_cat - 1 + r.k_r
    assert r.model == "ologit"
