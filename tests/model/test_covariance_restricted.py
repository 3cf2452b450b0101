"""Restricted covariances (fixed(), pattern(), constrained variance components): Sigma's
derivatives, the score, start values, restrictions and the refusals naming covariance."""
from types import SimpleNamespace

import numpy as np
import pytest

from mcglmm.model.covariance import (Fixed, Independent, Pattern, Unstructured, per_level,
                                     restricted)
from mcglmm.model.covariance.levels import matrix_argument
from fd import central_jacobian, relative_error

NAN = np.nan
STRUCTURES = {
    "fixed": Fixed.from_matrix(np.array([[NAN, NAN, NAN], [0.3, 2.0, NAN], [NAN, NAN, NAN]])),
    "pattern": Pattern.from_matrix(np.array([[1.0, NAN, NAN], [5.0, 1.0, NAN],
                                             [5.0, NAN, 2.0]])),
    "unstructured": restricted(Unstructured(3)),
}


def _level(d, name="g"):
    return SimpleNamespace(d=d, name=name, factors=(name,),
                           z_names=tuple(["_cons", "x", "z"][:d]))


@pytest.mark.parametrize("kind", STRUCTURES)
def test_sigma_derivatives_match_finite_differences(kind):
    cov = STRUCTURES[kind]
    psi = np.random.default_rng(1).normal(0, 0.3, cov.n_params)
    _, dS = cov.sigma_and_grad(psi)
    num = central_jacobian(lambda t: cov.sigma_and_grad(t)[0].ravel(), psi)
    assert relative_error(num.T.reshape(dS.shape), dS) < 2e-10           # seen 4.1e-11
    num2 = central_jacobian(lambda t: cov.sigma_and_grad(t)[1].ravel(), psi)
    exact = cov.sigma_second(psi)
    assert relative_error(num2.reshape(exact.shape[0], 3, 3, -1).transpose(0, 3, 1, 2),
                          exact) < 2e-10                                  # seen 4.1e-11


@pytest.mark.parametrize("kind", STRUCTURES)
def test_score_is_the_gradient_of_the_normal_log_density(kind):
    cov = STRUCTURES[kind]
    rng = np.random.default_rng(2)
    psi = cov.from_sigma(np.eye(3) * 1.5)
    u = rng.normal(size=(9, 3))

    def loglik(t):
        S = cov.sigma_and_grad(t)[0]
        return -0.5 * (9 * np.linalg.slogdet(S)[1]
                       + np.einsum("gi,ij,gj->", u, np.linalg.inv(S), u))
    num = central_jacobian(lambda t: np.array([loglik(t)]), psi)[0]
    assert relative_error(cov.score(psi, u.T @ u, 9), num) < 2e-9      # seen 6.8e-10


def test_fixed_entries_are_exact_and_tied_entries_equal():
    S = STRUCTURES["fixed"].sigma_and_grad(np.array([0.1, -0.2, 0.3, 0.05]))[0]
    assert S[1, 1] == 2.0 and S[1, 0] == S[0, 1] == 0.3
    P = STRUCTURES["pattern"].sigma_and_grad(np.array([0.2, 0.1, 0.7, -0.3]))[0]
    assert P[0, 0] == P[1, 1] and P[1, 0] == P[2, 0] == P[0, 2]
    assert STRUCTURES["pattern"].n_params == 4 and STRUCTURES["fixed"].n_params == 4


def test_from_sigma_gives_a_positive_definite_start_and_inverts_sigma():
    cov = STRUCTURES["pattern"]
    psi = cov.from_sigma(np.eye(3))
    assert cov.positive_definite(psi)
    S = cov.sigma_and_grad(np.array([0.1, 0.2, 0.3, 0.4]))[0]
    np.testing.assert_allclose(cov.from_sigma(S), [0.1, 0.2, 0.3, 0.4], atol=1e-15)  # seen 5.6e-17
    strong = Fixed.from_matrix(np.array([[NAN, NAN], [3.0, NAN]]))     # cov 3, variances free
    assert strong.positive_definite(strong.from_sigma(np.eye(2)))


def test_restrict_fixes_ties_and_refuses_contradictions():
    cov = restricted(Independent(2)).restrict((1, 1), value=0.5)
    assert cov.n_params == 1 and cov.sigma_and_grad(np.zeros(1))[0][1, 1] == 0.5
    tied = restricted(Unstructured(2)).restrict((1, 1), other=(0, 0))
    assert tied.n_params == 2
    both = tied.restrict((0, 0), value=2.0)
    assert both.n_params == 1 and np.all(np.diag(both.sigma_and_grad(np.zeros(1))[0]) == 2.0)
    with pytest.raises(ValueError, match="constraints must be ties between variances or"):
        restricted(Unstructured(2)).restrict((1, 0), other=(0, 0))
    with pytest.raises(ValueError, match="constraints must be a positive value"):
        restricted(Independent(1)).restrict((0, 0), value=0.0)
    with pytest.raises(ValueError, match="constraints must be consistent"):
        cov.restrict((1, 1), value=0.7)


@pytest.mark.parametrize("M,match", [
    (np.ones((3, 3)), "a 2 x 2 matrix for level 'g'"),
    ([[1.0, 2.0], [3.0, 1.0]], "symmetric or with a missing"),
    ([["a", "b"], ["c", "d"]], "of numbers"),
    ([[1.0, np.inf], [np.inf, 1.0]], "finite numbers"),
])
def test_bad_matrices_are_refused_naming_covariance(M, match):
    with pytest.raises(ValueError, match=f"^covariance must be .*{match}"):
        matrix_argument(M, _level(2))


@pytest.mark.parametrize("kind,M,match", [
    ("fixed", [[1.0, 2.0], [2.0, 1.0]], "positive definite"),
    ("fixed", [[-1.0, NAN], [NAN, NAN]], "fixed variances are positive"),
    ("pattern", [[1.0, NAN], [1.0, 2.0]], "tie variances to variances"),
    ("banded", np.eye(2), "one of independent"),
])
def test_bad_fixed_values_and_patterns_are_refused_naming_covariance(kind, M, match):
    with pytest.raises(ValueError, match=f"^covariance must be .*{match}"):
        per_level((kind, np.array(M, dtype=float)), [_level(2)])


def test_lower_triangle_and_labelled_frames_are_read_as_stata_does():
    import pandas as pd
    low = matrix_argument([[1.0, NAN], [0.2, 3.0]], _level(2))
    np.testing.assert_array_equal(low, [[1.0, 0.2], [0.2, 3.0]])
    frame = pd.DataFrame([[3.0, 0.2], [0.2, 1.0]], index=["x", "_cons"], columns=["x", "_cons"])
    np.testing.assert_array_equal(matrix_argument(frame, _level(2)), low)
    covs = per_level({"g": ("pattern", np.eye(2))}, [_level(2)])
    assert isinstance(covs[0], Pattern)
