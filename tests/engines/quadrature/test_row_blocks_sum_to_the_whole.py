"""Nested quadrature by row blocks of whole top-level groups equals the one-block evaluation.

Value, gradient, exact Hessian, top-level scores and the next mean-variance adaptation,
for a 3-level model (blocks cut inside the data, groups not contiguous in the rows),
with and without weights, adaptive and not.
"""
import numpy as np
import pandas as pd
import pytest

from mcglmm.api.meglm import build_model
from mcglmm.engines.quadrature import blocks
from mcglmm.engines.quadrature.laplace import curvature_adapt
from mcglmm.engines.quadrature.nested import aghq
from mcglmm.model.families import me_family


def _data():
    rng = np.random.default_rng(8)
    n = 400
    g = rng.integers(0, 30, n)                 # rows in random order of their groups
    h = g * 3 + rng.integers(0, 3, n)
    x = rng.normal(size=n)
    eta = 0.3 + 0.5 * x + rng.normal(0, 0.6, 30)[g] + rng.normal(0, 0.4, 90)[h]
    return pd.DataFrame({"y": rng.poisson(np.exp(eta)), "x": x, "g": g, "h": h,
                         "wg": rng.uniform(0.5, 2.0, 30)[g], "wo": rng.uniform(0.5, 2.0, n)})


def _model(data, weighted):
    spec = ("pweight", {"g": "wg", "_n": "wo"}) if weighted else (None, {})
    return build_model("y ~ x + (1 | g/h)", data, me_family("poisson"), "independent", False,
                       None, None, None, spec)[0]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("adaptive", [True, False])
def test_row_blocks_sum_to_the_whole(monkeypatch, weighted, adaptive):
    data = _data()
    whole = _model(data, weighted)
    theta = np.array([0.2, 0.4, -0.5, -0.8])
    adapt = curvature_adapt(whole, theta)[0] if adaptive else None
    ref = aghq(whole, theta, adapt, 5, scores=True, hessian=True)
    monkeypatch.setattr(blocks, "ROW_BLOCK", 37)
    cut = _model(data, weighted)
    assert len(blocks.row_blocks(cut)) > 5 and (cut.weights is not None) == weighted
    ev = aghq(cut, theta, adapt, 5, scores=True, hessian=True)
    assert ev.value == pytest.approx(ref.value, rel=1e-13)              # seen 0
    np.testing.assert_allclose(ev.gradient, ref.gradient, rtol=0, atol=1e-10)   # seen 9e-14
    np.testing.assert_allclose(ev.scores, ref.scores, rtol=0, atol=1e-12)
    if adaptive:
        np.testing.assert_allclose(ev.hessian, ref.hessian, rtol=0, atol=1e-9)  # seen 6e-13
    for field in ("mu", "C", "B"):
        for a, b in zip(getattr(ev.adapt_next, field), getattr(ref.adapt_next, field)):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
