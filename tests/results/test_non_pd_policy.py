"""One policy for a Hessian that is not negative definite, on every front: the covariance
and standard errors are NaN (Stata reports them missing) and a HessianWarning says so."""
import warnings

import numpy as np
import pandas as pd
import pytest

import mcglmm as mc
from mcglmm.results.covariance import (cluster_sandwich, covariance_from_hessian,
                                       information_factor)
from mcglmm.results.lr import LRFit

NOT_ND = "the Hessian at the estimate is not negative definite; standard errors are NaN"


@pytest.mark.parametrize("hess", [np.diag([-1.0, 2.0]), np.diag([-1.0, 0.0]),
                                  np.array([[-1.0, np.nan], [np.nan, -1.0]]),
                                  np.array([[-1.0, -2.0], [-2.0, -1.0]])])
def test_hessian_that_is_not_negative_definite_gives_nan(hess):
    """Indefinite, singular, non-finite (before, NaN passed Cholesky without a warning)."""
    assert information_factor(hess) is None
    with pytest.warns(mc.HessianWarning, match=NOT_ND + ". advice"):
        cov = covariance_from_hessian(hess, "advice")
    assert cov.shape == (2, 2) and np.isnan(cov).all()


def test_negative_definite_hessian_gives_its_inverse():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    hess = -(a @ a.T + 0.1 * np.eye(4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cov = covariance_from_hessian(hess, "advice")
    np.testing.assert_allclose(cov @ -hess, np.eye(4), atol=1e-10)   # seen 1e-14


def test_cluster_sandwich_against_a_loop_over_clusters():
    rng = np.random.default_rng(1)
    scores, bread = rng.normal(size=(7, 3)), np.diag([1.0, 2.0, 0.5])
    index = np.array([0, 1, 0, 2, 1, 2, 2])
    meat = sum(np.outer(scores[index == c].sum(0), scores[index == c].sum(0)) for c in range(3))
    np.testing.assert_allclose(cluster_sandwich(bread, scores, (index, 3)),
                               bread @ meat @ bread * 3 / 2, rtol=1e-14)


def _assert_nan_inference(fit):
    assert np.isnan(fit.cov_params().to_numpy()).all() and fit.bse.isna().all()
    assert fit.conf_int().isna().all().all()
    frame = fit.to_frame()
    assert frame["std_error"].isna().all() and frame["p_value"].isna().all()
    assert frame["estimate"].notna().all()
    assert any(w.startswith(NOT_ND) for w in fit.warnings)


def test_glmm_front(glmm_fit):
    """Two trust iterations on 50 of glmm's joint draws stop where the MCLA is not concave."""
    sal = mc.datasets.load("salamander")
    with pytest.warns(mc.HessianWarning, match=NOT_ND):
        fit = mc.glmm("Mate ~ 0 + Cross", ["0 + Female", "0 + Male"], ["F", "M"], sal,
                      mc.bernoulli_glmm, m=50, seed=2, iterlim=2, method="glmm")
    assert np.linalg.eigvalsh(-fit.likelihood_hessian).min() < 0
    _assert_nan_inference(fit)
    assert np.isnan(fit.mcvcov().to_numpy()).all()


def test_meglm_front_no_longer_uses_a_pseudo_inverse(pig_fit):
    """From sd(id) = e^-2 (the MLE is 3.85), no iterations: the log likelihood grows like
    exp(2 psi) there, convex in psi, so -H has a negative eigenvalue.  Before, meglm
    reported standard errors from the pseudo-inverse of an indefinite matrix."""
    pig = mc.datasets.load("pig").rename(columns={"id.num": "id", "num.weeks": "week"})
    start = np.array([19.36, 6.21, 0.74, -2.0])            # _cons, week, /lnsd_e, /id:psi1
    with pytest.warns(mc.HessianWarning, match=NOT_ND):
        fit = mc.meglm("weight ~ week + (1 | id)", data=pig, from_=start, iterate=0)
    assert fit.hessian[3, 3] > 0
    _assert_nan_inference(fit)
    assert np.isnan(fit.chi2) and np.isnan(fit.p)
    text = str(fit.summary())
    assert "Wald chi2(1)      =          ." in text and "Prob > chi2       =          ." in text


def test_lr_front(lr2_fit):
    """lr's estimates with a Hessian made positive along log(sigma)."""
    hess = -np.linalg.inv(lr2_fit.cov)
    hess[2, 2] = -hess[2, 2]
    with pytest.warns(mc.HessianWarning, match=NOT_ND):
        fit = LRFit.from_estimates(lr2_fit.theta, lr2_fit.gradient, hess, lr2_fit.loglik, True, 5,
                                   "converged", formula=lr2_fit.formula,
                                   x_names=lr2_fit.x_names, n_units=lr2_fit.n_units,
                                   quad_pts=8, n_dropped=0, group_names=("ID",))
    _assert_nan_inference(fit)
    pd.testing.assert_series_equal(fit.params, lr2_fit.params)
    table = fit.summary().table
    assert table["Std. Error"].isna().all()
