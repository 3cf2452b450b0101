"""engines.fixed_pattern: factorisations and the selected inverse on a fixed pattern, against
dense algebra, on every path (Schur with C dense or sparse, no rest, LU fallback)."""
import numpy as np
import pytest
import scipy.sparse as sp

from mcglmm.design.gram import WeightedGram
from mcglmm.engines import fixed_pattern
from mcglmm.engines.fixed_pattern import FactorPlan
from mcglmm.engines.spd_factor import LUFactor, SchurFactor


def _indicators(n, f):
    return sp.csr_matrix((np.ones(n), (np.arange(n), f)), shape=(n, f.max() + 1))


def _crossed(rng, n=400, k1=30, k2=12):
    """Z of two crossed factors (component 1 has the most levels but comes second)."""
    Z = sp.hstack([_indicators(n, np.r_[np.arange(k2), rng.integers(k2, size=n - k2)]),
                   _indicators(n, np.r_[np.arange(k1), rng.integers(k1, size=n - k1)])])
    return Z.tocsr(), np.repeat([0, 1], [k2, k1])


def _single(rng, n=300, k=25):
    return _indicators(n, np.r_[np.arange(k), rng.integers(k, size=n - k)]), np.zeros(k, int)


def _coupled(rng, n=300, k=20):
    """One component of a factor and its slope: no component's block is diagonal."""
    f = np.r_[np.arange(k), rng.integers(k, size=n - k)]
    x = rng.standard_normal(n)
    Z = sp.hstack([_indicators(n, f), _indicators(n, f).multiply(x[:, None])]).tocsr()
    return Z, np.zeros(2 * k, int)


def _dense_H(Z, W, a):
    return (np.diag(a) @ (Z.T @ sp.diags(W) @ Z).toarray() @ np.diag(a) + np.eye(Z.shape[1]))


CASES = {"schur": (_crossed, SchurFactor), "single": (_single, SchurFactor),
         "lu": (_coupled, LUFactor)}


@pytest.fixture(params=["schur", "schur-sparse-C", "single", "lu"])
def case(request, monkeypatch):
    name = request.param
    if name == "schur-sparse-C":
        monkeypatch.setattr(fixed_pattern, "DENSE_C", 50)     # C of 360 entries: 8 row chunks
        name = "schur"
    build, kind = CASES[name]
    rng = np.random.default_rng(11)
    Z, vc = build(rng)
    gram = WeightedGram.build(Z)
    W = rng.uniform(0.05, 0.25, Z.shape[0])
    a = np.where(vc == 0, 0.7, 1.3)
    return gram, FactorPlan.build(gram, vc), gram(W, a).data, _dense_H(Z, W, a), kind


def test_factor_solves_and_gives_log_det_as_dense_algebra(case):
    gram, plan, data, H, kind = case
    factor = plan.factorise(data)
    assert isinstance(factor, kind)
    b = np.random.default_rng(2).standard_normal((H.shape[0], 3))
    np.testing.assert_allclose(factor.solve(b), np.linalg.solve(H, b), atol=1e-12)   # seen 2e-16
    np.testing.assert_allclose(factor.logdet, np.linalg.slogdet(H)[1], rtol=1e-12)   # seen 2e-16


def test_selected_inverse_is_the_inverse_on_the_pattern(case):
    gram, plan, data, H, _ = case
    values, diag = plan.selected(plan.factorise(data))
    inv = np.linalg.inv(H)
    cols = np.repeat(np.arange(gram.q), np.diff(gram.indptr))
    np.testing.assert_allclose(values, inv[gram.indices, cols], atol=1e-12)          # seen 1e-16
    np.testing.assert_allclose(diag, np.diag(inv), atol=1e-12)


def test_the_lead_is_the_largest_diagonal_component():
    Z, vc = _crossed(np.random.default_rng(5))
    plan = FactorPlan.build(WeightedGram.build(Z), vc)
    np.testing.assert_array_equal(plan.lead, np.arange(12, 42))
    np.testing.assert_array_equal(plan.rest, np.arange(12))
