"""Plots on the Agg backend: what is drawn (points, intervals, labels), and the missing extra."""
import builtins
import warnings

import numpy as np
import pytest

import mcglmm as mc

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


def test_caterpillar_draws_every_effect_with_its_interval(salamander_laplace):
    axes = salamander_laplace.plot_random_effects()
    assert len(axes) == 2
    re = salamander_laplace.random_effects()
    for ax, level in zip(axes, ["male", "female"]):
        points = np.asarray(ax.lines[0].get_xdata(), dtype=float)
        assert len(points) == 60
        np.testing.assert_allclose(points, np.sort(re.loc[level, "_cons"].to_numpy()))
        segments = ax.collections[0].get_segments()          # the error bars
        assert len(segments) == 60
        widths = sorted(s[1, 0] - s[0, 0] for s in segments)
        np.testing.assert_allclose(widths, sorted(2 * 1.959964 * re.loc[level, "se(_cons)"]),
                                   rtol=1e-6)
        assert ax.get_ylabel() == level and ax.get_xlabel() == "_cons (95% interval)"
    matplotlib.pyplot.close("all")


def test_caterpillar_on_given_axes_and_one_term(pig_fit):
    fig, ax = matplotlib.pyplot.subplots()
    assert pig_fit.plot_random_effects(level=90, ax=ax) is ax
    assert len(ax.get_yticklabels()) == 48 and ax.get_xlabel() == "_cons (90% interval)"
    with pytest.raises(ValueError, match="ax must be 1 Axes"):
        pig_fit.plot_random_effects(ax=[ax, ax])
    matplotlib.pyplot.close("all")


def test_residual_plot_draws_one_point_per_row(contraception_i):
    ax = contraception_i.plot_residuals("deviance")
    offsets = ax.collections[0].get_offsets()
    assert offsets.shape == (1934, 2)
    np.testing.assert_allclose(offsets[:, 1], contraception_i.residuals("deviance"))
    assert ax.get_ylabel() == "deviance residual" and ax.get_xlabel() == "fitted mean"
    matplotlib.pyplot.close("all")


def test_missing_matplotlib_names_the_extra(monkeypatch, pig_fit):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"pip install 'mcglmm\[plot\]'"):
        pig_fit.plot_residuals()


def test_glmm_caterpillar_has_one_panel_per_component(glmm_fit):
    axes = glmm_fit.plot_random_effects()
    assert [a.get_ylabel() for a in axes] == ["F", "M"]
    assert [len(a.lines[0].get_xdata()) for a in axes] == [60, 60]
    matplotlib.pyplot.close("all")


def test_mcla_plot_shows_the_weights_and_the_trust_path(glmm_fit, pig_fit):
    ax = glmm_fit.plot_mcla()
    counts = sum(patch.get_path().vertices.shape[0] > 0 for patch in ax.patches)
    assert counts >= 1
    v = np.asarray(glmm_fit.post.importance()[1])
    v = np.unique(v[:, None] if v.ndim == 1 else v, axis=1)      # one column per block
    ess = (1 / (v ** 2).sum(axis=0)).min()
    assert ax.get_title() == f"importance weights, m = 200, min ESS {ess:.1f}"
    assert ax.get_xlabel() == "log10(m x weight)"
    with pytest.raises(ValueError, match="an MCLA fit"):
        pig_fit.plot_mcla()
    matplotlib.pyplot.close("all")


def test_mcla_plot_with_debug_draws_the_trust_path():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mc.glmm("Mate ~ 0 + Cross", ["0 + Female", "0 + Male"], ["F", "M"],
                      mc.datasets.load("salamander"), mc.bernoulli_glmm, m=200, seed=1,
                      debug=True)
    axes = fit.plot_mcla()
    values = [step.value for step in fit.debug["trust_path"]]
    np.testing.assert_allclose(axes[1].lines[0].get_ydata(), values)
    assert axes[1].get_xlabel() == "trust iteration"
    matplotlib.pyplot.close("all")
