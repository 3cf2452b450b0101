"""Faults on the parallel path: a dask worker that dies mid-fit costs a re-run of its task,
never a wrong or partial sum; if the task cannot be re-run the error names the lost worker;
Ctrl-C leaves no worker process behind."""
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import joblib
import numpy as np
import pytest

import mcglmm as mc

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("dask.distributed")
cloudpickle = pytest.importorskip("cloudpickle")

SALAMANDER = dict(fixed="Mate ~ 0 + Cross", random=["0 + Female", "0 + Male"],
                  varcomps_names=["F", "M"], family_glmm=mc.bernoulli_glmm, m=1000, seed=7)


class KillAtTask(distributed.WorkerPlugin):
    """SIGKILL worker ``worker_name`` as it starts its ``n``-th task; once, as recorded by
    ``marker`` (the nanny restarts the worker and the plugin with it)."""

    name = "kill-at-task"

    def __init__(self, worker_name, n, marker):
        self.worker_name, self.n, self.marker, self.count = worker_name, n, marker, 0

    def setup(self, worker):
        self.worker = worker

    def transition(self, key, start, finish, **kwargs):
        if finish != "executing" or self.worker.name != self.worker_name:
            return
        self.count += 1
        if self.count == self.n and not os.path.exists(self.marker):
            with open(self.marker, "w") as f:
                f.write(self.worker.address)
            os.kill(os.getpid(), signal.SIGKILL)


cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _fit(data, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mc.MonteCarloWarning)
        return mc.glmm(**SALAMANDER, data=data, **kwargs)


def _fit_on_cluster_losing_a_worker(data, marker):
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        client.register_plugin(KillAtTask(worker_name=0, n=6, marker=str(marker)))
        with joblib.parallel_config(backend="dask"):
            return _fit(data, n_jobs=2)


@pytest.mark.slow
def test_dask_worker_killed_mid_fit_gives_the_identical_fit(salamander, tmp_path):
    serial = _fit(salamander, n_jobs=1)
    marker = tmp_path / "killed"
    fit = _fit_on_cluster_losing_a_worker(salamander, marker)
    assert marker.exists(), "the worker was not killed: the test proved nothing"
    assert np.array_equal(fit.estimates().to_numpy(), serial.estimates().to_numpy())
    assert np.array_equal(fit.likelihood_hessian, serial.likelihood_hessian)
    assert np.array_equal(fit.mc_covariance, serial.mc_covariance)
    assert fit.likelihood_value == serial.likelihood_value


@pytest.mark.slow
def test_dask_worker_lost_without_rerun_names_the_worker(salamander, tmp_path):
    marker = tmp_path / "killed"
    with pytest.raises(mc.WorkerLostError) as info:
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            _fit_on_cluster_losing_a_worker(salamander, marker)
    assert marker.exists()
    assert marker.read_text() in str(info.value)
    assert "allowed-failures" in str(info.value)


CHILD = textwrap.dedent("""
    import sys, warnings, joblib, mcglmm as mc
    warnings.simplefilter("ignore")
    sal = mc.datasets.load("salamander")
    print("ready", flush=True)
    with joblib.parallel_config(backend="loky"):
        for seed in range(1000):
            mc.glmm("Mate ~ 0 + Cross", random=["0 + Female", "0 + Male"], data=sal,
                    varcomps_names=["F", "M"], family_glmm=mc.bernoulli_glmm, m=20000, seed=seed, n_jobs=2)
""")


def _descendants(pid):
    """Process ids whose parent chain leads to ``pid`` (Linux /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_during_a_loky_fit_leaves_no_worker_process(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        workers, deadline = set(), time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.2)
            workers = _descendants(child.pid)
        assert len(workers) >= 2, f"loky started no workers: {child.poll()}, {child.stderr.read()}"
        time.sleep(1.0)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert "KeyboardInterrupt" in err
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in workers if _alive(p)]
