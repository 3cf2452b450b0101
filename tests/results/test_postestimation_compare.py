"""lrtest, information criteria and estat group, against hand computations."""
import numpy as np
import pytest
from scipy import stats

import mcglmm as mc
from mcglmm.results.comparison import BOUNDARY_NOTE

CONTRACEPTION_I = "c_use ~ C(urban) + age + C(children) + (1 | district)"


def test_lrtest_of_contraception_i_against_ii(contraception_i, contraception_ii):
    test = mc.lrtest(contraception_i, contraception_ii)
    chi2 = 2 * (contraception_ii.ll - contraception_i.ll)
    assert test.chi2 == pytest.approx(chi2, rel=1e-12)
    assert test.df == 1
    assert test.p == pytest.approx(stats.chi2.sf(chi2, 1), rel=1e-12)
    assert test.p_mixture == pytest.approx(0.5 * stats.chi2.sf(chi2, 1), rel=1e-12)
    assert test.note == BOUNDARY_NOTE
    text = str(test)
    assert f"LR chi2(1) = {chi2:>8.2f}" in text and "boundary of the parameter space" in text
    assert mc.lrtest(contraception_ii, contraception_i).chi2 == test.chi2   # order-free


def test_aic_bic_and_estat_ic_by_hand(contraception_i, contraception_ii):
    for fit, k in ((contraception_i, 7), (contraception_ii, 8)):
        assert fit.aic == pytest.approx(-2 * fit.ll + 2 * k, rel=1e-14)
        assert fit.bic == pytest.approx(-2 * fit.ll + k * np.log(1934), rel=1e-14)
    table = mc.estat_ic(contraception_i, contraception_ii, names=["(i)", "(ii)"])
    assert list(table.columns) == ["N", "ll(null)", "ll(model)", "df", "AIC", "BIC"]
    assert table.loc["(ii)", "df"] == 8 and table.loc["(i)", "N"] == 1934
    assert np.isnan(table["ll(null)"]).all()
    assert table.loc["(i)", "AIC"] == contraception_i.aic
    with pytest.raises(ValueError, match="names must be 2 names"):
        mc.estat_ic(contraception_i, contraception_ii, names=["a"])


def test_lrtest_refuses_other_data_and_other_families(contraception_i, pig_fit, bangladesh):
    with pytest.raises(ValueError, match="fit_big must be a fit on the same data"):
        mc.lrtest(contraception_i, pig_fit)
    probit = mc.meglm(CONTRACEPTION_I.replace(" + C(children)", ""), data=bangladesh,
                      family="bernoulli", link="probit")
    with pytest.raises(ValueError, match="same family and link"):
        mc.lrtest(probit, contraception_i)
    with pytest.raises(ValueError, match="the fit must be a result of glmm, meglm"):
        mc.lrtest(contraception_i, object())


def test_chibar2_mixtures():
    from mcglmm.results.comparison import _mixture
    p, text = _mixture(2, 0, 3.0)
    assert p == pytest.approx(0.5 * stats.chi2.sf(3.0, 1) + 0.25 * stats.chi2.sf(3.0, 2))
    assert text == "0.25 chi2(0) + 0.5 chi2(1) + 0.25 chi2(2)"
    p, _ = _mixture(1, 1, 3.0)
    assert p == pytest.approx(0.5 * stats.chi2.sf(3.0, 1) + 0.5 * stats.chi2.sf(3.0, 2))
    assert _mixture(2, 1, 3.0) == (None, None) and _mixture(0, 0, 3.0) == (None, None)


def test_estat_group(contraception_i, salamander_laplace):
    table = contraception_i.estat_group()
    assert table.loc["district"].tolist() == [60, 2, pytest.approx(1934 / 60), 118]
    assert list(salamander_laplace.estat_group().index) == ["male", "female"]


def test_fits_still_pickle_without_their_postestimation_data(pig_fit, glmm_fit, lr2_fit):
    import pickle
    for fit in (pig_fit, glmm_fit, lr2_fit):
        back = pickle.loads(pickle.dumps(fit))
        assert back.llf == fit.llf and back.params.equals(fit.params)
        with pytest.raises(ValueError, match="an unpickled fit"):
            back.random_effects()
        assert fit.random_effects() is not None           # the original keeps its data
