"""params: pack/unpack round trip, names, and the reported parameters' Jacobian by differences."""
import numpy as np
import pandas as pd
import pytest

from fd import central_jacobian, relative_error
from mcglmm.api.meglm import build_model
from mcglmm.model.families import get_family
from mcglmm.model.params import grid_names, internal_names, pack, reported, theta_lower, unpack


def _model(family, covariance):
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(6), 8)
    h = g * 2 + rng.integers(0, 2, len(g))
    x, z = rng.normal(size=len(g)), rng.normal(size=len(g))
    y = {"gaussian": rng.normal(size=len(g)), "nbinomial": rng.poisson(2.0, len(g)),
         "ordinal": rng.integers(0, 4, len(g))}[family]
    data = pd.DataFrame({"y": y, "x": x, "z": z, "g": g, "h": h})
    return build_model("y ~ x + (1 + z | g) + (1 | g:h)", data, get_family(family),
                       {"g": covariance}, False, None, None, None)


@pytest.mark.parametrize("family,covariance", [("gaussian", "unstructured"),
                                               ("ordinal", "exchangeable"),
                                               ("nbinomial", "independent"),
                                               ("gaussian", "identity")])
def test_layout_names_and_reported_jacobian(family, covariance):
    model, arrays = _model(family, covariance)
    rng = np.random.default_rng(3)
    theta = rng.normal(0, 0.3, model.dim)
    if model.family.aux.ordinal:
        theta[model.p:model.p + model.n_aux] = np.sort(theta[model.p:model.p + model.n_aux])
    beta, aux, psis = unpack(model, theta)
    np.testing.assert_array_equal(pack(beta, aux, psis), theta)
    assert [len(beta), len(aux)] + [len(p) for p in psis] == [model.p, model.n_aux,
                                                              *model.n_psi]
    names = internal_names(model, arrays.x_names)
    assert len(names) == len(set(names)) == model.dim == len(theta_lower(model))
    rows = reported(model, arrays.x_names, arrays.y_name, theta)
    J = np.array([r.jac for r in rows])
    num = central_jacobian(lambda t: np.array(
        [r.value for r in reported(model, arrays.x_names, arrays.y_name, t)]), theta)
    assert relative_error(num, J) < 2e-10                                # seen 2.5e-11
    assert np.linalg.matrix_rank(J) == model.dim           # one reported row per parameter
    for key, (l, a, b) in grid_names(model).items():
        assert 0 <= b <= a < model.levels[l].d, key
