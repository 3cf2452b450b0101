"""Stata's stored results of meglm (the manual's "Stored results"): every name of the list
exists on every kind of fit, and each one's value on pig and Contraception is Stata's.

Values by hand: pig (``weight ~ week + (1 | id)``) has equations weight and / (k_eq 2),
two coefficients (k_f), one random-effect variance (k_rs 1, k_rc 0; var(e.weight) counts in
neither) and rank 4 (no constraints); the Contraception logit with ``offset(age)`` in the
formula stores e(offset) "age" like offset="age".  More values (cmdline options, the
gradient under a constraint, rc 430, V_modelbased under robust, ordinal categories):
tests/api/meglm/test_options_stored.py.
"""
import numpy as np
import pytest

import mcglmm as mc

STORED = ("k_dv", "k_eq", "k_eq_model", "k_cat", "k_f", "k_r", "k_rs", "k_rc", "rank", "rc",
          "cat", "gradient", "V_modelbased", "sample", "cmdline", "title", "model", "offset",
          "technique", "properties", "converged")


@pytest.fixture(scope="module")
def pig_fit(pig):
    return mc.meglm("weight ~ week + (1 | id)", pig)


FITS = {
    "gaussian": lambda d: mc.meglm("weight ~ week + (1 | id)", d["pig"]),
    "bernoulli": lambda d: mc.meglm("c_use ~ urban + age + (1 | district)", d["bang"],
                                    family="bernoulli"),
    "ordinal": lambda d: mc.meglm("children ~ urban + (1 | district)", d["bang"],
                                  family="ordinal"),
    "crossed": lambda d: mc.meglm("y ~ wsm + (1 | _all:R.male) + (1 | _all:R.female)",
                                  d["sal"], family="bernoulli"),
    "constrained": lambda d: mc.meglm("weight ~ week + (1 | id)", d["pig"],
                                      constraints="week = 6.2"),
}


@pytest.mark.parametrize("kind", sorted(FITS))
def test_every_stored_name_exists_on_every_fit(kind, pig, bangladesh, salamander):
    fit = FITS[kind]({"pig": pig, "bang": bangladesh, "sal": salamander})
    missing = [n for n in STORED if not hasattr(fit, n)]
    assert not missing
    assert fit.converged is True and fit.rc == 0
    assert list(fit.gradient.index) == list(fit.b.index) == list(fit.V_modelbased.index)
    assert fit.sample.sum() == fit.N and fit.title == "Mixed-effects GLM"
    assert fit.k == fit.k_f + fit.k_r + (fit.k_cat - 1 if fit.k_cat else 0) + (
        1 if kind in ("gaussian", "constrained") else 0)


def test_pig_values(pig, pig_fit):
    r = pig_fit
    assert (r.k_dv, r.k_eq, r.k_eq_model, r.k_f, r.k_r, r.k_rs, r.k_rc) == (1, 2, 1, 2, 1, 1, 0)
    assert (r.k_cat, r.cat) == (None, None)
    assert r.rank == 4 and r.rc == 0 and r.converged is True
    assert np.abs(r.gradient.to_numpy()).max() < 1e-6                 # seen 1.1e-10
    np.testing.assert_array_equal(r.V_modelbased.to_numpy(), r.V.to_numpy())   # vce oim
    assert r.sample.dtype == bool and r.sample.shape == (len(pig),) and r.sample.all()
    assert r.cmdline == "meglm('weight ~ week + (1 | id)', data)"
    assert (r.title, r.model, r.offset) == ("Mixed-effects GLM", "linear", None)
    assert r.technique == "nr" and r.properties == "b V"


def test_contraception_values_with_an_offset_in_the_formula(bangladesh):
    r = mc.meglm("c_use ~ urban + offset(age) + (1 | district)", bangladesh,
                 family="bernoulli")
    same = mc.meglm("c_use ~ urban + (1 | district)", bangladesh, family="bernoulli",
                    offset="age")
    assert r.ll == pytest.approx(same.ll, rel=1e-12)                  # seen 0: the same fit
    assert r.offset == same.offset == "age"
    assert r.cmdline == "meglm('c_use ~ urban + offset(age) + (1 | district)', data, " \
                        "family='bernoulli')"
    assert (r.k_f, r.k_r, r.k_rs, r.k_rc, r.k_eq, r.rank) == (2, 1, 1, 0, 2, 3)
    assert (r.model, r.technique, r.properties) == ("logistic", "nr", "b V")
    assert r.sample.sum() == r.N == len(bangladesh)
