"""engines.spd_factor: the Schur complement past a factor's diagonal block against dense algebra."""
import numpy as np
import scipy.sparse as sp

from mcglmm.engines.spd_factor import LUFactor, SchurFactor, diagonal_component, factorise


def _crossed_H(rng, n=400, k1=30, k2=12):
    """A Z'WZ A + I for two crossed factors (k1 + k2 columns), random W and A."""
    f1, f2 = rng.integers(k1, size=n), rng.integers(k2, size=n)
    Z = sp.hstack([sp.csr_matrix((np.ones(n), (np.arange(n), f1)), shape=(n, k1)),
                   sp.csr_matrix((np.ones(n), (np.arange(n), f2)), shape=(n, k2))]).tocsr()
    a = np.concatenate([np.full(k1, 0.7), np.full(k2, 1.3)])
    W = rng.uniform(0.05, 0.25, n)
    H = sp.diags(a) @ (Z.T @ sp.diags(W) @ Z) @ sp.diags(a) + sp.identity(k1 + k2)
    return sp.csc_matrix(H), np.repeat([0, 1], [k1, k2])


def test_schur_factor_solves_and_gives_log_det_as_dense_algebra():
    rng = np.random.default_rng(3)
    H, vc = _crossed_H(rng)
    factor = factorise(H, vc)
    assert isinstance(factor, SchurFactor)
    np.testing.assert_array_equal(factor.lead, np.arange(30))
    b = rng.standard_normal((H.shape[0], 3))
    dense = H.toarray()
    np.testing.assert_allclose(factor.solve(b), np.linalg.solve(dense, b), atol=1e-12)  # seen 2e-16
    np.testing.assert_allclose(factor.solve(b[:, 0]), np.linalg.solve(dense, b[:, 0]), atol=1e-12)
    np.testing.assert_allclose(factor.logdet, np.linalg.slogdet(dense)[1], rtol=1e-12)  # seen 1e-16


def test_no_diagonal_component_falls_back_to_sparse_lu():
    rng = np.random.default_rng(4)
    M = sp.random(20, 20, density=0.3, random_state=5)
    H = sp.csc_matrix(M @ M.T + sp.identity(20))
    vc = np.zeros(20, dtype=int)
    assert diagonal_component(H, vc) is None
    factor = factorise(H, vc)
    assert isinstance(factor, LUFactor)
    b = rng.standard_normal(20)
    np.testing.assert_allclose(factor.solve(b), np.linalg.solve(H.toarray(), b), atol=1e-12)
    np.testing.assert_allclose(factor.logdet, np.linalg.slogdet(H.toarray())[1], rtol=1e-12)


def test_a_diagonal_component_under_half_of_the_columns_is_not_eliminated():
    rng = np.random.default_rng(6)
    H, vc = _crossed_H(rng, k1=5, k2=30)
    # component 0 (5 levels) is diagonal, component 1 (30) too: the larger one leads
    assert len(diagonal_component(H, vc)) == 30
    M = sp.random(30, 30, density=0.5, random_state=7)
    coupled = sp.block_diag([sp.identity(5), M @ M.T + sp.identity(30)]).tocsc()
    assert isinstance(factorise(coupled, vc), LUFactor)
