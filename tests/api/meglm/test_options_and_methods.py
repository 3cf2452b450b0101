"""meglm options: integration methods agree, start values, from_, vce, offset/exposure, trials."""
import numpy as np
import pandas as pd
import pytest

from mcglmm.api.meglm import meglm


@pytest.fixture(scope="module")
def counts():
    """Poisson counts with exposure: log mu = log t + 0.2 + 0.5 x + u_g, 30 groups of 12."""
    rng = np.random.default_rng(42)
    g = np.repeat(np.arange(30), 12)
    x, t = rng.normal(size=g.size), rng.uniform(0.5, 3.0, g.size)
    y = rng.poisson(t * np.exp(0.2 + 0.5 * x + rng.normal(0, 0.6, 30)[g]))
    u = rng.multivariate_normal([0, 0], [[0.36, 0.12], [0.12, 0.25]], 30)
    y2 = rng.poisson(t * np.exp(0.2 + (0.5 + u[g, 1]) * x + u[g, 0]))
    size = rng.integers(1, 8, g.size)
    succ = rng.binomial(size, 1 / (1 + np.exp(-(0.3 * x + rng.normal(0, 0.8, 30)[g]))))
    return pd.DataFrame({"y": y, "y2": y2, "x": x, "t": t, "lt": np.log(t), "g": g, "s": succ,
                         "n": size, "f": size - succ})


def test_methods_agree_on_a_random_intercept_model(counts):
    fits = {m: meglm("y ~ x + (1 | g)", data=counts, family="poisson", exposure="t",
                     intmethod=m, intpoints=None if m == "laplace" else 12)
            for m in ("mvaghermite", "mcaghermite", "ghermite", "laplace")}
    ref = fits["mvaghermite"]
    assert fits["mcaghermite"].ll == pytest.approx(ref.ll, abs=1e-6)   # seen 4e-8
    assert fits["ghermite"].ll == pytest.approx(ref.ll, abs=2.0)       # seen 1.26
    assert fits["laplace"].ll == pytest.approx(ref.ll, abs=0.1)        # seen 0.053
    assert fits["laplace"].n_quad == 1


def test_ghermite_approaches_adaptive_quadrature_with_more_points(counts):
    """Non-adaptive GHQ is poor for 12 Poisson counts per group; more points close the gap."""
    ref = meglm("y ~ x + (1 | g)", data=counts, family="poisson", exposure="t", intpoints=12)
    gap = [abs(meglm("y ~ x + (1 | g)", data=counts, family="poisson", exposure="t",
                     intmethod="ghermite", intpoints=k).ll - ref.ll) for k in (12, 60)]
    assert gap[1] < gap[0] / 10                                        # seen 1.26, 0.022


def test_offset_equals_exposure(counts):
    a = meglm("y ~ x + (1 | g)", data=counts, family="poisson", exposure="t")
    b = meglm("y ~ x + (1 | g)", data=counts, family="poisson", offset="lt")
    assert a.ll == pytest.approx(b.ll, abs=1e-8)
    np.testing.assert_allclose(a.b.to_numpy(), b.b.to_numpy(), rtol=1e-6)


def test_binomial_trials_column_equals_cbind(counts):
    a = meglm("s ~ x + (1 | g)", data=counts, family="binomial", trials="n")
    b = meglm("cbind(s, f) ~ x + (1 | g)", data=counts, family="binomial")
    assert a.ll == pytest.approx(b.ll, abs=1e-8)


@pytest.mark.parametrize("startvalues", ["zero", "constantonly"])
def test_start_values_reach_the_same_maximum(counts, startvalues):
    ref = meglm("y ~ x + (1 | g)", data=counts, family="poisson", exposure="t")
    other = meglm("y ~ x + (1 | g)", data=counts, family="poisson", exposure="t",
                  startvalues=startvalues)
    assert other.ll == pytest.approx(ref.ll, abs=1e-7)


def test_from_vector_and_dict(counts):
    ref = meglm("y ~ x + (1 | g)", data=counts, family="poisson", exposure="t")
    again = meglm("y ~ x + (1 | g)", data=counts, family="poisson", exposure="t",
                  from_=ref.theta)
    assert again.ll == pytest.approx(ref.ll, abs=1e-9)
    named = dict(zip(ref.theta_names, ref.theta))
    assert meglm("y ~ x + (1 | g)", data=counts, family="poisson", exposure="t",
                 from_=named).ll == pytest.approx(ref.ll, abs=1e-9)
    with pytest.raises(ValueError, match="from_ must be a vector of length 3"):
        meglm("y ~ x + (1 | g)", data=counts, family="poisson", from_=[0.0])


def test_robust_vce_is_a_cluster_sandwich(counts):
    oim = meglm("y ~ x + (1 | g)", data=counts, family="poisson", exposure="t")
    rob = meglm("y ~ x + (1 | g)", data=counts, family="poisson", exposure="t", vce="robust")
    assert rob.ll == pytest.approx(oim.ll, abs=1e-9)
    ratio = rob.table.loc["se"] / oim.table.loc["se"]
    assert ratio.between(0.5, 2.0).all() and not np.allclose(ratio, 1.0)


def test_covariance_dict_and_noconstant(counts):
    fit = meglm("y2 ~ x + (1 + x | g)", data=counts, family="poisson", exposure="t",
                covariance={"g": "unstructured"})
    assert fit.converged and "g:cov(_cons,x)" in fit.table.columns
    exch = meglm("y2 ~ x + (1 + x | g)", data=counts, family="poisson", exposure="t",
                 covariance="exchangeable")
    assert exch.ll <= fit.ll + 1e-8 and len(exch.V) == 4
    nc = meglm("y ~ x + (1 | g)", data=counts, family="poisson", exposure="t", noconstant=True)
    assert "y:_cons" not in nc.table.columns


def test_iteration_log_is_printed(counts, capsys):
    meglm("y ~ x + (1 | g)", data=counts, family="poisson", exposure="t", log=True)
    out = capsys.readouterr().out
    assert "Fitting full model:" in out and "Iteration 0: Log likelihood =" in out


def test_zero_variance_reaches_the_fixed_effects_likelihood():
    """Data without a group effect: the variance goes to the boundary, ll equals the GLM's."""
    from mcglmm.exceptions import BoundaryWarning
    rng = np.random.default_rng(4)
    g = np.repeat(np.arange(50), 10)
    x = rng.normal(size=500)
    y = (rng.uniform(size=500) < 1 / (1 + np.exp(-(0.2 + 0.5 * x)))).astype(int)
    with pytest.warns(BoundaryWarning, match="nearly"):
        fit = meglm("y ~ x + (1 | g)", data=pd.DataFrame({"y": y, "x": x, "g": g}),
                    family="bernoulli")
    assert fit.converged and fit.chi2_c == pytest.approx(0.0, abs=1e-6)   # seen 0
    assert fit.ll == pytest.approx(fit.ll_c, abs=1e-6)


def test_rows_with_missing_values_are_dropped_and_counted(pig):
    holes = pig.assign(weight=pig["weight"].where(pig.index % 50 != 0))
    fit = meglm("weight ~ week + (1 | id)", data=holes)
    assert fit.n_dropped == 9 and fit.N == 432 - 9


def test_unstructured_gaussian_slope_matches_the_closed_form_at_the_maximum(pig):
    """The fitted log likelihood is the LMM's closed form at the returned estimates."""
    from scipy import stats
    fit = meglm("weight ~ week + (1 + week | id)", data=pig, covariance="unstructured")
    b = fit.b
    S = np.array([[b["id:var(_cons)"], b["id:cov(_cons,week)"]],
                  [b["id:cov(_cons,week)"], b["id:var(week)"]]])
    total = 0.0
    for _, g in pig.groupby("id"):
        Z = np.column_stack([np.ones(len(g)), g["week"]])
        mean = b["weight:_cons"] + b["weight:week"] * g["week"]
        cov = Z @ S @ Z.T + b["var(e.weight)"] * np.eye(len(g))
        total += stats.multivariate_normal(mean, cov).logpdf(g["weight"])
    assert fit.ll == pytest.approx(total, abs=1e-8)                    # seen 1e-13
