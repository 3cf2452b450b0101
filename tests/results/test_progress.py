"""meglm's progress bar counts digits of convergence and fills when the fit converges."""
import numpy as np
import pandas as pd
import pytest

import mcglmm as mc
from mcglmm.progress import ConvergenceBar


def test_bar_counts_settled_digits():
    bar = ConvergenceBar(1e-8)
    assert bar.total == 8
    bar("Iteration 0: Log likelihood = -1000")
    assert bar.bar.n == 0
    bar("Iteration 1: Log likelihood = -1000.01")        # change 0.01 / 1001: 5 digits
    assert bar.bar.n == 5
    bar("Iteration 2: Log likelihood = -1000.0100000001")
    assert bar.bar.n == 8
    bar("not an iteration line")
    bar.close(True)
    assert bar.bar.n == 8


def test_meglm_progress_ends_full(pig, capsys):
    fit = mc.meglm("weight ~ week + (1 | id)", data=pig, progress=True)
    err = capsys.readouterr().err
    assert fit.converged and "8/8" in err and "digits settled" in err
    with pytest.raises((TypeError, ValueError), match="progress must be True or False"):
        mc.meglm("weight ~ week + (1 | id)", data=pig, progress="yes")


def test_lr_progress_ends_full(capsys):
    rng = np.random.default_rng(2)
    g = np.repeat(np.arange(40), 5)
    x = rng.normal(size=200)
    y = (rng.random(200) < 1 / (1 + np.exp(-(x + rng.normal(size=40)[g])))).astype(float)
    fit = mc.lr2("y ~ x", id="g", data=pd.DataFrame({"y": y, "x": x, "g": g}), progress=True)
    err = capsys.readouterr().err
    assert fit.converged and "10/10" in err and "lr: digits settled" in err
    with pytest.raises((TypeError, ValueError), match="progress must be True or False"):
        mc.lr2("y ~ x", id="g", data=pd.DataFrame({"y": y, "x": x, "g": g}), progress=1)
