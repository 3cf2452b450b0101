"""Small simulated nested logit data sets for the lr2/lr3 tests (fixed seeds)."""
import numpy as np
import pandas as pd
import pytest
from scipy.special import expit


def simulate_nested(seed, n_level3, beta=(-0.3, 0.8), sigma2=1.2, sigma3=0.7):
    """DataFrame sorted by (comm, mom): y, x, mom, comm; 2-5 moms per comm, 1-4 kids per mom."""
    rng = np.random.default_rng(seed)
    moms_per_comm = rng.integers(2, 6, size=n_level3)
    comm_of_mom = np.repeat(np.arange(n_level3), moms_per_comm)
    kids_per_mom = rng.integers(1, 5, size=len(comm_of_mom))
    mom = np.repeat(np.arange(len(comm_of_mom)), kids_per_mom)
    comm = comm_of_mom[mom]
    x = rng.normal(size=len(mom))
    eta = (beta[0] + beta[1] * x + sigma2 * rng.normal(size=len(comm_of_mom))[mom]
           + sigma3 * rng.normal(size=n_level3)[comm])
    y = (rng.uniform(size=len(mom)) < expit(eta)).astype(float)
    return pd.DataFrame({"y": y, "x": x, "mom": mom + 100, "comm": comm + 10})


@pytest.fixture(scope="session")
def small3():
    """About 8 communities, 28 mothers, 70 children."""
    return simulate_nested(20261127, 8)


@pytest.fixture(scope="session")
def medium3():
    """40 communities (about 140 mothers, 350 children): enough data to fit both sigmas."""
    return simulate_nested(7, 40)
