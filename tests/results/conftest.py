"""Small fits of every front for the result-contract tests (each a second or less).

pig: Stata's meglm example 1; bacteria (MASS): a binary random-intercept logit fitted by
lr2 and by meglm's non-adaptive quadrature with the same 8 points (the same model and
integral); salamander: R glmm's example with a small Monte Carlo sample.
"""
import warnings

import pytest

import mcglmm as mc


def _quiet(fit, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mc.MCGLMMWarning)
        return fit(*args, **kwargs)


@pytest.fixture(scope="session")
def pig_fit():
    pig = mc.datasets.load("pig").rename(columns={"id.num": "id", "num.weeks": "week"})
    return mc.meglm("weight ~ week + (1 | id)", data=pig)


@pytest.fixture(scope="session")
def bacteria():
    return mc.datasets.load("bacteria")


@pytest.fixture(scope="session")
def lr2_fit(bacteria):
    return mc.lr2("y2 ~ week", "ID", bacteria, quad_pts=8)


@pytest.fixture(scope="session")
def ghermite_fit(bacteria):
    return mc.meglm("y2 ~ week + (1 | ID)", bacteria, family="bernoulli", intmethod="ghermite",
                    intpoints=8)


@pytest.fixture(scope="session")
def glmm_fit():
    """m = 200 draws: a MonteCarloWarning (ESS 3.8), recorded in fit.warnings."""
    return _quiet(mc.glmm, "Mate ~ 0 + Cross", ["0 + Female", "0 + Male"], ["F", "M"],
                  mc.datasets.load("salamander"), mc.bernoulli_glmm, m=200, seed=1)


@pytest.fixture(params=["glmm", "meglm", "lr2"])
def any_fit(request, glmm_fit, pig_fit, lr2_fit):
    return {"glmm": glmm_fit, "meglm": pig_fit, "lr2": lr2_fit}[request.param]


# ---- postestimation fits (pig, bangladesh, salamander: tests/conftest.py)
@pytest.fixture(scope="session")
def contraception_i(bangladesh):
    """Model (i): random intercept, 7-point mean-variance adaptive quadrature."""
    return mc.meglm("c_use ~ C(urban) + age + C(children) + (1 | district)", data=bangladesh,
                    family="bernoulli")


@pytest.fixture(scope="session")
def contraception_ii(bangladesh):
    """Model (ii): Stata's example 2, random intercept and urban slope (independent)."""
    return mc.meglm("c_use ~ C(urban) + age + C(children) + (1 + C(urban) | district)",
                    data=bangladesh, family="bernoulli")


@pytest.fixture(scope="session")
def salamander_laplace(salamander):
    return _quiet(mc.meglm, "y ~ wsm * wsf + (1 | male) + (1 | female)", data=salamander,
                  family="bernoulli")
