"""The result contract of results.base on every front: types, identities, aliases, display."""
from dataclasses import FrozenInstanceError

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import mcglmm as mc
from mcglmm.results.base import TIDY_COLUMNS

# free parameters of each fixture's model: 4 fixed effects + 2 variances; 2 fixed effects +
# a variance + the residual variance; 2 fixed effects + log(sigma)
DF_MODEL = {"glmm": 6, "meglm": 4, "lr2": 3}
NOBS = {"glmm": 360, "meglm": 432, "lr2": 220}


def test_contract_types_and_shapes(any_fit):
    params, cov = any_fit.params, any_fit.cov_params()
    assert isinstance(params, pd.Series) and params.dtype == float
    assert isinstance(cov, pd.DataFrame) and cov.shape == (len(params), len(params))
    assert list(cov.index) == list(cov.columns) == list(params.index)
    assert list(any_fit.bse.index) == list(params.index)
    assert isinstance(any_fit.llf, float) and np.isfinite(any_fit.llf)
    assert any_fit.nobs == NOBS[any_fit.front] and any_fit.df_model == DF_MODEL[any_fit.front]
    assert any_fit.converged is True
    assert isinstance(any_fit.warnings, tuple) and all(isinstance(w, str) for w in any_fit.warnings)


def test_bse_is_the_root_of_the_covariance_diagonal(any_fit):
    np.testing.assert_allclose(any_fit.bse, np.sqrt(np.diag(any_fit.cov_params())), rtol=1e-15)


def test_information_criteria_by_hand(any_fit):
    k, n = DF_MODEL[any_fit.front], NOBS[any_fit.front]
    assert any_fit.aic == pytest.approx(-2 * any_fit.llf + 2 * k, rel=1e-15)
    assert any_fit.bic == pytest.approx(-2 * any_fit.llf + np.log(n) * k, rel=1e-15)


def test_intervals_nest_by_level_and_default_to_95(any_fit):
    wide, narrow = any_fit.conf_int(0.99), any_fit.conf_int(0.5)
    est = any_fit.params
    assert list(wide.columns) == ["lower", "upper"]
    assert (wide["lower"] < narrow["lower"]).all() and (narrow["lower"] < est).all()
    assert (est < narrow["upper"]).all() and (narrow["upper"] < wide["upper"]).all()
    pd.testing.assert_frame_equal(any_fit.conf_int(), any_fit.conf_int(0.95))


def test_wald_rows_are_estimate_plus_minus_z_se(any_fit):
    """glmm: every row (R glmm's confint); meglm and lr: rows other than variances/sigmas."""
    wald = {"glmm": slice(None), "meglm": slice(0, 2), "lr2": slice(0, 3)}[any_fit.front]
    ci = any_fit.conf_int(0.9).iloc[wald]
    z = norm.ppf(0.95)
    est, se = any_fit.params.iloc[wald], any_fit.bse.iloc[wald]
    np.testing.assert_allclose(ci["lower"], est - z * se, rtol=1e-13)
    np.testing.assert_allclose(ci["upper"], est + z * se, rtol=1e-13)


@pytest.mark.parametrize("level", [0, 1, 95, -0.5, True, "0.95"])
def test_a_level_outside_zero_one_is_refused(any_fit, level):
    with pytest.raises(ValueError, match="level must be a number strictly between 0 and 1"):
        any_fit.conf_int(level)


def test_glmm_aliases_equal_the_contract(glmm_fit):
    fit = glmm_fit
    pd.testing.assert_series_equal(fit.coef(), fit.params.iloc[:4])
    pd.testing.assert_series_equal(fit.varcomps(), fit.params.iloc[4:])
    pd.testing.assert_series_equal(fit.se(), fit.bse)
    pd.testing.assert_frame_equal(fit.vcov(), fit.cov_params())
    assert fit.likelihood_value == fit.loglik() == fit.llf
    assert fit.trust_converged == fit.converged and fit.nobs == len(fit.y)
    np.testing.assert_array_equal(fit.confint(level=0.9).to_numpy(), fit.conf_int(0.9).to_numpy())


def test_meglm_aliases_equal_the_contract(pig_fit):
    fit = pig_fit
    assert fit.b is fit.params and fit.V is fit.cov_params()
    assert fit.ll == fit.llf and fit.N == fit.nobs and fit.rank == fit.df_model == fit.k
    pd.testing.assert_series_equal(fit.coef(), fit.b)
    np.testing.assert_allclose(fit.bse, fit.table.loc["se"], rtol=1e-15)
    np.testing.assert_allclose(fit.conf_int().to_numpy().T, fit.table.loc[["ll", "ul"]],
                               rtol=1e-15)


def test_lr_aliases_equal_the_contract(lr2_fit):
    fit = lr2_fit
    pd.testing.assert_series_equal(fit.coef(), fit.params[["Intercept", "week", "sigma"]])
    assert fit.loglik == fit.llf
    np.testing.assert_allclose(fit.cov, fit.cov_params().iloc[:3, :3], rtol=1e-15)
    # sigma's row by the delta method: se(sigma) = sigma se(log sigma)
    assert fit.bse["sigma"] == pytest.approx(fit.sigma["sigma"] * fit.bse["log(sigma)"],
                                             rel=1e-14)


def test_r_style_functions_work_on_every_front(any_fit):
    pd.testing.assert_series_equal(mc.coef(any_fit), any_fit.coef())
    pd.testing.assert_frame_equal(mc.vcov(any_fit), any_fit.cov_params())
    pd.testing.assert_series_equal(mc.se(any_fit), any_fit.bse)
    assert mc.loglik(any_fit) == any_fit.llf
    ci = mc.confint(any_fit, level=0.9)
    assert list(ci.columns) == ["0.05", "0.95"]
    np.testing.assert_array_equal(ci.to_numpy(), any_fit.conf_int(0.9).to_numpy())
    first = any_fit.params.index[0]
    pd.testing.assert_frame_equal(mc.confint(any_fit, parm=[first, 1]),
                                  mc.confint(any_fit).iloc[[0, 1]])
    assert str(mc.summary(any_fit)) == str(any_fit.summary())


def test_confint_names_a_bad_parm(any_fit):
    with pytest.raises(ValueError, match="parm must be parameter names"):
        mc.confint(any_fit, parm="no such parameter")


def test_repr_is_one_informative_line(any_fit):
    text = repr(any_fit)
    family = {"glmm": "bernoulli.glmm", "meglm": "gaussian/identity",
              "lr2": "bernoulli/logit"}[any_fit.front]
    assert "\n" not in text and len(text) < 120
    assert text.startswith(f"<{type(any_fit).__name__} {any_fit.front}: {family}, ")
    assert f"nobs={NOBS[any_fit.front]}, llf={any_fit.llf:.8g}, converged=True>" in text


def test_summary_prints_text_and_holds_an_html_table(any_fit):
    summary = any_fit.summary()
    html = summary._repr_html_()
    assert html.count("<table") >= 1 and "</table>" in html
    for value in any_fit.params.iloc[:2]:
        assert f"{value:.6g}" in html                     # the estimates, as the table shows
    assert any_fit.params.index[0].split(":")[-1] in html
    header = {"glmm": 'Link is: &quot;logit (log odds)&quot;',
              "meglm": "Log likelihood = -1014.9268", "lr2": "2-level logit model"}
    assert header[any_fit.front] in html


def test_to_frame_has_the_same_columns_on_every_front(glmm_fit, pig_fit, lr2_fit):
    frames = [fit.to_frame() for fit in (glmm_fit, pig_fit, lr2_fit)]
    for frame in frames:
        assert tuple(frame.columns) == TIDY_COLUMNS
        assert list(frame.dtypes) == [object] * 2 + [float] * 6


def test_to_frame_rows_are_the_contract(any_fit):
    frame = any_fit.to_frame(level=0.9).set_index("term")
    np.testing.assert_array_equal(frame["estimate"], any_fit.params)
    np.testing.assert_array_equal(frame["std_error"], any_fit.bse)
    np.testing.assert_array_equal(frame[["conf_low", "conf_high"]], any_fit.conf_int(0.9))
    assert list(frame.index) == list(any_fit.params.index)


def test_glmm_frame_tests_variances_one_sided_as_its_summary(glmm_fit):
    frame, summary = glmm_fit.to_frame(), glmm_fit.summary()
    assert list(frame["group"]) == [None] * 4 + ["F", "M"]
    np.testing.assert_allclose(frame["p_value"].iloc[:4], summary.coefficients["Pr(>|z|)"],
                               rtol=1e-14)
    np.testing.assert_allclose(frame["p_value"].iloc[4:], summary.varcomps["Pr(>|z|)/2"],
                               rtol=1e-14)
    np.testing.assert_allclose(frame["statistic"], glmm_fit.params / glmm_fit.bse, rtol=1e-14)


def test_meglm_frame_tests_as_stata(pig_fit):
    frame = pig_fit.to_frame()
    assert list(frame["group"]) == [None, None, "id", None]
    np.testing.assert_array_equal(frame["statistic"], pig_fit.table.loc["z"])
    assert frame["statistic"].iloc[2:].isna().all() and frame["p_value"].iloc[2:].isna().all()
    assert frame["statistic"].iloc[0] == pytest.approx(159.18, abs=0.005)   # Stata's z


def test_lr_frame_tests_fixed_effects_only(lr2_fit):
    frame = lr2_fit.to_frame()
    assert list(frame["group"]) == [None, None, "ID", "ID"]
    np.testing.assert_allclose(frame["statistic"], lr2_fit.summary().table["t value"],
                               rtol=1e-14)
    assert frame["p_value"].iloc[:2].notna().all() and frame["p_value"].iloc[2:].isna().all()


def test_results_cannot_be_changed(any_fit):
    with pytest.raises(FrozenInstanceError):
        any_fit.nobs = 0
    with pytest.raises(FrozenInstanceError):
        any_fit.warnings = ()


def test_results_compare_and_hash_by_identity(any_fit):
    """Fields hold arrays: a field-wise == or hash would raise; results are compared as
    objects (one fit, one result), and can key a dict."""
    assert any_fit == any_fit and {any_fit: 1}[any_fit] == 1
    assert any_fit != type(any_fit).__new__(type(any_fit))
