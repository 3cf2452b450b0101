"""A fixed seed fixes every figure of the result."""
import numpy as np
import pytest

import mcglmm as mc


@pytest.fixture(scope="module")
def two_fits(salamander_model, salamander):
    return [mc.glmm(**salamander_model, data=salamander, m=2000, seed=99) for _ in range(2)]


def test_same_seed_gives_bitwise_identical_fits(two_fits):
    a, b = two_fits
    assert np.array_equal(a.umat, b.umat)
    assert np.array_equal(a.estimates().to_numpy(), b.estimates().to_numpy())
    assert np.array_equal(a.likelihood_hessian, b.likelihood_hessian)
    assert np.array_equal(a.mcse().to_numpy(), b.mcse().to_numpy())
    assert a.likelihood_value == b.likelihood_value


def test_different_seeds_give_different_draws(salamander_model, salamander):
    a = mc.glmm(**salamander_model, data=salamander, m=50, seed=1, iterlim=2)
    b = mc.glmm(**salamander_model, data=salamander, m=50, seed=2, iterlim=2)
    assert not np.array_equal(a.umat, b.umat)
