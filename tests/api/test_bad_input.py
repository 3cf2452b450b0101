"""Every bad input to glmm, meglm, lr2 and lr3 is refused by mcglmm's own code, before any
work: the exception's type, a message naming the argument (or column), and -- measured
with tracemalloc -- no allocation near 100 MB on the way (the work-bound cases included).

One case per behaviour; the kinds follow issue 12: work bounds, no MLE (constant
response, separation), silent misreadings, raw library errors, wrong types and ranges.
"""
import tracemalloc

import numpy as np
import pandas as pd
import pytest

from mcglmm.exceptions import (ArgumentTypeError, DesignError, FormulaError, MCGLMMError,
                               WorkTooLargeError)
from fronts import DATA, call

PEAK_LIMIT = 100 * 2 ** 20        # bytes: no refusal may allocate this much first
VE, TE = ValueError, TypeError
KEY = {"glmm": "fixed", "meglm": "formula", "lr2": "formula", "lr3": "formula"}
BAR = {"glmm": "", "meglm": " + (1 | g)", "lr2": "", "lr3": ""}


def _fixed(front, text):
    """Changes setting the fixed formula ``text`` (meglm: with its random term)."""
    return {KEY[front]: text + (BAR[front] if "~" in text else "")}


def common_cases(front):
    """Bad data and formulas, the same for every front."""
    renamed = DATA.rename(columns={"z": "x"})
    stata_drops = front in ("glmm", "meglm")       # they omit sep and its rows instead
    return [
        ("data a list", dict(data=DATA.to_dict("records")), TE, "data"),
        ("data a dict", dict(data=DATA.to_dict("list")), TE, "data"),
        ("data an array", dict(data=DATA[["y", "x"]].to_numpy()), TE, "data"),
        ("duplicate column", dict(data=renamed), VE, "'x' 2 times"),
        ("unknown name", _fixed(front, "y ~ x + zz"), FormulaError, "term 'zz'"),
        ("unknown function", _fixed(front, "y ~ foo(x)"), FormulaError, "foo"),
        ("syntax error", _fixed(front, "y ~ x + * z"), FormulaError, r"y ~ x \+ \* z"),
        ("formula a number", {KEY[front]: 5}, TE, KEY[front]),
        ("formula one-sided", {KEY[front]: "~ x" + BAR[front]}, VE, "~ x"),
        ("formula two tildes", {KEY[front]: "y ~ x ~ z" + BAR[front]}, VE, "y ~ x ~ z"),
        ("no complete row", _fixed(front, "y ~ x + allnan"), DesignError, "none complete"),
        ("all zero response", _fixed(front, "y0 ~ x"), DesignError, "response y0"),
        ("all one response", _fixed(front, "y1 ~ x"), DesignError, "response y1"),
        ("indicator separates", _fixed(front, "y ~ x + sep"),
         None if stata_drops else DesignError, "covariate sep"),
        ("threshold separates", _fixed(front, "y ~ x + thr"), DesignError, "covariate thr"),
        ("infinite covariate", _fixed(front, "y ~ xinf"), DesignError, "xinf"),
        ("response not 0/1", _fixed(front, "y2 ~ x"), VE, "2"),
        ("Q of absent column", _fixed(front, 'y ~ Q("no such")'), FormulaError, "no such"),
    ]


def glmm_cases():
    f = "glmm"
    return [(f"glmm {name}", f, ch, ex, m) for name, ch, ex, m in common_cases(f) + [
        ("m zero", dict(m=0), VE, "m must"),
        ("m negative", dict(m=-5), VE, "m must"),
        ("m fractional", dict(m=10.5), TE, "m must"),
        ("m a string", dict(m="many"), TE, "m must"),
        ("m a bool", dict(m=True), TE, "m must"),
        ("m 10**12", dict(m=10 ** 12), WorkTooLargeError, "m must be at most"),
        ("m 10**30", dict(m=10 ** 30), WorkTooLargeError, "m must be at most"),
        ("m 3e7 times q", dict(m=3 * 10 ** 7), WorkTooLargeError, "12 random effect"),
        ("p1 negative", dict(p1=-0.1, p2=0.6, p3=0.5), VE, "p1 must"),
        ("p2 above one", dict(p1=0.5, p2=1.5, p3=0.0), VE, "p2 must"),
        ("p3 a string", dict(p3="third"), TE, "p3 must"),
        ("p1 a bool", dict(p1=True), TE, "p1 must"),
        ("p1 nan", dict(p1=float("nan")), VE, "p1 must"),
        ("p1 zero", dict(p1=0.0, p2=0.5, p3=0.5), VE, "p1 must be positive"),
        ("p sum not one", dict(p1=0.5, p2=0.3, p3=0.3), VE, r"p1 \+ p2 \+ p3"),
        ("zeta zero", dict(zeta=0), VE, "zeta must"),
        ("zeta inf", dict(zeta=float("inf")), VE, "zeta must"),
        ("zeta a string", dict(zeta="5"), TE, "zeta must"),
        ("zeta a bool", dict(zeta=True), TE, "zeta must"),
        ("rmax below the radius", dict(rmax=5), VE, "rmax must"),
        ("rmax a string", dict(rmax="big"), TE, "rmax must"),
        ("iterlim zero", dict(iterlim=0), VE, "iterlim must"),
        ("iterlim fractional", dict(iterlim=2.5), TE, "iterlim must"),
        ("iterlim a bool", dict(iterlim=True), TE, "iterlim must"),
        ("seed negative", dict(seed=-3), VE, "seed must"),
        ("seed a string", dict(seed="abc"), TE, "seed must"),
        ("seed fractional", dict(seed=1.5), TE, "seed must"),
        ("n_jobs zero", dict(n_jobs=0), VE, "n_jobs must"),
        ("n_jobs a bool", dict(n_jobs=True), TE, "n_jobs must"),
        ("n_jobs a string", dict(n_jobs="2"), TE, "n_jobs must"),
        ("memory_budget zero", dict(memory_budget=0), VE, "memory_budget must"),
        ("memory_budget text", dict(memory_budget="1GB"), TE, "memory_budget must"),
        ("memory_budget nan", dict(memory_budget=float("nan")), VE, "memory_budget must"),
        ("do_pql a string", dict(do_pql="yes"), TE, "do_pql must"),
        ("do_pql a number", dict(do_pql=1), TE, "do_pql must"),
        ("debug a string", dict(debug="no"), TE, "debug must"),
        ("progress a number", dict(progress=2), TE, "progress must"),
        ("asis a string", dict(asis="yes"), TE, "asis must"),
        ("family unknown", dict(family_glmm="gaussian"), VE, "family_glmm must"),
        ("random None", dict(random=None), VE, "random must"),
        ("random empty", dict(random=[]), VE, "random must"),
        ("random a number", dict(random=5), TE, "random"),
        ("random unknown name", dict(random="0 + zz"), FormulaError, "zz"),
        ("random uses response", dict(random=["0 + g", "0 + y"], varcomps_names=["g", "y"]),
         FormulaError, "0 \\+ y"),
        ("random twice", dict(random=["0 + g", "0 + g"], varcomps_names=["a", "b"]),
         FormulaError, "distinct formulas"),
        ("random syntax", dict(random="0 + (g"), FormulaError, r"0 \+ \(g"),
        ("varcomps_names None", dict(varcomps_names=None), VE, "varcomps_names must"),
        ("varcomps_names too long", dict(varcomps_names=["a", "b"]), VE, "varcomps_names"),
        ("varcomps_equal floats", dict(varcomps_equal=[1.0]), VE, "varcomps_equal"),
        ("weights absent column", dict(weights="nope"), VE, "weights"),
        ("weights negative", dict(weights=-np.ones(len(DATA))), VE, "weights must be non-neg"),
        ("weights nan", dict(weights=np.r_[np.nan, np.ones(len(DATA) - 1)]), VE, "weights"),
        ("weights short", dict(weights=np.ones(3)), VE, "weights must be a vector"),
        ("weights all zero", dict(weights="w0"), DesignError, "weights must be positive"),
        ("weights text", dict(weights="word"), VE, "weights must be numeric"),
        ("par_init short", dict(par_init=[0.0]), VE, "par_init must"),
        ("par_init nan", dict(par_init=[0.0, np.nan, 1.0]), VE, "par_init must"),
        ("sampler wrong type", dict(sampler=[1, 2]), TE, "sampler must"),
        ("cbind for bernoulli", dict(fixed="cbind(y, y1) ~ x"), DesignError, "cbind"),
        ("count response separated", dict(fixed="y ~ x + sep", family_glmm="poisson.glmm"),
         None, None),
        ("poisson all zero", dict(fixed="y0 ~ x", family_glmm="poisson.glmm"), DesignError,
         "response y0"),
    ]]


def meglm_cases():
    f = "meglm"
    three = "y ~ x + (1 + x + z | g)"
    return [(f"meglm {name}", f, ch, ex, m) for name, ch, ex, m in common_cases(f) + [
        ("intpoints 128 in 3 dimensions", dict(formula=three, intpoints=128),
         WorkTooLargeError, "intpoints must"),
        ("intpoints 80 in 3 dimensions", dict(formula=three, intpoints=80),
         WorkTooLargeError, "use intpoints <="),
        ("intpoints zero", dict(intpoints=0), VE, "intpoints must"),
        ("intpoints 129", dict(intpoints=129), VE, "intpoints must"),
        ("intpoints fractional", dict(intpoints=7.5), TE, "intpoints must"),
        ("intpoints a bool", dict(intpoints=True), TE, "intpoints must"),
        ("intpoints a string", dict(intpoints="7"), TE, "intpoints must"),
        ("intpoints with laplace", dict(intpoints=7, intmethod="laplace"), VE, "intpoints"),
        ("intmethod unknown", dict(intmethod="simpson"), VE, "intmethod must"),
        ("family unknown", dict(family="beta"), VE, "family must"),
        ("family a number", dict(family=3), VE, "family must"),
        ("link unknown", dict(link="loglog"), VE, "link must"),
        ("link for family", dict(link="identity"), VE, "link must"),
        ("level 5", dict(level=5), VE, "level must"),
        ("level 100", dict(level=100), VE, "level must"),
        ("level a string", dict(level="95"), TE, "level must"),
        ("level a bool", dict(level=True), TE, "level must"),
        ("iterate negative", dict(iterate=-1), VE, "iterate must"),
        ("iterate fractional", dict(iterate=2.5), TE, "iterate must"),
        ("tolerance zero", dict(tolerance=0), VE, "tolerance must"),
        ("tolerance inf", dict(tolerance=float("inf")), VE, "tolerance must"),
        ("tolerance nan", dict(tolerance=float("nan")), VE, "tolerance must"),
        ("startvalues unknown", dict(startvalues="random"), VE, "startvalues must"),
        ("startgrid a number", dict(startgrid=3), VE, "startgrid must"),
        ("vce unknown", dict(vce="bootstrap"), VE, "vce must"),
        ("vce cluster absent", dict(vce=("cluster", "nope")), VE, "vce must"),
        ("covariance unknown", dict(covariance="diagonal"), VE, "covariance must"),
        ("covariance dict key", dict(covariance={"h": "unstructured"}), VE, "covariance must"),
        ("noconstant a string", dict(noconstant="yes"), TE, "noconstant must"),
        ("eform a number", dict(eform=1), TE, "eform must"),
        ("log a string", dict(log="yes"), TE, "log must"),
        ("asis a number", dict(asis=1), TE, "asis must"),
        ("collinear a string", dict(collinear="no"), TE, "collinear must"),
        ("noestimate a number", dict(noestimate=0), TE, "noestimate must"),
        ("or_ for gaussian", dict(family="gaussian", formula="x ~ z + (1 | g)", or_=True),
         VE, "or_ must"),
        ("or_ for probit", dict(link="probit", or_=True), VE, "or_ must"),
        ("irr for bernoulli", dict(irr=True), VE, "irr must"),
        ("offset absent", dict(offset="nope"), VE, "offset must"),
        ("offset short", dict(offset=np.zeros(3)), VE, "offset must"),
        ("exposure negative", dict(family="poisson", formula="cnt ~ x + (1 | g)",
                                   exposure=-np.ones(len(DATA))), VE, "exposure must"),
        ("trials for gaussian", dict(family="gaussian", formula="x ~ z + (1 | g)", trials=2),
         VE, "trials must"),
        ("two weight types", dict(fweight="cnt", pweight="cnt"), VE, "fweight/iweight/pweight"),
        ("weight absent", dict(pweight="nope"), VE, "pweight"),
        ("weight zero", dict(pweight="w0"), VE, "pweight must"),
        ("random term uses response", dict(formula="y ~ x + (1 + y | g)"), FormulaError,
         r"\(1 \+ y \| g\)"),
        ("random term twice", dict(formula="y ~ x + (1 | g) + (1 | g)"), FormulaError,
         "once"),
        ("grouping absent", dict(formula="y ~ x + (1 | nope)"), FormulaError, "nope"),
        ("double bar", dict(formula="y ~ x + (1 || g)"), FormulaError, r"\|\|"),
        ("unbalanced", dict(formula="y ~ x + (1 | g"), FormulaError, "unbalanced"),
        ("bar unparenthesised", dict(formula="y ~ x + 1 | g"), FormulaError, "parentheses"),
        ("no random term", dict(formula="y ~ x"), FormulaError, "random-effects term"),
        ("random term unknown", dict(formula="y ~ x + (1 + zz | g)"), FormulaError, "zz"),
        ("from_ wrong length", dict(from_=[0.0, 1.0]), VE, "from_"),
        ("constraint unknown", dict(constraints="nope = 1"), VE, "nope"),
        ("poisson all zero", dict(family="poisson", formula="y0 ~ x + (1 | g)"), DesignError,
         "response y0"),
        ("gaussian constant", dict(family="gaussian", formula="y1 ~ x + (1 | g)"),
         DesignError, "response y1"),
    ]]


def lr_cases(front):
    ids = {"lr2": ("id",), "lr3": ("level2", "level3")}[front]
    cases = common_cases(front) + [
        ("quad_pts 10**6", dict(quad_pts=10 ** 6), WorkTooLargeError, "quad_pts must"),
        ("quad_pts 5000", dict(quad_pts=5000), WorkTooLargeError, "quad_pts must"),
        ("quad_pts zero", dict(quad_pts=0), VE, "quad_pts must"),
        ("quad_pts negative", dict(quad_pts=-2), VE, "quad_pts must"),
        ("quad_pts fractional", dict(quad_pts=4.5), TE, "quad_pts must"),
        ("quad_pts a bool", dict(quad_pts=True), TE, "quad_pts must"),
        ("quad_pts a string", dict(quad_pts="12"), TE, "quad_pts must"),
        ("frame a string", dict(frame="yes"), TE, "frame must"),
        ("trace a number", dict(trace=1), TE, "trace must"),
        ("sort a string", dict(sort="no"), TE, "sort must"),
        ("bar term", dict(formula="y ~ x + (1 | g)"), FormulaError, "formula must"),
        ("sigma negative", dict(sigma=-1.0 if front == "lr2" else [0.5, -1.0]), VE,
         "sigma must"),
        ("sigma wrong length", dict(sigma=[0.5, 0.5, 0.5]), VE, "sigma must"),
        ("sigma text", dict(sigma="big"), VE, "sigma must"),
        ("beta wrong length", dict(beta=[0.0]), VE, "beta must"),
        ("beta nan", dict(beta=[0.0, np.nan]), VE, "beta must"),
        ("beta wrong index", dict(beta=pd.Series([0.0, 0.0], index=["a", "b"])), VE,
         "beta must"),
        ("unsorted", dict(data=DATA.iloc[::-1].reset_index(drop=True).sample(
            frac=1, random_state=2)), VE, "sorted"),
    ] + [(f"{name} absent", {name: "nope"}, VE, f"{name} must") for name in ids] \
      + [(f"{name} a number", {name: 3}, VE, f"{name} must") for name in ids]
    if front == "lr3":
        cases += [
            ("level3 equals level2", dict(level3="g"), VE, "level3 must"),
            ("not nested", dict(level2="word"), DesignError, "nested"),
        ]
    return [(f"{front} {name}", front, ch, ex, m) for name, ch, ex, m in cases]


CASES = [c for c in glmm_cases() + meglm_cases() + lr_cases("lr2") + lr_cases("lr3")
         if c[3] is not None]


def test_at_least_150_cases_cover_every_front():
    fronts = {c[1] for c in CASES}
    assert len(CASES) >= 150 and fronts == {"glmm", "meglm", "lr2", "lr3"}


@pytest.mark.parametrize("name, front, changes, exception, match", CASES,
                         ids=[c[0] for c in CASES])
def test_bad_input_is_refused_by_name_before_work(name, front, changes, exception, match):
    tracemalloc.start()
    try:
        with pytest.raises(exception, match=match) as info:
            call(front, changes)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT
    assert _raised_in_mcglmm(info), f"{name}: raised outside mcglmm"


def _raised_in_mcglmm(info):
    """The innermost frame of the traceback is mcglmm's code (not numpy, pandas, patsy)."""
    tb = info.tb
    while tb.tb_next is not None:
        tb = tb.tb_next
    return "/mcglmm/" in tb.tb_frame.f_code.co_filename.replace("\\", "/")


def test_wrong_types_are_type_errors_that_old_code_catches_as_value_errors():
    with pytest.raises(ArgumentTypeError) as info:
        call("glmm", dict(m="many"))
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)
    assert isinstance(info.value, MCGLMMError)


def test_poisson_may_have_a_covariate_with_only_zero_counts():
    """Separation is a binary-response check: a Poisson model with such a column fits."""
    fit = call("glmm", dict(fixed="cnt ~ x", family_glmm="poisson.glmm"))
    assert np.all(np.isfinite(fit.beta))
