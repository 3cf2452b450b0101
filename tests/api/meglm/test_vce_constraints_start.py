"""meglm: robust and cluster sandwich by hand, pweights on a two-stage sample, constraints,
start values (iv, startgrid, noestimate) and misuse of the new options."""
import numpy as np
import pandas as pd
import pytest

from mcglmm.api.meglm import build_model, meglm
from mcglmm.design.weights import weight_spec
from mcglmm.engines.quadrature.nested import aghq
from mcglmm.exceptions import DesignError
from mcglmm.model.families import me_family


@pytest.fixture(scope="module")
def small():
    """Poisson counts, 24 groups g of 5 in 8 clusters c, with weights at both levels."""
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(24), 5)
    x = rng.normal(size=g.size)
    y = rng.poisson(np.exp(0.3 + 0.4 * x + rng.normal(0, 0.6, 24)[g]))
    return pd.DataFrame({"y": y, "x": x, "g": g, "c": g // 3,
                         "w1": rng.uniform(0.5, 2.0, g.size), "w2": rng.uniform(1, 4, 24)[g]})


def _central(f, theta, h=1e-5):
    return np.array([(f(theta + e) - f(theta - e)) / (2 * h) for e in h * np.eye(len(theta))])


def _hand_sandwich(data, res, cluster, spec, k):
    """Stata's V = c/(c-1) H^-1 (sum_c s_c s_c') H^-1 from each cluster's own log likelihood
    (its rows as a model of their own) differenced numerically; H by second differences."""
    fam = me_family("poisson")
    parts = [build_model("y ~ x + (1 | g)", data[data[cluster] == c], fam, "independent",
                         False, None, None, None, weight_spec(None, None, spec))[0]
             for c in sorted(data[cluster].unique())]

    def ll(model, t):
        return aghq(model, t, None, k).value
    theta = res.theta
    scores = np.array([_central(lambda t: ll(m, t), theta) for m in parts])

    def grad(t):
        return sum(_central(lambda s: ll(m, s), t) for m in parts)
    H = np.array([(grad(theta + e) - grad(theta - e)) / 2e-4 for e in 1e-4 * np.eye(3)])
    Hi = np.linalg.inv(-0.5 * (H + H.T))
    c = len(parts)
    V = Hi @ scores.T @ scores @ Hi * c / (c - 1)
    J = np.diag([1.0, 1.0, 2.0 * np.exp(2.0 * theta[2])])      # x, _cons, var = exp(2 psi)
    return J @ V @ J.T


@pytest.mark.parametrize("vce,cluster,spec", [
    ("robust", "g", None),
    (("cluster", "c"), "c", None),
    (("cluster", "c"), "c", {"_n": "w1", "g": "w2"}),
])
def test_robust_se_equal_a_hand_computed_cluster_sandwich(small, vce, cluster, spec):
    res = meglm("y ~ x + (1 | g)", data=small, family="poisson", intmethod="ghermite",
                intpoints=15, vce=vce, pweight=spec)
    hand = _hand_sandwich(small, res, cluster, spec, 15)
    order = [1, 0, 2]                                  # x_names: _cons, x; table: x, _cons
    np.testing.assert_allclose(res.V.to_numpy(), hand[np.ix_(order, order)],
                               rtol=1e-5)              # seen 1.2e-6 (the FD Hessian)
    assert res.vcetype == "Robust" and res.N_clust == small[cluster].nunique()
    assert f"adjusted for {res.N_clust} clusters in {cluster}" in str(res.summary())


def test_adaptive_per_group_scores_are_each_groups_own_gradient(small):
    """With the adaptation held fixed, a top group's score row is the gradient of its own
    weighted log integral (its rows as a model, its nodes)."""
    from mcglmm.engines.quadrature.laplace import curvature_adapt
    from mcglmm.engines.quadrature.nodes import Adapt
    spec = {"_n": "w1", "g": "w2"}
    fam = me_family("poisson")
    model = build_model("y ~ x + (1 | g)", small, fam, "independent", False, None, None, None,
                        weight_spec(None, None, spec))[0]
    theta = np.array([0.2, 0.5, -0.4])
    adapt = curvature_adapt(model, theta)[0]
    rows = aghq(model, theta, adapt, 7, scores=True).scores
    for j in (0, 7, 23):
        part = build_model("y ~ x + (1 | g)", small[small.g == j], fam, "independent", False,
                           None, None, None, weight_spec(None, None, spec))[0]
        own = Adapt(*[tuple(a[[j]] for a in field) for field in (adapt.mu, adapt.C, adapt.B)])
        num = _central(lambda t: aghq(part, t, own, 7).value, theta, h=1e-6)
        np.testing.assert_allclose(rows[j], num, rtol=1e-6, atol=1e-7)   # seen 1.8e-9


def _two_stage_sample(seed, n_schools=4000, students=200):
    """Schools drawn with probability 0.02 exp(u_j) (informative), then students with
    probability 0.5 if y = 1 and 0.25 if y = 0 (informative); weights 1/pi, the
    student weights scaled by Stata's "method 1" (sum to the effective cluster size)."""
    rng = np.random.default_rng(seed)
    u = rng.normal(0, np.sqrt(0.5), n_schools)
    pi_school = np.minimum(1.0, 0.02 * np.exp(u))
    chosen = np.flatnonzero(rng.uniform(size=n_schools) < pi_school)
    g = np.repeat(chosen, students)
    x = rng.normal(size=g.size)
    y = (rng.uniform(size=g.size) < 1 / (1 + np.exp(-(-1.0 + 0.5 * x + u[g])))).astype(int)
    pi_student = np.where(y == 1, 0.5, 0.25)
    keep = rng.uniform(size=g.size) < pi_student
    d = pd.DataFrame({"y": y, "x": x, "g": g, "w1": 1 / pi_student,
                      "w2": 1 / pi_school[g]})[keep]
    total = d.groupby("g").w1.transform("sum")
    squares = (d.w1 ** 2).groupby(d.g).transform("sum")
    return d.assign(pst1s1=d.w1 * total / squares)


def test_pweights_recover_the_population_parameters_of_a_two_stage_sample():
    """Population: logit P(y) = -1 + 0.5 x + u_j, var(u) = 0.5.  Over 8 two-stage samples
    (seeds 0..7, about 80 schools and 7,500 students each) informative sampling biases the
    unweighted intercept by about +1.2; the pweighted fit's mean error is within 0.1 of
    every parameter (three Monte Carlo standard errors of a mean of 8: the replicates'
    sd is at most 0.09).  Seen: weighted mean errors (x, _cons, var) 0.000, 0.017,
    -0.036; unweighted -0.001, 1.172, -0.029.  A single sample is noisier: with seed
    2024 the weighted var(_cons) is off by -0.22, the unweighted by -0.13."""
    truth = np.array([0.5, -1.0, 0.5])
    err_w, err_u = [], []
    for seed in range(8):
        d = _two_stage_sample(seed)
        plain = meglm("y ~ x + (1 | g)", data=d, family="bernoulli")
        weighted = meglm("y ~ x + (1 | g)", data=d, family="bernoulli",
                         pweight={"_n": "pst1s1", "g": "w2"})
        err_w.append(weighted.b.to_numpy() - truth)
        err_u.append(plain.b.to_numpy() - truth)
    bias_w, bias_u = np.mean(err_w, axis=0), np.mean(err_u, axis=0)
    assert np.abs(bias_w).max() < 0.1                  # seen 0.036
    assert bias_u[1] > 0.8                             # seen 1.172
    assert np.abs(bias_w).max() < 0.1 * np.abs(bias_u).max()
    assert weighted.vcetype == "Robust" and "Log pseudolikelihood" in str(weighted.summary())


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(30), 8)
    x, z = rng.normal(size=g.size), rng.normal(size=g.size)
    eta = 0.3 + 0.8 * x + 0.5 * z + rng.normal(0, 1, 30)[g]
    y = (rng.uniform(size=g.size) < 1 / (1 + np.exp(-eta))).astype(int)
    return pd.DataFrame({"y": y, "x": x, "z": z, "g": g, "z1": z + 1.0, "half_x": 0.5 * x})


def test_constraints_hold_exactly_and_equal_the_reparametrised_model(binary):
    """x fixed at 0.5 and z's coefficient equal to _cons: the same model as offset 0.5 x
    and one coefficient on z + 1 without a constant."""
    res = meglm("y ~ x + z + (1 | g)", data=binary, family="bernoulli",
                constraints=["x = 0.5", "[y]z = _cons"])
    assert res.b["y:x"] == 0.5 and res.b["y:z"] == pytest.approx(res.b["y:_cons"], abs=1e-14)
    same = meglm("y ~ z1 + (1 | g)", data=binary, family="bernoulli", noconstant=True,
                 offset="half_x")
    assert res.ll == pytest.approx(same.ll, abs=1e-8)                  # seen 0
    assert res.b["y:z"] == pytest.approx(same.b["y:z1"], abs=1e-6)     # seen 6e-16
    se = np.sqrt(np.diag(res.V))
    assert se[0] == 0.0                                                # x fixed
    assert se[1] == pytest.approx(np.sqrt(same.V.iloc[0, 0]), rel=1e-5)   # seen 1e-14
    assert res.V.iloc[3, 3] == pytest.approx(same.V.iloc[1, 1], rel=1e-5)   # var(_cons), seen 1e-13
    text = str(res.summary())
    assert " ( 1)  [y]x = .5" in text and " ( 2)  [y]z - [y]_cons = 0" in text
    assert "(constrained)" in text and res.df_m == 1
    assert list(res.Cns.columns) == ["[y]x", "[y]z", "[y]_cons", "_r"]


def test_constraint_on_a_cut_point_and_a_sum(binary):
    u = np.random.default_rng(2).normal(0, 1, 30)[binary.g]
    d = binary.assign(k=np.digitize(binary.x + binary.z + u, [-0.5, 0.7]))
    res = meglm("k ~ x + z + (1 | g)", data=d, family="ordinal",
                constraints=["/cut1 = -1", "2*x - z = 1"])
    assert res.b["/:cut1"] == -1.0
    assert 2 * res.b["k:x"] - res.b["k:z"] == pytest.approx(1.0, abs=1e-12)   # seen 2e-16
    assert res.converged


@pytest.mark.parametrize("startvalues", ["iv", "fixedonly"])
def test_iv_start_and_startgrid_reach_the_same_maximum(binary, startvalues):
    ref = meglm("y ~ x + z + (1 | g)", data=binary, family="bernoulli")
    other = meglm("y ~ x + z + (1 | g)", data=binary, family="bernoulli",
                  startvalues=startvalues, startgrid=True)
    assert other.ll == pytest.approx(ref.ll, abs=1e-7)                 # seen 2.3e-12


def test_noestimate_returns_the_start_values(binary, capsys):
    iv = meglm("y ~ x + z + (1 | g)", data=binary, family="bernoulli", startvalues="iv",
               noestimate=True)
    assert list(iv.index) == ["y:x", "y:z", "y:_cons", "g:var(_cons)"]
    assert 0.05 < iv["g:var(_cons)"] < 2.0                          # seen 0.50 (fit: 0.84)
    plain = meglm("y ~ x + z + (1 | g)", data=binary, family="bernoulli", noestimate=True)
    assert plain["g:var(_cons)"] == pytest.approx(0.25)             # sd 0.5, Stata-like
    grid = meglm("y ~ x + z + (1 | g)", data=binary, family="bernoulli", noestimate=True,
                 startgrid={"_cons[g]": [0.2, 0.8]}, log=True)
    assert min(abs(grid["g:var(_cons)"] - v) for v in (0.2, 0.8, 0.25)) < 1e-12
    assert "Grid node 2: Log likelihood" in capsys.readouterr().out
    assert grid["y:x"] == plain["y:x"]


@pytest.mark.parametrize("kwargs,err,match", [
    ({"fweight": "w", "pweight": "w"}, ValueError, "one type of weight"),
    ({"pweight": {"g": "w_bad"}}, DesignError, "constant within the groups of 'g'"),
    ({"pweight": "w", "intmethod": "laplace"}, ValueError, "Laplace approximation"),
    ({"fweight": "half"}, ValueError, "whole numbers"),
    ({"iweight": "neg"}, ValueError, "positive finite"),
    ({"pweight": {"school": "w"}}, ValueError, "grouping among"),
    ({"pweight": "nope"}, ValueError, "pweight must be columns of data"),
    ({"vce": ("cluster", "x")}, ValueError, "constant within the groups of the top level"),
    ({"vce": "jackknife"}, ValueError, "vce must be"),
    ({"vce": ("cluster", "nope")}, ValueError, "vce must be"),
    ({"vce": "robust", "intmethod": "laplace"}, ValueError, "vce must be 'oim'"),
    ({"constraints": "x == 1"}, ValueError, "constraints must be strings"),
    ({"constraints": "w = 1"}, ValueError, "constraints must be equations in the parameters"),
    ({"constraints": ["x = 1", "2*x = 3"]}, ValueError, "linearly independent"),
    ({"startvalues": "random"}, ValueError, "startvalues must be one of"),
    ({"startgrid": "yes"}, ValueError, "startgrid must be"),
    ({"startgrid": {"x[h]": None}}, ValueError, "startgrid must be terms among"),
])
def test_misuse_of_weights_vce_constraints_and_start_options(binary, kwargs, err, match):
    rng = np.random.default_rng(0)
    d = binary.assign(w=1.5, w_bad=rng.uniform(1, 2, len(binary)), half=0.5, neg=-1.0)
    with pytest.raises(err, match=match):
        meglm("y ~ x + (1 | g)", data=d, family="bernoulli", **kwargs)


def test_weights_refused_for_a_crossed_model(salamander):
    with pytest.raises(ValueError, match="None for a crossed model"):
        meglm("y ~ wsm * wsf + (1 | male) + (1 | female)", data=salamander.assign(w=2.0),
              family="bernoulli", pweight="w")


def test_rows_missing_the_cluster_variable_are_dropped(small):
    holes = small.assign(c=small.c.where(small.g != 4))
    res = meglm("y ~ x + (1 | g)", data=holes, family="poisson", vce=("cluster", "c"))
    assert res.n_dropped == 5 and res.N_clust == 8 and res.N_g[0] == 23


def test_startgrid_searches_covariances_too():
    """Stata's covspec: 'x[g]' and 'cons[g]*x[g]' (or the table's names) on an unstructured
    level; every start found lies on the grid and the fit reaches the same maximum."""
    rng = np.random.default_rng(42)
    g = np.repeat(np.arange(30), 12)
    x = rng.normal(size=g.size)
    u = rng.multivariate_normal([0, 0], [[0.36, 0.12], [0.12, 0.25]], 30)
    d = pd.DataFrame({"y": rng.poisson(np.exp(0.2 + (0.5 + u[g, 1]) * x + u[g, 0])),
                      "x": x, "g": g})
    model = dict(data=d, family="poisson", covariance="unstructured")
    grid = {"cons[g]": [0.2, 0.5], "x[g]": None, "cons[g]*x[g]": [-0.05, 0.05]}
    start = meglm("y ~ x + (1 + x | g)", noestimate=True, startgrid=grid, **model)
    assert np.min(np.abs(start["g:var(_cons)"] - np.array([0.2, 0.5, 0.25]))) < 1e-9
    assert np.min(np.abs(start["g:cov(_cons,x)"] - np.array([-0.05, 0.05, 0.0]))) < 1e-9
    ref = meglm("y ~ x + (1 + x | g)", **model)
    searched = meglm("y ~ x + (1 + x | g)", startgrid={"g:cov(_cons,x)": [-0.1, 0.1]}, **model)
    assert ref.converged and searched.converged
    assert searched.ll == pytest.approx(ref.ll, abs=1e-7)             # seen 2.8e-9
