"""Stata's test, lincom and nlcom on the pig example (meglm weight week || id:), by hand.

Each statistic is recomputed here from b and V with the textbook formula; the printed
layouts are Stata's (``test``: ' ( 1)  [weight]week = 0', 'chi2(  1) =', 'Prob > chi2 =';
``lincom``/``nlcom``: the estimation table with one row).
"""
import numpy as np
import pytest
from scipy import stats

import mcglmm as mc


@pytest.fixture(scope="module")
def bv(pig_fit):
    return pig_fit.b.to_numpy(), pig_fit.V.to_numpy()


def test_test_one_coefficient_is_the_squared_z(pig_fit, bv):
    b, V = bv
    res = pig_fit.test("week")
    assert res.chi2 == pytest.approx(b[0] ** 2 / V[0, 0], rel=1e-12)
    assert res.chi2 == pytest.approx(pig_fit.chi2, rel=1e-10)     # the model Wald test
    assert res.df == 1 and res.p == stats.chi2.sf(res.chi2, 1)
    lines = str(res).splitlines()
    assert lines[1] == " ( 1)  [weight]week = 0"
    assert lines[3] == "           chi2(  1) =25337.48"
    assert lines[4] == "         Prob > chi2 =    0.0000"


def test_test_joint_constraints_by_hand(pig_fit, bv):
    b, V = bv
    res = mc.test(pig_fit, "[weight]week = 6", "_b[_cons] = 19")
    d = b[:2] - [6, 19]
    chi2 = d @ np.linalg.solve(V[:2, :2], d)
    assert res.chi2 == pytest.approx(chi2, rel=1e-10)
    assert res.df == 2
    assert res.lines == ("[weight]week = 6", "[weight]_cons = 19")
    assert f"chi2(  2) ={chi2:8.2f}" in str(res)


def test_test_drops_a_redundant_constraint(pig_fit):
    res = pig_fit.test("week _cons", "2*week = 0")
    assert res.dropped == (3,) and res.df == 2
    assert "       Constraint 3 dropped" in str(res).splitlines()
    assert res.chi2 == pytest.approx(pig_fit.test("week", "_cons").chi2, rel=1e-12)


def test_test_a_variance_in_stata_notation(pig_fit, bv):
    b, V = bv
    res = pig_fit.test("var(_cons[id]) = 10")
    assert res.chi2 == pytest.approx((b[2] - 10) ** 2 / V[2, 2], rel=1e-12)
    assert res.lines == ("[/]var(_cons[id]) = 10",)


def test_lincom_by_hand(pig_fit, bv):
    b, V = bv
    res = pig_fit.lincom("week + _cons")
    c = np.array([1.0, 1.0, 0, 0])
    se = np.sqrt(c @ V @ c)
    assert res.estimate == pytest.approx(b[0] + b[1], rel=1e-14)
    assert res.se == pytest.approx(se, rel=1e-12)
    assert res.z == pytest.approx((b[0] + b[1]) / se, rel=1e-12)
    assert res.lb == pytest.approx(b[0] + b[1] - stats.norm.ppf(0.975) * se, rel=1e-12)
    lines = str(res).splitlines()
    assert lines[1] == " ( 1)  [weight]week + [weight]_cons = 0"
    assert lines[4] == ("      weight | Coefficient  Std. err.      z    P>|z|     "
                        "[95% conf. interval]")
    assert lines[6].startswith("         (1) |   25.56551")
    assert lines[-1] == "-" * 78


def test_lincom_constant_level_and_eform(pig_fit, bv):
    b, V = bv
    res = pig_fit.lincom("2*week - 12", level=90)
    assert res.estimate == pytest.approx(2 * b[0] - 12, rel=1e-12)
    assert res.se == pytest.approx(2 * np.sqrt(V[0, 0]), rel=1e-12)
    assert res.ub - res.estimate == pytest.approx(stats.norm.ppf(0.95) * res.se, rel=1e-12)
    assert " ( 1)  2*[weight]week = 12" in str(res) and "[90% conf. interval]" in str(res)
    shown = pig_fit.lincom("week", eform=True)
    assert "exp(b)" in str(shown) and f"{np.exp(b[0]):.4f}"[:6] in str(shown)


def test_nlcom_ratio_by_the_delta_method(pig_fit, bv):
    b, V = bv
    res = pig_fit.nlcom(lambda p: p["weight:week"] / p["weight:_cons"], name="ratio")
    G = np.array([1 / b[1], -b[0] / b[1] ** 2, 0, 0])
    assert res.estimate == pytest.approx(b[0] / b[1], rel=1e-14)
    assert res.se == pytest.approx(np.sqrt(G @ V @ G), rel=1e-8)    # seen 3e-11 (differences)
    assert list(res.b.index) == ["ratio"]
    assert "       ratio: <lambda>" in str(res)
    assert str(res).splitlines()[-2].startswith("       ratio |   .3208318")


def test_nlcom_vector_valued_series(pig_fit, bv):
    b, V = bv

    def sd_ratio(p):
        return p[["id:var(_cons)", "var(e.weight)"]] ** 0.5

    res = mc.nlcom(pig_fit, sd_ratio)
    assert list(res.b.index) == ["id:var(_cons)", "var(e.weight)"]
    G = np.diag([0, 0, 0.5 / np.sqrt(b[2]), 0.5 / np.sqrt(b[3])])[2:]
    np.testing.assert_allclose(res.V.to_numpy(), G @ V @ G.T, rtol=1e-9)   # seen 1.4e-11


def test_works_on_lr2_through_the_contract():
    fit = mc.lr2("y2 ~ week", "ID", mc.datasets.load("bacteria"), quad_pts=8)
    z = fit.params["week"] / fit.bse["week"]
    assert fit.test("week").chi2 == pytest.approx(z ** 2, rel=1e-12)
    assert fit.lincom("week").se == pytest.approx(fit.bse["week"], rel=1e-12)


def test_bad_expressions_name_the_argument(pig_fit):
    with pytest.raises(ValueError, match="expression"):
        pig_fit.test("nosuch = 0")
    with pytest.raises(ValueError, match="expression"):
        pig_fit.lincom("week = 1")
    with pytest.raises(TypeError, match="func"):
        pig_fit.nlcom("week")
