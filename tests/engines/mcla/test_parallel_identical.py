"""The fit is bitwise identical for any n_jobs, joblib backend and memory budget."""
import warnings

import joblib
import numpy as np
import pytest

import mcglmm as mc

M = 3000


def _fit(model, data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mc.MonteCarloWarning)
        return mc.glmm(**model, data=data, m=M, seed=2024, **kwargs)


def _assert_identical(a, b):
    assert np.array_equal(a.umat, b.umat)
    assert np.array_equal(a.estimates().to_numpy(), b.estimates().to_numpy())
    assert np.array_equal(a.likelihood_hessian, b.likelihood_hessian)
    assert np.array_equal(a.mc_covariance, b.mc_covariance)
    assert a.likelihood_value == b.likelihood_value


@pytest.fixture(scope="module")
def serial_fit(salamander_model, salamander):
    return _fit(salamander_model, salamander, n_jobs=1)


def test_two_threads_equal_one_job(serial_fit, salamander_model, salamander):
    _assert_identical(serial_fit, _fit(salamander_model, salamander, n_jobs=2))


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_joblib_backends_equal_one_job(serial_fit, salamander_model, salamander, backend):
    with joblib.parallel_config(backend=backend):
        fit = _fit(salamander_model, salamander, n_jobs=2)
    _assert_identical(serial_fit, fit)


@pytest.mark.slow
def test_dask_local_cluster_equals_one_job(serial_fit, salamander_model, salamander):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        with joblib.parallel_config(backend="dask"):
            fit = _fit(salamander_model, salamander, n_jobs=2)
    _assert_identical(serial_fit, fit)


def test_small_memory_budget_equals_unchunked_fit(serial_fit, salamander_model, salamander):
    """With a 1 kB budget nothing n x m is stored: Z u_k is recomputed atom by atom."""
    fit = _fit(salamander_model, salamander, n_jobs=1, memory_budget=1000)
    _assert_identical(serial_fit, fit)


def test_progress_bar_runs(salamander_model, salamander, capsys):
    fit = _fit(salamander_model, salamander, n_jobs=1, progress=True, iterlim=3)
    assert "trust iterations" in capsys.readouterr().err
    assert fit.m == M
