"""The trust-region maximiser: exact subproblem, -inf as rejection, convergence and limits."""
import numpy as np
import pytest

from mcglmm.engines.base import Evaluation
from mcglmm.optim.trust import maximize, solve_subproblem


def neg_rosenbrock(x):
    a, b = x
    value = -((1 - a) ** 2 + 100 * (b - a * a) ** 2)
    grad = -np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])
    hess = -np.array([[2 - 400 * (b - a * a) + 800 * a * a, -400 * a], [-400 * a, 200.0]])
    return Evaluation(value, grad, hess)


def log_minus_identity(x):
    """sum(log x - x): maximised at x = 1, -inf outside x > 0."""
    if np.any(x <= 0):
        return Evaluation(-np.inf)
    return Evaluation(np.sum(np.log(x) - x), 1 / x - 1, np.diag(-1 / x ** 2))


def test_concave_quadratic_is_solved_by_one_newton_step():
    A = np.array([[-3.0, 1.0], [1.0, -2.0]])
    c = np.array([1.0, -1.0])
    res = maximize(lambda x: Evaluation(c @ x + 0.5 * x @ A @ x, c + A @ x, A), np.zeros(2))
    np.testing.assert_allclose(res.argument, np.linalg.solve(-A, c), rtol=1e-12)
    assert res.converged and res.path[0].kind == "newton"


def test_rosenbrock_converges_to_its_maximum():
    res = maximize(neg_rosenbrock, np.array([-1.2, 1.0]), rinit=1.0, rmax=100.0)
    assert res.converged
    np.testing.assert_allclose(res.argument, [1.0, 1.0], atol=1e-8)


def test_steps_into_infeasible_region_are_rejected_and_radius_shrinks():
    res = maximize(log_minus_identity, np.array([0.05, 3.0]), rinit=10.0)
    assert res.converged
    np.testing.assert_allclose(res.argument, [1.0, 1.0], atol=1e-8)
    rejected = [s for s in res.path if not np.isfinite(s.trial_value)]
    assert rejected and not any(s.accepted for s in rejected)
    after = res.path[res.path.index(rejected[0]) + 1]
    assert after.radius == rejected[0].radius / 4


def test_iteration_limit_reports_non_convergence():
    res = maximize(neg_rosenbrock, np.array([-1.2, 1.0]), rinit=1.0, iterlim=2)
    assert not res.converged and res.iterations == 2
    assert res.argpath.shape == (3, 2)


def test_subproblem_solution_lies_on_the_boundary_when_newton_step_is_too_long():
    g, H = np.array([10.0, 0.0]), np.diag([-1.0, -1.0])
    s, kind = solve_subproblem(g, H, 2.0)
    assert kind == "boundary"
    np.testing.assert_allclose(s, [2.0, 0.0], rtol=1e-10)


def test_subproblem_handles_an_indefinite_hessian():
    g, H = np.array([1.0, 0.0]), np.diag([-1.0, 2.0])
    s, _ = solve_subproblem(g, H, 1.0)
    assert np.linalg.norm(s) == pytest.approx(1.0)
    model = g @ s + 0.5 * s @ H @ s
    angles = np.linspace(0, 2 * np.pi, 721)
    circle = np.column_stack([np.cos(angles), np.sin(angles)])
    best = max(g @ t + 0.5 * t @ H @ t for t in circle)
    assert model >= best - 1e-6


@pytest.mark.parametrize("kwargs, match", [(dict(rinit=0.0), "rinit must be a positive number"),
                                           (dict(rinit=5.0, rmax=1.0), "rmax must be a number >= rinit"),
                                           (dict(iterlim=0), "iterlim must be a positive integer")])
def test_bad_options_are_rejected_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        maximize(neg_rosenbrock, np.zeros(2), **kwargs)


def test_infeasible_start_is_rejected():
    with pytest.raises(ValueError, match="starting point must be a point where the objective is finite"):
        maximize(log_minus_identity, np.array([-1.0, 1.0]))


def test_subproblem_with_a_badly_scaled_concave_hessian_takes_the_newton_step():
    """A variance near 0 makes the Hessian's eigenvalues span 15 orders of magnitude."""
    s, kind = solve_subproblem(np.array([1.0, 1.0]), np.diag([-1.0, -1e15]), 10.0)
    assert kind == "newton"
    np.testing.assert_allclose(s, [1.0, 1e-15], rtol=1e-12)


def test_tiny_predicted_increase_lost_to_rounding_converges():
    """Near the maximum the predicted increase (1e-14, below mterm) is smaller than the
    value's rounding (here 1e-13 away from the start): the step is accepted and trust
    stops, instead of shrinking the radius until it collapses."""
    x0 = np.array([1.0 + 1e-7])

    def rounded(x):
        value = -float((x[0] - 1.0) ** 2) - (0.0 if np.array_equal(x, x0) else 1e-13)
        return Evaluation(value, -2.0 * (x - 1.0), np.array([[-2.0]]))
    res = maximize(rounded, x0)
    assert res.converged and res.iterations == 1
    np.testing.assert_allclose(res.argument, [1.0], atol=1e-12)
