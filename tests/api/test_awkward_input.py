"""Valid but awkward inputs are accepted and read as meant: numpy scalars for options,
pandas nullable columns (missing values dropped as NaN), Q("a b") columns with missing
values, functions from the caller's namespace, collinear columns omitted with Stata's note.
"""
import warnings

import numpy as np
import pandas as pd
import pytest

import mcglmm as mc
from mcglmm.exceptions import DesignWarning
from fronts import BASE, DATA, FRONTS, call, with_columns

QUIET = pytest.mark.filterwarnings("ignore::mcglmm.MCGLMMWarning")


def estimates(front, fit):
    """The fixed effects of a fit as a Series."""
    if front == "glmm":
        return fit.beta
    if front == "meglm":
        fixed = [r.kind == "b" for r in fit.rows]
        b = fit.b[fixed]
        return pd.Series(b.to_numpy(), index=[name.split(":")[-1] for name in b.index])
    return pd.Series(fit.theta[:len(fit.x_names)], index=fit.x_names)


def fixed_key(front):
    return "fixed" if front == "glmm" else "formula"


def formula(front, rhs, lhs="y"):
    return f"{lhs} ~ {rhs}" + (" + (1 | g)" if front == "meglm" else "")


@QUIET
@pytest.mark.parametrize("front, changes", [
    ("glmm", dict(m=np.int64(60), n_jobs=np.int64(2), seed=np.uint32(1), iterlim=np.int16(3),
                  p1=np.float32(0.5), p2=np.float64(0.25), p3=np.float64(0.25),
                  zeta=np.int64(5), do_pql=np.bool_(True), rmax=np.float64(1000),
                  memory_budget=np.int64(2 ** 30), debug=np.bool_(False))),
    ("meglm", dict(intpoints=np.int64(5), level=np.float64(90), iterate=np.int32(3),
                   tolerance=np.float32(1e-6), noconstant=np.bool_(False), log=np.bool_(False))),
    ("lr2", dict(quad_pts=np.int64(5), sort=np.bool_(False), trace=np.bool_(False))),
    ("lr3", dict(quad_pts=np.array(5), frame=np.bool_(False))),
])
def test_numpy_scalars_are_accepted_for_options(front, changes):
    assert np.all(np.isfinite(estimates(front, call(front, changes))))


def _same_fit(front, left, right):
    a, b = estimates(front, left), estimates(front, right)
    assert list(a.index) == list(b.index)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-10)   # seen: identical


NULLABLE = {
    "Float64": lambda v: pd.array(v, dtype="Float64"),
    "Int64": lambda v: pd.array(np.round(np.asarray(v) * 10), dtype="Int64"),
}


@QUIET
@pytest.mark.parametrize("front", ["glmm", "meglm", "lr2", "lr3"])
@pytest.mark.parametrize("kind", sorted(NULLABLE))
def test_nullable_numeric_column_drops_its_missing_rows_as_nan(front, kind):
    values = DATA["x"].to_numpy().copy()
    values[[2, 7]] = np.nan
    nullable = NULLABLE[kind](list(np.nan_to_num(values)))
    nullable[[2, 7]] = pd.NA
    plain = np.asarray(NULLABLE[kind](list(np.nan_to_num(values))), dtype=float)
    plain[[2, 7]] = np.nan
    left = call(front, data=with_columns(xn=nullable), changes={fixed_key(front):
                                                                 formula(front, "xn")})
    right = call(front, data=with_columns(xn=plain), changes={fixed_key(front):
                                                               formula(front, "xn")})
    _same_fit(front, left, right)


@QUIET
@pytest.mark.parametrize("front", ["meglm", "lr2"])
def test_nullable_boolean_and_string_columns(front):
    flag = pd.array(list(DATA["x"] > 0.3), dtype="boolean")
    flag[4] = pd.NA
    word = pd.array(list(DATA["word"]), dtype="string")
    word[9] = pd.NA
    fit = call(front, data=with_columns(b=flag, w=word),
               changes={fixed_key(front): formula(front, "x + b + w")})
    est = estimates(front, fit)
    assert len(est) == 4 and np.all(np.isfinite(est))


@QUIET
@pytest.mark.parametrize("front", ["glmm", "meglm", "lr2", "lr3"])
def test_quoted_column_with_a_missing_value_is_dropped(front):
    values = DATA["x"].to_numpy().copy()
    values[0] = np.nan
    data = with_columns(**{"my x": values, "x": values})
    quoted = call(front, data=data, changes={fixed_key(front): formula(front, 'Q("my x")')})
    plain = call(front, data=data, changes={fixed_key(front): formula(front, "x")})
    np.testing.assert_allclose(estimates(front, quoted).to_numpy(),
                               estimates(front, plain).to_numpy(), rtol=1e-10)  # identical


@QUIET
def test_formula_functions_resolve_in_the_callers_namespace_with_np():
    data = with_columns(income=np.exp(DATA["x"]))
    space = {"mc": mc, "data": data}                   # no numpy imported here
    exec("fit = mc.lr2('y ~ np.log(income)', 'g', data, quad_pts=5)", space)
    exec("from numpy import log\nfit2 = mc.lr2('y ~ log(income)', 'g', data, quad_pts=5)",
         space)
    direct = mc.lr2("y ~ x", "g", DATA, quad_pts=5)
    for name in ("fit", "fit2"):
        np.testing.assert_allclose(space[name].theta, direct.theta, rtol=1e-10)  # identical


@QUIET
@pytest.mark.parametrize("front", ["glmm", "meglm", "lr2"])
def test_a_local_function_of_the_caller_is_found(front):
    def doubled(v):
        return 2 * v
    kwargs = {**BASE[front], fixed_key(front): formula(front, "doubled(x)")}
    fit = FRONTS[front](**kwargs)
    assert np.all(np.isfinite(estimates(front, fit)))


@pytest.mark.parametrize("front", ["glmm", "meglm", "lr2", "lr3"])
@pytest.mark.parametrize("column, values", [("x2", 2 * DATA["x"]), ("c", 3.0),
                                            ("zero", 0.0), ("xz", DATA["x"] - DATA["z"])])
def test_collinear_columns_are_omitted_with_statas_note(front, column, values):
    rhs = "x + z + xz" if column == "xz" else f"x + {column}"
    data = with_columns(**{column: values, "xz": DATA["x"] - DATA["z"]})
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        fit = call(front, data=data, changes={fixed_key(front): formula(front, rhs)})
    notes = [str(w.message) for w in seen if issubclass(w.category, DesignWarning)]
    assert notes == [f"note: {column} omitted because of collinearity"]
    est = estimates(front, fit)
    assert column not in est.index and np.all(np.isfinite(est))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reduced = call(front, data=data, changes={fixed_key(front): formula(
            front, "x + z" if column == "xz" else "x")})
    _same_fit(front, fit, reduced)


@pytest.mark.parametrize("front", ["glmm", "meglm"])
def test_the_omitted_columns_are_reported_on_the_fit(front):
    data = with_columns(x2=2 * DATA["x"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = call(front, data=data, changes={fixed_key(front): formula(front, "x + x2")})
    assert fit.omitted == ("x2",)


@QUIET
def test_meglm_collinear_true_keeps_the_columns_as_statas_option():
    data = with_columns(x2=2 * DATA["x"])
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        fit = call("meglm", dict(formula="y ~ x + x2 + (1 | g)", collinear=True), data=data)
    assert "y:x2" in fit.b.index and fit.omitted == ()
    assert not [w for w in seen if w.category is DesignWarning]


@QUIET
@pytest.mark.parametrize("front", ["glmm", "meglm"])
def test_asis_keeps_a_separating_covariate_as_statas_option(front):
    fit = call(front, {fixed_key(front): formula(front, "x + sep"), "asis": True})
    assert "sep" in estimates(front, fit).index


@pytest.mark.parametrize("front", ["glmm", "meglm"])
def test_a_perfectly_predicting_indicator_is_omitted_with_its_rows_as_stata(front):
    rows = DATA["sep"] == 1
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        fit = call(front, {fixed_key(front): formula(front, "x + sep")})
    notes = [str(w.message) for w in seen if w.category is DesignWarning]
    assert notes == [f"note: sep == 1 predicts failure perfectly; sep omitted and "
                     f"{int(rows.sum())} obs not used"]
    assert fit.omitted == ("sep",) and fit.n_dropped == int(rows.sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reduced = call(front, {fixed_key(front): formula(front, "x")},
                       data=DATA.loc[~rows].reset_index(drop=True))
    _same_fit(front, fit, reduced)
