"""The contract's numbers against references: Stata's table, another front, the Hessian."""
import numpy as np
import pytest

# Stata 19, ``meglm weight week || id:`` (seeds/meglm-stata-manual.txt, example 1):
#   estimate, std. err., [95% conf. interval]
PIG_STATA = {"weight:week": (6.209896, .0390124, 6.133433, 6.286359),
             "id:var(_cons)": (14.81745, 3.124202, 9.801687, 22.39989),
             "var(e.weight)": (4.383264, .3163349, None, None)}


def test_pig_contract_values_are_statas(pig_fit):
    ci = pig_fit.conf_int()
    for name, (est, err, lo, hi) in PIG_STATA.items():
        assert pig_fit.params[name] == pytest.approx(est, rel=5e-5)    # seen 3e-6
        assert pig_fit.bse[name] == pytest.approx(err, rel=5e-5)       # seen 6e-6
        if lo is not None:
            assert ci.loc[name, "lower"] == pytest.approx(lo, rel=5e-5)
            assert ci.loc[name, "upper"] == pytest.approx(hi, rel=5e-5)
    assert pig_fit.llf == pytest.approx(-1014.9268, abs=5e-5)         # seen 7e-6
    # estat ic: df 4, AIC = -2 ll + 8, BIC = -2 ll + 4 ln 432
    assert pig_fit.aic == pytest.approx(2037.854, abs=1e-3)
    assert pig_fit.bic == pytest.approx(2054.127, abs=1e-3)


def test_lr2_and_meglm_ghermite_report_one_fit(lr2_fit, ghermite_fit):
    """The same model and 8-point non-adaptive rule through two fronts: one likelihood,
    the same fixed-effect rows, and meglm's variance interval is lr2's sigma interval
    squared (both on the log scale)."""
    assert lr2_fit.llf == pytest.approx(ghermite_fit.llf, abs=1e-10)   # seen 4e-14
    assert lr2_fit.df_model == ghermite_fit.df_model == 3
    assert lr2_fit.aic == pytest.approx(ghermite_fit.aic, abs=1e-9)
    assert lr2_fit.bic == pytest.approx(ghermite_fit.bic, abs=1e-9)
    lr = lr2_fit.to_frame().set_index("term")
    me = ghermite_fit.to_frame().set_index("term")
    for a, b in (("Intercept", "y2:_cons"), ("week", "y2:week")):
        np.testing.assert_allclose(lr.loc[a].iloc[1:].astype(float),
                                   me.loc[b].iloc[1:].astype(float), rtol=3e-6)   # seen 6e-7
    var = me.loc["ID:var(_cons)"]
    # both optimisers stop within their tolerances of the one MLE
    assert var["estimate"] == pytest.approx(lr.loc["sigma", "estimate"] ** 2, rel=5e-7)  # 5e-8
    assert var["conf_low"] == pytest.approx(lr.loc["sigma", "conf_low"] ** 2, rel=5e-7)
    assert var["conf_high"] == pytest.approx(lr.loc["sigma", "conf_high"] ** 2, rel=5e-7)
    assert var["group"] == lr.loc["sigma", "group"] == "ID"


def test_glmm_covariance_is_the_inverse_observed_information(glmm_fit):
    np.testing.assert_allclose(glmm_fit.cov_params(), np.linalg.inv(-glmm_fit.likelihood_hessian),
                               rtol=1e-10)                               # seen 7e-16


def test_meglm_covariance_is_the_jacobian_sandwich_of_the_inverse_hessian(pig_fit):
    """V = J (-H)^-1 J' with J = d(reported)/d(theta): var = exp(2 psi), var(e) = exp(2 lnsd)."""
    order = [1, 0, 3, 2]                  # reported week, _cons, var(_cons), var(e) from theta
    theta = pig_fit.theta
    jac = np.zeros((4, 4))
    jac[0, 1] = jac[1, 0] = 1.0
    jac[2, 3] = 2 * np.exp(2 * theta[3])
    jac[3, 2] = 2 * np.exp(2 * theta[2])
    assert list(np.array(pig_fit.theta_names)[order]) == ["week", "_cons", "/id:psi1", "/lnsd_e"]
    expected = jac @ np.linalg.inv(-pig_fit.hessian) @ jac.T
    # the fixed-effect and variance blocks are orthogonal in a Gaussian model: entries near 0
    np.testing.assert_allclose(pig_fit.cov_params(), expected, rtol=1e-10,
                               atol=1e-14)                        # seen 3e-15, 2e-16


def test_meglm_summary_frame_is_the_printed_table(pig_fit):
    """The HTML table holds what the text prints: exp(b) and its interval under eform."""
    plain, eform = pig_fit.summary().frame, pig_fit.summary(level=90, eform=True).frame
    assert list(plain.columns) == ["Coefficient", "Std. err.", "z", "P>|z|", "[95% conf.",
                                   "interval]"]
    np.testing.assert_array_equal(plain["Coefficient"], pig_fit.b)
    week = eform.loc["weight:week"]
    b, se = pig_fit.b["weight:week"], pig_fit.bse["weight:week"]
    assert week["exp(b)"] == pytest.approx(np.exp(b), rel=1e-15)
    assert week["Std. err."] == pytest.approx(np.exp(b) * se, rel=1e-15)
    assert week["[90% conf."] == pytest.approx(np.exp(b - 1.6448536269514722 * se), rel=1e-14)
    assert eform.loc["id:var(_cons)", "exp(b)"] == pig_fit.b["id:var(_cons)"]   # first eq only


def test_a_constraint_removes_a_free_parameter():
    """Stata's e(rank) (estat ic's df) counts free parameters: 4 - 1 constraint."""
    import mcglmm as mc
    pig = mc.datasets.load("pig").rename(columns={"id.num": "id", "num.weeks": "week"})
    fit = mc.meglm("weight ~ week + (1 | id)", data=pig, constraints="week = 6")
    assert fit.k == 4 and fit.df_model == 3
    assert fit.aic == pytest.approx(-2 * fit.llf + 6, rel=1e-15)
    assert fit.bse["weight:week"] == 0.0 and fit.conf_int().loc["weight:week"].tolist() == [6, 6]
