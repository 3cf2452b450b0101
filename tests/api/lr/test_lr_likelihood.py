"""The likelihood lr2/lr3 maximise (the quadrature engine's non-adaptive GHQ, in lr's theta):
derivatives by finite differences, values by brute force.

Oracles: central differences (tests/fd.py) of the value (gradient) and of the analytic
gradient (Hessian); ``scipy.integrate.quad`` for the one- and two-dimensional
integrals of the two- and three-level likelihoods.
"""
import numpy as np
import pytest
from scipy.integrate import quad, trapezoid
from scipy.stats import norm

import mcglmm as mc
from fd import central_gradient, central_jacobian
from mcglmm.api.lr import logit_start
from mcglmm.model.covariance import Identity

THETA3 = np.array([-0.2, 0.6, np.log(1.3), np.log(0.5)])
THETA2 = THETA3[:3]


def group_starts(sizes):
    """Row offsets (G,) of G consecutive groups of the given sizes."""
    return np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.intp)


class _Problem:
    """An lr frame with its number of points: ``evaluate(theta)`` in lr's theta."""

    def __init__(self, frame, quad_pts):
        self.frame, self.quad_pts = frame, quad_pts
        self.X, self.y, self.n12, self.n23 = frame.X, frame.y, frame.n12, frame.n23

    def evaluate(self, theta):
        return self.frame.evaluate(theta, self.quad_pts)


def _problem(data, levels, quad_pts):
    if levels == 2:
        return _Problem(mc.lr2("y ~ x", "mom", data, frame=True), quad_pts)
    return _Problem(mc.lr3("y ~ x", "mom", "comm", data, frame=True), quad_pts)


@pytest.mark.parametrize("levels, theta", [(2, THETA2), (3, THETA3)])
def test_gradient_matches_central_differences(small3, levels, theta):
    problem = _problem(small3, levels, 12)
    grad = problem.evaluate(theta).gradient
    fd = central_gradient(lambda t: problem.evaluate(t).value, theta, 1e-5)
    # 1e-7 of the largest component; seen 6e-11 (2 levels) and 7e-11 (3 levels)
    np.testing.assert_allclose(grad, fd, rtol=0, atol=1e-7 * np.abs(fd).max())


@pytest.mark.parametrize("levels, theta", [(2, THETA2), (3, THETA3)])
def test_hessian_matches_differences_of_gradient(small3, levels, theta):
    problem = _problem(small3, levels, 12)
    ev = problem.evaluate(theta)
    fd = central_jacobian(lambda t: problem.evaluate(t).gradient, theta, 1e-5)
    # seen 1.4e-11 (2 levels) and 2.1e-11 (3 levels) of the largest entry
    np.testing.assert_allclose(ev.hessian, fd, rtol=0, atol=1e-7 * np.abs(fd).max())
    np.testing.assert_allclose(ev.hessian, ev.hessian.T, rtol=0, atol=1e-12 * np.abs(fd).max())


def test_gradient_matches_at_large_sigma_and_extreme_predictor(medium3):
    """Posterior node weights near 0/1 (sigma2 = 5, |eta| up to about 20) stay accurate."""
    problem = _problem(medium3, 3, 20)
    theta = np.array([1.0, 3.0, np.log(5.0), np.log(2.0)])
    grad = problem.evaluate(theta).gradient
    fd = central_gradient(lambda t: problem.evaluate(t).value, theta, 1e-5)
    # seen 1.3e-10 of the largest component
    np.testing.assert_allclose(grad, fd, rtol=0, atol=1e-7 * np.abs(fd).max())


def _brute_force_two_level(problem, theta):
    """sum_j log integral phi(u) prod_{i in j} f(y_i | x_i'beta + sigma u) du by adaptive quad."""
    beta, sigma = theta[:-1], np.exp(theta[-1])
    eta, y = problem.X @ beta, problem.y
    total = 0.0
    for start, size in zip(group_starts(problem.n12), problem.n12):
        rows = slice(start, start + size)

        def integrand(u):
            e = eta[rows] + sigma * u
            return norm.pdf(u) * np.exp(np.sum(y[rows] * e - np.logaddexp(0, e)))

        total += np.log(quad(integrand, -12, 12, epsabs=0, epsrel=1e-12)[0])
    return total


def _brute_force_three_level(problem, theta):
    """sum_k log integral phi(v) prod_{j in k} [integral phi(u) prod_i f du] dv.

    The outer integral by adaptive ``quad``; the inner ones (for every mother at
    once) by the trapezoidal rule on a grid of step 0.025 over [-12, 12], which
    converges geometrically for these analytic integrands (the logistic factors
    have their poles a distance pi / sigma2 off the real axis): nested ``quad``
    gives the same figure to 1e-15 but takes minutes.
    """
    beta, sigma2, sigma3 = theta[:-2], np.exp(theta[-2]), np.exp(theta[-1])
    eta, y = problem.X @ beta, problem.y
    grid = np.linspace(-12, 12, 961)
    unit = np.repeat(np.arange(len(problem.n12)), problem.n12)
    total = 0.0
    for start, size in zip(group_starts(problem.n23), problem.n23):
        rows = (unit >= start) & (unit < start + size)
        first_rows = group_starts(problem.n12[start:start + size])

        def level2_product(v):
            e = eta[rows, None] + sigma3 * v + sigma2 * grid
            log_f = np.add.reduceat(y[rows, None] * e - np.logaddexp(0, e), first_rows, axis=0)
            return norm.pdf(v) * np.prod(trapezoid(norm.pdf(grid) * np.exp(log_f), grid, axis=1))

        total += np.log(quad(level2_product, -12, 12, epsabs=0, epsrel=1e-12)[0])
    return total


def test_two_level_value_matches_brute_force_integral(small3):
    """At sigma = 1.3, GHQ with 80 points reproduces the adaptive-quad likelihood; 12 are close.

    Relative errors seen: 2.4e-6 (12 points), 5.7e-11 (40), 1.6e-13 (60), 1e-15 (80).
    """
    exact = _brute_force_two_level(_problem(small3, 2, 12), THETA2)
    ghq80 = _problem(small3, 2, 80).evaluate(THETA2).value
    ghq12 = _problem(small3, 2, 12).evaluate(THETA2).value
    assert ghq80 == pytest.approx(exact, rel=1e-12, abs=0)  # seen 1e-15
    assert ghq12 == pytest.approx(exact, rel=1e-5, abs=0)   # seen 2.4e-6


def test_two_level_value_converges_slowly_for_large_sigma(small3):
    """At sigma = 2.5 non-adaptive GHQ needs many points (the notes' reason to try several).

    Relative errors seen: 1.8e-4 (20 points), 2.1e-6 (40), 4.6e-9 (80), 8.2e-11 (120).
    """
    theta = np.array([0.4, -1.0, np.log(2.5)])
    exact = _brute_force_two_level(_problem(small3, 2, 12), theta)
    errors = [abs(_problem(small3, 2, k).evaluate(theta).value / exact - 1)
              for k in (20, 40, 80, 120)]
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] < 1e-9


def test_three_level_value_converges_to_brute_force_integral(small3):
    exact = _brute_force_three_level(_problem(small3, 3, 30), THETA3)
    ghq30 = _problem(small3, 3, 30).evaluate(THETA3).value
    assert ghq30 == pytest.approx(exact, rel=1e-9, abs=0)  # seen 5e-12


def test_three_level_tends_to_two_level_as_sigma3_vanishes(small3):
    """With log(sigma3) = -40 the level-3 integral is the integrand at v = 0."""
    two = _problem(small3, 2, 12).evaluate(THETA2)
    three = _problem(small3, 3, 12).evaluate(np.append(THETA2, -40.0))
    assert three.value == pytest.approx(two.value, rel=1e-13)  # seen 2e-16
    np.testing.assert_allclose(three.gradient[:-1], two.gradient, rtol=1e-12, atol=1e-13)  # seen 3e-15


def test_one_mother_per_community_adds_the_variances(small3):
    """n23 = 1: the intercepts act as one, sigma^2 = sigma2^2 + sigma3^2 (to quadrature error)."""
    one_each = small3.assign(comm=small3["mom"])
    theta3 = np.array([-0.2, 0.6, np.log(0.9), np.log(0.6)])
    theta2 = np.append(theta3[:2], 0.5 * np.log(0.9 ** 2 + 0.6 ** 2))
    three = _problem(one_each, 3, 60).evaluate(theta3).value
    two = _problem(one_each, 2, 60).evaluate(theta2).value
    assert three == pytest.approx(two, rel=1e-12)  # seen 3e-16 (4.6e-11 with 30 points)


def test_evaluate_rejects_a_theta_of_the_wrong_length(small3):
    frame = mc.lr3("y ~ x", "mom", "comm", small3, frame=True)
    with pytest.raises(ValueError, match="theta must be a vector of length 4"):
        frame.evaluate(THETA2, 4)


def test_lr_theta_lists_the_levels_from_the_bottom(small3):
    """lr's (beta, log sigma2, log sigma3) is the engine's (beta, psi_comm, psi_mom) permuted."""
    frame = mc.lr3("y ~ x", "mom", "comm", small3, frame=True)
    assert [lev.name for lev in frame.model.levels] == ["comm", "comm>mom"]
    np.testing.assert_array_equal(frame.order, [0, 1, 3, 2])
    assert [type(cov) for cov in frame.model.covariances] == [Identity, Identity]


def test_logit_start_solves_the_logit_score_equations(small3):
    frame = mc.lr2("y ~ x", "mom", small3, frame=True)
    beta = logit_start(frame.model)
    mu = 1 / (1 + np.exp(-frame.X @ beta))
    np.testing.assert_allclose(frame.X.T @ (frame.y - mu), 0, atol=1e-10)
