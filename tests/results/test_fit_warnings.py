"""FitWarnings: a fit's warnings are recorded in fit.warnings and still reach the caller."""
import warnings

import pytest

import mcglmm as mc
from mcglmm.results.base import FitWarnings


def _stage():
    warnings.warn("first", mc.ConvergenceWarning)
    warnings.warn("numpy-like", RuntimeWarning)
    warnings.warn("second", mc.BoundaryWarning)


def test_records_mcglmm_warnings_in_order_and_raises_them_again():
    with pytest.warns(Warning) as seen:
        with FitWarnings() as record:
            _stage()
            assert record.messages() == ("first", "second")
    assert [str(w.message) for w in seen] == ["first", "numpy-like", "second"]
    assert [w.category for w in seen] == [mc.ConvergenceWarning, RuntimeWarning,
                                          mc.BoundaryWarning]


def test_ignored_warnings_are_still_recorded():
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("ignore")
        with FitWarnings() as record:
            _stage()
    assert record.messages() == ("first", "second") and shown == []


def test_an_error_filter_raises_once_the_stage_has_returned():
    done = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", mc.MCGLMMWarning)
        with pytest.raises(mc.ConvergenceWarning, match="first"):
            with FitWarnings():
                _stage()
                done.append(True)
    assert done == [True]


def test_a_repeated_warning_is_shown_once_per_fit():
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("default")
        with FitWarnings() as record:
            for _ in range(3):
                warnings.warn("again", mc.HessianWarning)
    assert record.messages() == ("again",) * 3 and len(shown) == 1


def test_meglm_records_the_warnings_of_every_stage(pig_fit):
    """iterate=0: the fixed-effects comparison fit (an earlier stage) and the full fit."""
    pig = mc.datasets.load("pig").rename(columns={"id.num": "id", "num.weeks": "week"})
    with pytest.warns(mc.ConvergenceWarning):
        fit = mc.meglm("weight ~ week + (1 | id)", data=pig, iterate=0)
    assert [w[:40] for w in fit.warnings] == [
        "the fixed-effects comparison model did n", "meglm did not converge in 0 iterations: ",
        "the Hessian at the estimate is not negat"]
    assert pig_fit.warnings == ()


def test_lr_records_its_warnings(lr2_fit):
    assert lr2_fit.warnings == ()
