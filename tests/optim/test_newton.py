"""Stata-style Newton: explicit criterion (value and gradient, optional exact Hessian),
bounds, the iteration log, limits, and linear constraints."""
import numpy as np
import pytest

from fd import central_jacobian
from mcglmm.optim.constraints import maximize as constrained_maximize, parse_constraints
from mcglmm.optim.newton import Criterion, fd_hessian, newton_maximize
from mcglmm.optim.result import CONVERGED, ITERATION_LIMIT, OptimizeResult

A = np.array([[-3.0, 1.0], [1.0, -2.0]])
C = np.array([1.0, -1.0])


def quadratic(x):
    return float(C @ x + 0.5 * x @ A @ x), C + A @ x


def neg_rosenbrock(x):
    a, b = x
    value = -((1 - a) ** 2 + 100 * (b - a * a) ** 2)
    return value, -np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])


def test_exact_hessian_solves_a_concave_quadratic_in_one_step():
    """One step reaches the maximum; convergence also needs the log likelihood to stop
    changing (Stata's tolerance), which the (null) second step shows."""
    fit = newton_maximize(lambda t, final: Criterion(quadratic, lambda x: A), np.zeros(2))
    assert isinstance(fit, OptimizeResult)
    assert fit.converged and fit.status == CONVERGED and fit.nit == 2
    np.testing.assert_allclose(fit.path[1].x, np.linalg.solve(-A, C), rtol=1e-14)
    np.testing.assert_allclose(fit.x, np.linalg.solve(-A, C), rtol=1e-14)
    np.testing.assert_allclose(fit.hess, A, rtol=0)


def test_differenced_hessian_reaches_the_rosenbrock_maximum():
    fit = newton_maximize(lambda t, final: Criterion(neg_rosenbrock), [-1.2, 1.0],
                          iterate=200)
    assert fit.converged
    np.testing.assert_allclose(fit.x, [1.0, 1.0], atol=1e-7)   # seen 1.8e-8
    # the returned Hessian: central differences of the gradient
    np.testing.assert_allclose(fit.hess, [[-802.0, 400.0], [400.0, -200.0]],
                               rtol=1e-7)   # seen 1.8e-8


def test_fd_hessian_matches_the_shared_difference_helper():
    x = np.array([0.3, -0.4])
    np.testing.assert_allclose(fd_hessian(neg_rosenbrock, x, central=True),
                               central_jacobian(lambda t: neg_rosenbrock(t)[1], x, 1e-5),
                               rtol=0, atol=1e-9)   # seen 1.8e-10


def test_log_lines_and_path():
    printed = []
    fit = newton_maximize(lambda t, final: Criterion(quadratic), [3.0, 3.0], log=True,
                          printer=printed.append)
    assert printed == list(fit.log)
    assert printed[0] == f"Iteration 0: Log likelihood = {quadratic(np.array([3.0, 3.0]))[0]:.8g}"
    assert [it.number for it in fit.path] == list(range(len(fit.path)))
    np.testing.assert_array_equal(fit.path[0].x, [3.0, 3.0])


def test_a_coordinate_at_its_lower_bound_is_held_there():
    """max -(x - 1)^2 - (y + 2)^2 with y >= 0: the maximum is (1, 0)."""
    def f(x):
        return -(x[0] - 1) ** 2 - (x[1] + 2) ** 2, np.array([-2 * (x[0] - 1), -2 * (x[1] + 2)])
    fit = newton_maximize(lambda t, final: Criterion(f, lambda x: -2 * np.eye(2)), [0.0, 3.0],
                          lower=np.array([-np.inf, 0.0]))
    assert fit.converged
    np.testing.assert_allclose(fit.x, [1.0, 0.0], atol=1e-12)


def test_the_iteration_limit_is_reported():
    fit = newton_maximize(lambda t, final: Criterion(neg_rosenbrock), [-1.2, 1.0], iterate=2)
    assert not fit.converged and fit.status == ITERATION_LIMIT and fit.nit == 2
    assert fit.message == "the iteration limit (2) was reached"


def test_refresh_is_called_at_each_accepted_point_and_finally():
    calls = []

    def refresh(theta, final):
        calls.append((np.array(theta), final))
        return Criterion(quadratic, lambda x: A)
    fit = newton_maximize(refresh, np.zeros(2))
    assert [final for _, final in calls] == [False] * (fit.nit + 1) + [True]
    np.testing.assert_array_equal(calls[-1][0], fit.x)


def test_linear_constraints_hold_at_the_maximum():
    """max -(b1 - 1)^2 - (b2 - 2)^2 - (s - 3)^2 subject to b1 = b2: (1.5, 1.5, 3)."""
    cns = parse_constraints("b1 = b2", ["b1", "b2"], [], "y", 3)
    target = np.array([1.0, 2.0, 3.0])

    def f(x):
        return -float((x - target) @ (x - target)), -2 * (x - target)
    fit = constrained_maximize(lambda t, final: Criterion(f, lambda x: -2 * np.eye(3)),
                               np.zeros(3), None, cns)
    assert fit.converged
    np.testing.assert_allclose(fit.x, [1.5, 1.5, 3.0], atol=1e-12)
    assert fit.hess.shape == (2, 2)   # in the free coordinates gamma
