"""The shared finite-difference helper is exact to its truncation error on known functions."""
import numpy as np

from fd import central_gradient, central_jacobian, relative_error


def test_gradient_and_hessian_of_a_known_function():
    f = lambda t: np.sin(t[0]) * np.exp(t[1]) + t[0] ** 3
    grad = lambda t: np.array([np.cos(t[0]) * np.exp(t[1]) + 3 * t[0] ** 2,
                               np.sin(t[0]) * np.exp(t[1])])
    x = np.array([0.3, -1.2])
    assert relative_error(central_gradient(f, x), grad(x)) < 1e-9          # seen 3e-11
    hess = np.array([[-np.sin(x[0]) * np.exp(x[1]) + 6 * x[0], np.cos(x[0]) * np.exp(x[1])],
                     [np.cos(x[0]) * np.exp(x[1]), np.sin(x[0]) * np.exp(x[1])]])
    assert relative_error(central_jacobian(grad, x), hess) < 1e-9
