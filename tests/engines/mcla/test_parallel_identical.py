"""The fit is bitwise identical for any n_jobs, joblib backend and memory budget, for the
default per-block method (every round's draws and trust path) and R glmm's joint method."""
import warnings

import joblib
import numpy as np
import pytest

import mcglmm as mc

M = 3000


METHODS = ["blocks", "glmm"]


def _fit(model, data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mc.MonteCarloWarning)
        return mc.glmm(**model, data=data, m=M, seed=2024, **kwargs)


def _assert_identical(a, b):
    assert a.method == b.method
    assert np.array_equal(a.umat, b.umat)
    assert np.array_equal(a.ess.to_numpy(), b.ess.to_numpy())
    assert len(a.rounds) == len(b.rounds)
    for r, s in zip(a.rounds, b.rounds):
        assert np.array_equal(r["estimates"], s["estimates"]) and r["loglik"] == s["loglik"]
    assert np.array_equal(a.estimates().to_numpy(), b.estimates().to_numpy())
    assert np.array_equal(a.likelihood_hessian, b.likelihood_hessian)
    assert np.array_equal(a.mc_covariance, b.mc_covariance)
    assert a.likelihood_value == b.likelihood_value


@pytest.fixture(scope="module", params=METHODS)
def serial_fit(request, salamander_model, salamander):
    return _fit(salamander_model, salamander, n_jobs=1, method=request.param)


def test_two_threads_equal_one_job(serial_fit, salamander_model, salamander):
    _assert_identical(serial_fit, _fit(salamander_model, salamander, n_jobs=2,
                                       method=serial_fit.method))


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_joblib_backends_equal_one_job(serial_fit, salamander_model, salamander, backend):
    with joblib.parallel_config(backend=backend):
        fit = _fit(salamander_model, salamander, n_jobs=2, method=serial_fit.method)
    _assert_identical(serial_fit, fit)


@pytest.mark.slow
def test_dask_local_cluster_equals_one_job(serial_fit, salamander_model, salamander):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        with joblib.parallel_config(backend="dask"):
            fit = _fit(salamander_model, salamander, n_jobs=2, method=serial_fit.method)
    _assert_identical(serial_fit, fit)


def test_small_memory_budget_equals_unchunked_fit(serial_fit, salamander_model, salamander):
    """With a 1 kB budget nothing n x m is stored: Z u_k is recomputed atom by atom."""
    fit = _fit(salamander_model, salamander, n_jobs=1, memory_budget=1000,
               method=serial_fit.method)
    _assert_identical(serial_fit, fit)


@pytest.mark.parametrize("budget", [2 ** 30, 1000])
def test_pass_over_observations_is_identical_for_any_n_jobs(monkeypatch, salamander_model,
                                                            salamander, budget):
    """The same for the second pass over the observations (the path of models whose
    per-draw sums do not apply, forced here), with Z u_k stored and recomputed."""
    import mcglmm.engines.mcla.maps as maps
    monkeypatch.setattr(maps, "PER_DRAW_TERMS", 0)
    serial = _fit(salamander_model, salamander, n_jobs=1, memory_budget=budget)
    _assert_identical(serial, _fit(salamander_model, salamander, n_jobs=2, memory_budget=budget))
    with joblib.parallel_config(backend="loky"):
        fit = _fit(salamander_model, salamander, n_jobs=2, memory_budget=budget)
    _assert_identical(serial, fit)


def test_progress_bar_runs(salamander_model, salamander, capsys):
    fit = _fit(salamander_model, salamander, n_jobs=1, progress=True, iterlim=3)
    assert "trust iterations" in capsys.readouterr().err
    assert fit.m == M
