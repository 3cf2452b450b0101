"""glmm()'s default per-block method end to end: rounds, m="auto", diagnostics, options."""
import warnings

import numpy as np
import pytest

import mcglmm as mc


def _quiet(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mc.glmm(**kwargs)


@pytest.fixture(scope="module")
def booth_hobert():
    return mc.datasets.load("BoothHobert")


def _bh(data, **kwargs):
    return dict(fixed="y ~ 0 + x1", random="0 + z1", varcomps_names=["z1"], data=data,
                family_glmm=mc.bernoulli_glmm, seed=1, **kwargs)


def test_rounds_are_two_pilots_then_the_final_draws(salamander_model, salamander):
    fit = _quiet(**salamander_model, data=salamander, m=3000, seed=5)
    assert [(r["role"], r["m"]) for r in fit.rounds] == [("pilot", 1000), ("pilot", 1000),
                                                         ("final", 3000)]
    assert fit.method == "blocks" and fit.umat.shape == (3000, 120)
    np.testing.assert_array_equal(fit.rounds[1]["start"], fit.rounds[0]["estimates"])
    np.testing.assert_array_equal(fit.rounds[2]["start"], fit.rounds[1]["estimates"])
    np.testing.assert_array_equal(fit.rounds[-1]["estimates"], fit.estimates().to_numpy())
    assert fit.blocks.n_blocks == 6 and len(fit.ess) == 6
    assert fit.ess.index[0] == "Female[10]"
    # re-centred proposals: every block keeps most of its draws (seen 0.55 m at least)
    assert fit.ess.min() > 0.3 * fit.m


def test_a_collapsed_last_pilot_is_followed_by_another(salamander_model, salamander):
    """Seed 70's second pilot keeps 4.1 of 1000 draws in its worst block (seen): its MCMLE is
    no centre to trust, so a third pilot (244.9 seen) comes before the final round."""
    fit = _quiet(**salamander_model, data=salamander, m=10000, seed=70)
    assert [r["role"] for r in fit.rounds] == ["pilot", "pilot", "pilot", "final"]
    assert fit.rounds[1]["min_ess"] < 10 and fit.rounds[2]["min_ess"] > 50
    np.testing.assert_array_equal(fit.rounds[2]["start"], fit.rounds[1]["estimates"])
    assert fit.ess.min() > 0.3 * fit.m                          # seen 0.59 m
    once = _quiet(**salamander_model, data=salamander, m=10000, seed=70, recentre=1)
    assert [r["role"] for r in once.rounds] == ["pilot", "final"]    # its ESS 261.7: healthy


def test_summary_prints_blocks_ess_and_mcse(salamander_model, salamander):
    fit = _quiet(**salamander_model, data=salamander, m=2000, seed=5)
    text = str(fit.summary())
    assert "6 independent blocks of 20 random effects" in text
    assert f"min {fit.ess.min():.0f} (block of {fit.ess.idxmin()})" in text
    header = next(line for line in text.splitlines() if "Std. Error" in line)
    assert header.split()[:4] == ["Estimate", "Std.", "Error", "MCSE"]
    assert f"{fit.mcse().iloc[0]:.4f}" in text


def test_auto_m_stops_small_on_booth_hobert(booth_hobert):
    fit = _quiet(**_bh(booth_hobert, m="auto"))
    assert fit.m == 1000 and len(fit.m_path) == 1      # seen MCSE / SE 0.05 at m = 1000
    assert (fit.mcse() / fit.se()).max() <= 0.1
    assert 'm = "auto"' in str(fit.summary())


def test_auto_m_grows_until_the_target_holds(salamander_model, salamander):
    fit = _quiet(**salamander_model, data=salamander, m="auto", mcse_target=0.03, seed=2)
    ms = [m for m, _ in fit.m_path]
    assert len(ms) >= 2 and all(b >= 2 * a for a, b in zip(ms, ms[1:]))
    assert fit.m == ms[-1] and fit.m_path[-1][1] <= 0.03 < fit.m_path[-2][1]
    np.testing.assert_allclose((fit.mcse() / fit.se()).max(), fit.m_path[-1][1], rtol=1e-12)


def test_auto_m_warns_when_the_memory_cap_stops_it(booth_hobert):
    with pytest.warns(mc.MonteCarloWarning, match="memory cap"):
        fit = mc.glmm(**_bh(booth_hobert, m="auto", mcse_target=1e-3, memory_budget=10 ** 6))
    assert fit.m_path[-1][1] > 1e-3


def test_a_poor_block_is_named_in_the_warning(salamander_model, salamander):
    """Proposals centred at variances 0.2 (against 1.4 and 1.2) and never re-centred: the
    blocks keep 1.6 to 5.3 of m = 1000 draws (seen)."""
    with pytest.warns(mc.MonteCarloWarning, match=r"of m = 1000 in the block of (Female|Male)\["):
        fit = mc.glmm(**salamander_model, data=salamander, m=1000, seed=1, recentre=0,
                      par_init=[0, 0, 0, 0, 0.2, 0.2])
    assert fit.ess.min() < 10


@pytest.mark.parametrize("changes, match", [
    (dict(method="joint"), "method must be one of"),
    (dict(m="auto", method="glmm"), "m must be a positive integer with method"),
    (dict(m="many"), "m must be a positive integer"),
    (dict(recentre=-1), "recentre must be a non-negative integer"),
    (dict(pilot_m=0), "pilot_m must be a positive integer"),
    (dict(mcse_target=0.0), "mcse_target must be a positive number"),
])
def test_new_options_are_checked_by_name(salamander_model, salamander, changes, match):
    with pytest.raises(ValueError, match=match):
        mc.glmm(**{**salamander_model, "m": 100, **changes}, data=salamander)


def test_supplied_draws_need_the_glmm_method(salamander_model, salamander, glmm_sampler):
    with pytest.raises(ValueError, match="method must be \"glmm\" when sampler.umat"):
        mc.glmm(**salamander_model, data=salamander, sampler=glmm_sampler, method="blocks")


def test_a_model_without_random_effects_is_refused(salamander_model, salamander):
    with pytest.raises(mc.DesignError, match="random must be formulas giving at least one"):
        mc.glmm(**{**salamander_model, "random": "0", "varcomps_names": ["F"]}, data=salamander,
                m=100)
