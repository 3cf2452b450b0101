"""benchmarks/near_exact.py (the oracle that issue 10's MCLA fits are judged by) checked against
computations that share none of its code: scipy.integrate.quad per group, and brute-force nested
(non-adaptive, tensor-product) Gauss-Hermite over every random effect of small crossed blocks;
and its parameter order against mc.glmm's own design (X columns, names, grouping).
"""
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.polynomial.hermite import hermgauss
from scipy.integrate import quad
from scipy.special import gammaln, logsumexp

import mcglmm as mc
from mcglmm.design import glmm_design

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
import near_exact as ne                # noqa: E402  (benchmarks/ is not a package)
import near_exact_single as nes        # noqa: E402

pytestmark = pytest.mark.slow          # about 10 s of CPU in all


def _log_f(family, y, eta):
    """log f(y | eta) kernel, written out independently of the module."""
    if family == "bernoulli":
        return y * eta - np.logaddexp(0.0, eta)
    with np.errstate(over="ignore"):
        return y * eta - np.exp(eta)


def _quad_log_integral(family, y, eta0, nu):
    """log int N(v; 0, nu) prod_i f(y_i | eta0_i + v) dv by adaptive scipy quadrature,
    rescaled by the integrand at its peak on a grid so that quad sees values near 1."""
    def log_g(v):
        return np.sum(_log_f(family, y, eta0 + v)) - v * v / (2 * nu) - 0.5 * np.log(2 * np.pi * nu)
    grid = np.linspace(-12, 12, 2401) * np.sqrt(nu)
    peak = grid[np.argmax([log_g(v) for v in grid])]
    top = log_g(peak)
    value, _ = quad(lambda v: np.exp(log_g(v) - top), -np.inf, np.inf, points=None,
                    epsabs=0, epsrel=1e-13, limit=500)
    return top + np.log(value)


@pytest.mark.parametrize("family", ["bernoulli", "poisson"])
def test_unit_integrals_match_scipy_quad(family):
    rng = np.random.default_rng(5)
    unit = np.repeat(np.arange(6), [1, 2, 3, 5, 8, 13])
    eta0 = rng.normal(-0.5, 1.0, len(unit))
    y = (rng.random(len(unit)) < 0.4).astype(float) if family == "bernoulli" else \
        rng.poisson(1.5, len(unit)).astype(float)
    starts = np.flatnonzero(np.r_[True, np.diff(unit) > 0])
    got = ne.log_unit_integrals(eta0, y, unit, starts, 1.7, family, n_points=100)
    want = [_quad_log_integral(family, y[unit == k], eta0[unit == k], 1.7) for k in range(6)]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-11)      # seen 2e-15 (40 points: 1.5e-10)


@pytest.mark.parametrize("model, beta, nu", [
    ("BoothHobert", [6.13], 1.77),
    ("cbpp2", [-1.40, -0.99, -1.13, -1.58], 0.42),
    ("murder", [-1.79, -3.69], 2.65),
])
def test_single_factor_matches_scipy_quad_per_group(model, beta, nu):
    y, X, group, _ = nes.single_factor_arrays(model)
    family = nes.SINGLE_FACTOR[model][2]
    eta0 = X @ np.array(beta)
    if model == "murder":        # one group per row: its integral depends on (eta0, y) only
        keys, counts = np.unique(np.c_[eta0, y], axis=0, return_counts=True)
        want = sum(c * _quad_log_integral(family, k[1:], k[:1], nu) for k, c in zip(keys, counts))
    else:
        want = sum(_quad_log_integral(family, y[group == g], eta0[group == g], nu)
                   for g in np.unique(group))
    got = nes.single_factor_exact(model, beta, nu, n_points=100)
    assert abs(got - want) < 1e-8                      # seen 0, 0, 1.4e-9 (murder, 100 points)
    constant = -np.sum(gammaln(y + 1)) if family == "poisson" else 0.0
    got_full = nes.single_factor_exact(model, beta, nu, n_points=100, constants=True)
    assert abs(got_full - got - constant) < 1e-9


@pytest.mark.parametrize("model", list(nes.SINGLE_FACTOR))
def test_single_factor_columns_are_the_glmm_fronts(model):
    """Parameters in mc.glmm's order: X, its names, y and the grouping as glmm's design has them."""
    fixed, random, family = nes.SINGLE_FACTOR[model]
    data = mc.datasets.load(model)
    if model == "murder":
        data["id"] = data.index.astype(str)
    design = glmm_design(fixed, random, data, mc.bernoulli_glmm if family == "bernoulli"
                         else mc.poisson_glmm, ["v"])
    y, X, group, names = nes.single_factor_arrays(model)
    assert list(design.x_names) == names
    np.testing.assert_array_equal(design.X, X)
    np.testing.assert_array_equal(design.y, y)
    z_group = design.Z.tocsr().indices                # the one nonzero column of each row
    pairs = np.unique(np.c_[z_group, group], axis=0)  # the same partition of the rows
    assert len(pairs) == len(np.unique(group)) == design.Z.shape[1]


def test_salamander_columns_are_the_glmm_fronts():
    data = mc.datasets.load("salamander")
    design = glmm_design("Mate ~ 0 + Cross", ["0 + Female", "0 + Male"], data, mc.bernoulli_glmm,
                         ["F", "M"])
    y, X, female, male = ne.salamander_arrays()
    assert list(design.x_names) == ne.SALAMANDER_COEF
    np.testing.assert_array_equal(design.X, X)
    np.testing.assert_array_equal(design.y, y)
    blocks = ne.crossed_blocks(female, male)
    assert np.bincount(blocks).tolist() == [60] * 6
    assert all(len(np.unique(female[blocks == k])) == 10 == len(np.unique(male[blocks == k]))
               for k in range(6))


def _tiny_crossed():
    """Two blocks: levels a 0-2 x b 0-3 (each pair twice) and a 3-4 x b 4-5 (each pair once)."""
    a = np.r_[np.repeat(np.arange(3), 8), np.repeat([3, 4], 2)]
    b = np.r_[np.tile(np.repeat(np.arange(4), 2), 3), np.tile([4, 5], 2)]
    rng = np.random.default_rng(11)
    eta0 = rng.normal(0.2, 0.8, len(a))
    y = (rng.random(len(a)) < 0.5).astype(float)
    return y, eta0, a, b


def _nested_tensor_gh(y, eta0, a, b, nu_a, nu_b, n_outer=24, n_inner=60):
    """log L of one block by non-adaptive Gauss-Hermite: a tensor grid over every a effect,
    and for each b level a 1-D rule given the a effects (loops are fine in a test)."""
    a, b = np.unique(a, return_inverse=True)[1], np.unique(b, return_inverse=True)[1]
    x, w = hermgauss(n_outer)
    index = np.array(list(itertools.product(range(n_outer), repeat=a.max() + 1)))   # (G, da)
    u = np.sqrt(2 * nu_a) * x[index]
    log_wa = np.log(w / np.sqrt(np.pi))[index].sum(axis=1)
    xi, wi = hermgauss(n_inner)
    v = np.sqrt(2 * nu_b) * xi                                     # (J,)
    total = log_wa.copy()
    for k in range(b.max() + 1):
        rows = b == k
        eta = eta0[rows] + u[:, a[rows]][:, None, :] + v[None, :, None]   # (G, J, n_k)
        inner = _log_f("bernoulli", y[rows], eta).sum(-1) + np.log(wi / np.sqrt(np.pi))
        total += logsumexp(inner, axis=1)
    return logsumexp(total)


@pytest.fixture(scope="module")
def tiny_exact():
    """Per block of _tiny_crossed at nu_a = 1.3, nu_b = 0.9: (log L a-outer, log L b-outer)."""
    nu_a, nu_b = 1.3, 0.9
    y, eta0, a, b = _tiny_crossed()
    blocks = ne.crossed_blocks(a, b)
    return [(_nested_tensor_gh(y[blocks == k], eta0[blocks == k], a[blocks == k], b[blocks == k],
                               nu_a, nu_b),
             _nested_tensor_gh(y[blocks == k], eta0[blocks == k], b[blocks == k], a[blocks == k],
                               nu_b, nu_a, n_outer=16))
            for k in range(blocks.max() + 1)]


def test_brute_force_nested_quadrature_agrees_both_ways(tiny_exact):
    """The reference itself: a-outer and b-outer nesting (3 vs 4 tensor dimensions) agree."""
    for a_outer, b_outer in tiny_exact:
        assert abs(a_outer - b_outer) < 1e-7                       # seen 1e-8


@pytest.mark.parametrize("sampled", ["a", "b"])
def test_crossed_importance_sampling_matches_nested_quadrature(sampled, tiny_exact):
    y, eta0, a, b = _tiny_crossed()
    exact = sum(e for e, _ in tiny_exact)
    args = (a, b, 1.3, 0.9) if sampled == "a" else (b, a, 0.9, 1.3)
    out = ne.crossed_loglik(y, eta0, *args, n_draws=20_000, seed=3)
    assert len(out["block_value"]) == 2
    assert out["mc_se"] < 0.005                                    # seen 2.4e-3, 2.5e-3
    assert abs(out["value"] - exact) < 4 * out["mc_se"]        # seen -1.3 and 0.3 mc_se


def test_crossed_mc_standard_error_matches_the_seed_spread():
    y, eta0, a, b = _tiny_crossed()
    runs = [ne.crossed_loglik(y, eta0, a, b, 1.3, 0.9, n_draws=500, seed=s, proposal="t",
                              df=3.0, inflate=1.0) for s in range(40)]
    ratio = np.std([r["value"] for r in runs], ddof=1) / np.median([r["mc_se"] for r in runs])
    assert 0.6 < ratio < 1.6                                       # seen 1.1


def test_paired_difference_standard_error_matches_the_seed_spread():
    """Common random numbers: the difference of log L at two points is precise and its
    delta-method MC standard error is honest."""
    y, eta0, a, b = _tiny_crossed()
    diffs, ses = [], []
    for seed in range(30):
        out1, out0 = (ne.crossed_loglik(y, eta0, a, b, nu_a, 0.9, n_draws=500, seed=seed)
                      for nu_a in (1.5, 1.3))
        d, se = ne.paired_difference(out1, out0)
        diffs.append(d)
        ses.append(se)
    ratio = np.std(diffs, ddof=1) / np.median(ses)
    assert 0.6 < ratio < 1.6                                       # seen 1.01
    assert np.median(ses) < 0.2 * out1["mc_se"]                    # seen 0.073
