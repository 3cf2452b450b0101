"""Covariance structures: Sigma's first and second psi-derivatives, the score, start values."""
import numpy as np
import pytest

from mcglmm.model.covariance import COVARIANCES, Exchangeable, get_covariance
from fd import central_jacobian, relative_error

CASES = [("independent", 2), ("identity", 2), ("exchangeable", 1), ("exchangeable", 3),
         ("unstructured", 3)]


@pytest.mark.parametrize("name,d", CASES)
def test_sigma_derivatives_match_finite_differences(name, d):
    cov = get_covariance(name, d)
    psi = np.random.default_rng(1).normal(0, 0.4, cov.n_params)
    _, dS = cov.sigma_and_grad(psi)
    num = central_jacobian(lambda t: cov.sigma_and_grad(t)[0].ravel(), psi)
    assert relative_error(num.T.reshape(dS.shape), dS) < 5e-10           # seen 3.6e-11
    num2 = central_jacobian(lambda t: cov.sigma_and_grad(t)[1].ravel(), psi)
    exact = cov.sigma_second(psi)
    assert relative_error(num2.reshape(exact.shape[0], d, d, -1).transpose(0, 3, 1, 2),
                          exact) < 5e-10                                  # seen 3.6e-11


@pytest.mark.parametrize("name,d", CASES)
def test_score_is_the_gradient_of_the_normal_log_density(name, d):
    """sum_g log phi(u_g; Sigma(psi)) has psi-gradient cov.score(psi, sum u u', G)."""
    cov = get_covariance(name, d)
    rng = np.random.default_rng(2)
    psi, u = rng.normal(0, 0.3, cov.n_params), rng.normal(size=(7, d))

    def loglik(t):
        S = cov.sigma_and_grad(t)[0]
        return -0.5 * (7 * np.linalg.slogdet(S)[1]
                       + np.einsum("gi,ij,gj->", u, np.linalg.inv(S), u))
    num = central_jacobian(lambda t: np.array([loglik(t)]), psi)[0]
    assert relative_error(cov.score(psi, u.T @ u, 7), num) < 1e-9      # seen 2.2e-10


@pytest.mark.parametrize("name,d", CASES)
def test_from_sigma_inverts_sigma(name, d):
    cov = get_covariance(name, d)
    psi = np.abs(np.random.default_rng(3).normal(0, 0.3, cov.n_params))  # rho > 0: PD
    S = cov.sigma_and_grad(psi)[0]
    np.testing.assert_allclose(cov.from_sigma(S), psi, atol=5e-12)     # seen 4.6e-13
    assert len(cov.lower()) == cov.n_params == len(psi)


def test_exchangeable_start_keeps_its_correlation():
    S = np.full((3, 3), 0.1) + 0.4 * np.eye(3)
    cov = Exchangeable(3)
    np.testing.assert_allclose(cov.sigma_and_grad(cov.from_sigma(S))[0], S, atol=1e-15)  # 0


def test_unknown_structure_is_refused_by_name():
    with pytest.raises(ValueError, match="covariance"):
        get_covariance("banded", 2)
    assert list(COVARIANCES) == ["independent", "exchangeable", "identity", "unstructured"]


@pytest.mark.parametrize("name,d", [c for c in CASES if get_covariance(*c).direct_cholesky])
def test_cholesky_second_matches_finite_differences(name, d):
    """d2 chol(Sigma)/dpsi2 against central differences of dL/dpsi (nodes.cholesky_and_grad)."""
    from mcglmm.engines.quadrature.nodes import cholesky_and_grad
    cov = get_covariance(name, d)
    psi = np.random.default_rng(5).normal(0, 0.3, cov.n_params)
    num = central_jacobian(lambda t: cholesky_and_grad(*cov.sigma_and_grad(t))[1].ravel(), psi)
    exact = cov.cholesky_second(psi)
    assert relative_error(num.reshape(len(psi), d, d, -1).transpose(0, 3, 1, 2),
                          exact) < 1e-9                                   # seen 1.7e-10
    assert not Exchangeable(3).direct_cholesky
