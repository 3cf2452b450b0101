"""One boundary rule for a variance at zero (results.diagnostics), the same on every scale."""
import numpy as np
import pandas as pd
import pytest

import mcglmm as mc
from mcglmm.results.diagnostics import AT_ZERO, SD_AT_ZERO, at_zero, boundary_messages


@pytest.mark.parametrize("scale, to_scale", [("sd", lambda s: s), ("variance", np.square),
                                             ("log_sd", np.log)])
def test_the_threshold_is_one_standard_deviation_on_every_scale(scale, to_scale):
    assert to_scale(SD_AT_ZERO) == pytest.approx(AT_ZERO[scale], rel=1e-15)
    sds = SD_AT_ZERO * np.array([0.5, 1 - 1e-9, 1 + 1e-9, 2.0])
    np.testing.assert_array_equal(at_zero(to_scale(sds), scale), [True, True, False, False])


def test_the_unit_scales_the_threshold():
    """A Gaussian model's random sd is compared with the residual sd."""
    assert at_zero([0.05 ** 2], "variance", unit=10.0)[0]
    assert not at_zero([0.05 ** 2], "variance", unit=1.0)[0]


def test_a_negative_variance_counts_as_zero():
    assert at_zero([-1e-9], "variance")[0]


def test_an_unknown_scale_is_refused():
    with pytest.raises(ValueError, match="scale must be one of"):
        at_zero([1.0], "precision")


def test_messages_name_only_the_values_at_zero():
    messages = boundary_messages(["a", "b"], [1e-6, 0.5], "variance")
    assert len(messages) == 1 and messages[0].startswith("variance component 'a' is at its "
                                                         "boundary, (nearly) zero (variance 1e-06")


def test_meglm_boundary_names_the_reported_variance():
    """No group effect in the data: var(_cons) goes to its bound, one warning naming it."""
    rng = np.random.default_rng(4)
    g = np.repeat(np.arange(50), 10)
    x = rng.normal(size=500)
    y = (rng.uniform(size=500) < 1 / (1 + np.exp(-(0.2 + 0.5 * x)))).astype(int)
    with pytest.warns(mc.BoundaryWarning) as record:
        fit = mc.meglm("y ~ x + (1 | g)", data=pd.DataFrame({"y": y, "x": x, "g": g}),
                       family="bernoulli")
    texts = [str(w.message) for w in record if issubclass(w.category, mc.BoundaryWarning)]
    assert texts == boundary_messages(["g:var(_cons)"], [fit.b["g:var(_cons)"]], "variance")
    assert fit.warnings == tuple(texts)


def test_lr_boundary_is_the_same_rule(lr2_fit):
    """sd 0.005 is at zero, 0.02 is not, on lr's scale as on the others."""
    from mcglmm.results.lr import LRFit

    def fit_at(sigma):
        theta = np.append(lr2_fit.theta[:2], np.log(sigma))
        return LRFit.from_estimates(theta, lr2_fit.gradient, -np.linalg.inv(lr2_fit.cov),
                                    lr2_fit.loglik, True, 1, "converged",
                                    formula=lr2_fit.formula, x_names=lr2_fit.x_names,
                                    n_units=lr2_fit.n_units, quad_pts=8, n_dropped=0)
    with pytest.warns(mc.BoundaryWarning, match="'sigma' is at its boundary"):
        assert len(fit_at(0.005).warnings) == 1
    assert fit_at(0.02).warnings == ()
