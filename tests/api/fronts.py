"""A small two-level (groups g in sites s) binary data set and one base call per front.

Columns: y (0/1 from a random-intercept logit), x, z (covariates), g (12 groups, strings),
s (4 sites, g nested in s, rows sorted by s then g), and awkward columns for the
bad-input cases: y0 / y1 (constant responses), y2 (a value 2), sep (an indicator whose
1-rows are all failures), thr (a covariate above 1 exactly where y = 1), xinf (one inf),
allnan, w0 (zero weights), word (strings), cnt (Poisson counts).
"""
import numpy as np
import pandas as pd

import mcglmm as mc


def small_data(seed=3):
    rng = np.random.default_rng(seed)
    S, G, per = 4, 12, 5
    n = G * per
    g = np.repeat(np.arange(G), per)
    s = g // (G // S)
    x = rng.normal(size=n)
    u = rng.normal(scale=0.8, size=G)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.2 + 0.8 * x + u[g])))).astype(float)
    data = pd.DataFrame({"y": y, "x": x, "z": rng.normal(size=n),
                         "g": [f"g{k:02d}" for k in g], "s": [f"s{k}" for k in s]})
    data["y0"] = 0.0
    data["y1"] = 1.0
    data["y2"] = np.where(np.arange(n) == 3, 2.0, y)
    data["sep"] = ((y == 0) & (np.arange(n) % 3 == 0)).astype(float)
    data["thr"] = np.where(y == 1, 1 + rng.random(n), rng.random(n))
    data["xinf"] = np.where(np.arange(n) == 5, np.inf, x)
    data["allnan"] = np.nan
    data["w0"] = 0.0
    data["word"] = np.where(x > 0, "up", "down")
    data["cnt"] = rng.poisson(2.0, size=n).astype(float)
    return data


DATA = small_data()

BASE = {
    "glmm": dict(fixed="y ~ x", random="0 + g", varcomps_names=["g"], data=DATA,
                 family_glmm="bernoulli.glmm", m=60, seed=1, iterlim=3),
    "meglm": dict(formula="y ~ x + (1 | g)", data=DATA, family="bernoulli", iterate=3),
    "lr2": dict(formula="y ~ x", id="g", data=DATA, quad_pts=5),
    "lr3": dict(formula="y ~ x", level2="g", level3="s", data=DATA, quad_pts=5),
}
FRONTS = {"glmm": mc.glmm, "meglm": mc.meglm, "lr2": mc.lr2, "lr3": mc.lr3}


def call(front, changes=None, data=None):
    """The front on its base arguments updated by ``changes`` (and ``data`` if given)."""
    kwargs = {**BASE[front], **(changes or {})}
    if data is not None:
        kwargs["data"] = data
    return FRONTS[front](**kwargs)


def with_columns(**columns):
    """DATA with columns replaced or added."""
    out = DATA.copy()
    for name, values in columns.items():
        out[name] = values
    return out
