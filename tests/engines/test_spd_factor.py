"""engines.spd_factor: which columns the Schur complement eliminates (the factorisations
themselves against dense algebra: tests/engines/test_fixed_pattern.py)."""
import numpy as np
import scipy.sparse as sp

from mcglmm.engines import spd_factor
from mcglmm.engines.spd_factor import diagonal_component, schur_lead


def _crossed_H(rng, n=400, k1=30, k2=12):
    """A Z'WZ A + I for two crossed factors (k1 + k2 columns), random W and A."""
    f1, f2 = rng.integers(k1, size=n), rng.integers(k2, size=n)
    Z = sp.hstack([sp.csr_matrix((np.ones(n), (np.arange(n), f1)), shape=(n, k1)),
                   sp.csr_matrix((np.ones(n), (np.arange(n), f2)), shape=(n, k2))]).tocsr()
    a = np.concatenate([np.full(k1, 0.7), np.full(k2, 1.3)])
    W = rng.uniform(0.05, 0.25, n)
    H = sp.diags(a) @ (Z.T @ sp.diags(W) @ Z) @ sp.diags(a) + sp.identity(k1 + k2)
    return sp.csc_matrix(H), np.repeat([0, 1], [k1, k2])


def test_the_larger_diagonal_factor_leads(monkeypatch):
    H, vc = _crossed_H(np.random.default_rng(3))
    np.testing.assert_array_equal(schur_lead(H, vc), np.arange(30))
    monkeypatch.setattr(spd_factor, "DENSE_MAX", 11)       # S of 12 columns: too large
    assert schur_lead(H, vc) is None


def test_no_diagonal_component_means_sparse_lu():
    M = sp.random(20, 20, density=0.3, random_state=5)
    H = sp.csc_matrix(M @ M.T + sp.identity(20))
    vc = np.zeros(20, dtype=int)
    assert diagonal_component(H, vc) is None
    assert schur_lead(H, vc) is None


def test_a_diagonal_component_under_half_of_the_columns_is_not_eliminated():
    rng = np.random.default_rng(6)
    H, vc = _crossed_H(rng, k1=5, k2=30)
    # component 0 (5 levels) is diagonal, component 1 (30) too: the larger one leads
    assert len(diagonal_component(H, vc)) == 30
    M = sp.random(30, 30, density=0.5, random_state=7)
    coupled = sp.block_diag([sp.identity(5), M @ M.T + sp.identity(30)]).tocsc()
    assert len(diagonal_component(coupled, vc)) == 5
    assert schur_lead(coupled, vc) is None
