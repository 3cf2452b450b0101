import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mcglmm as mc

REFERENCE = Path(__file__).parent / "reference"


@pytest.fixture(scope="session")
def glmm_reference():
    """R glmm's salamander fit on its own 1002 draws: (result dict, umat (1002, 120))."""
    ref = json.loads((REFERENCE / "result.json").read_text())
    umat = pd.read_csv(REFERENCE / "umat.csv.gz").to_numpy()
    return ref, umat


@pytest.fixture(scope="session")
def salamander():
    return mc.datasets.load("salamander")


@pytest.fixture(scope="session")
def salamander_model():
    """The vignette's model, as glmm() keyword arguments (data aside)."""
    return dict(fixed="Mate ~ 0 + Cross", random=["0 + Female", "0 + Male"],
                varcomps_names=["F", "M"], family_glmm=mc.bernoulli_glmm)


@pytest.fixture(scope="session")
def glmm_sampler(glmm_reference):
    """glmm's PQL output and draws as SamplerInputs."""
    ref, umat = glmm_reference
    return mc.SamplerInputs(beta=np.array(ref["beta_pql"]), nu=np.array(ref["nu_pql"]),
                            u=np.array(ref["u_star"]), umat=umat)
