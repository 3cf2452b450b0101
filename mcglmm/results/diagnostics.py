"""One rule for "a variance at zero", used by every front.

A random effect's standard deviation sd is reported as at its boundary, 0, when

    sd < SD_AT_ZERO * unit,

with ``unit`` the standard deviation of the scale the random effect lives on: 1 on the
link scale of a logit, probit, cloglog or log model (where sd = 0.01 moves a probability
or a mean by about 1%), the residual standard deviation in a Gaussian model.  The fronts
estimate on different scales; ``AT_ZERO`` is the same threshold on each of them (unit 1).
At such an estimate the MLE is probably 0, where the Wald standard error and interval are
not valid (the parameter is on the boundary of its space).
"""
import numpy as np

from ..exceptions import bad_value

SD_AT_ZERO = 1e-2
AT_ZERO = {"sd": SD_AT_ZERO, "variance": SD_AT_ZERO ** 2, "log_sd": float(np.log(SD_AT_ZERO))}

_TO_SD = {"sd": lambda v: v, "variance": lambda v: np.sqrt(np.maximum(v, 0.0)),
          "log_sd": np.exp}


def at_zero(values, scale, unit=1.0):
    """Whether each value (on ``scale``: a key of AT_ZERO) is a variance at zero: bool (k,)."""
    if scale not in _TO_SD:
        raise ValueError(bad_value("scale", f"one of {sorted(_TO_SD)}", scale))
    return _TO_SD[scale](np.asarray(values, dtype=float)) < SD_AT_ZERO * unit


def boundary_messages(names, values, scale, unit=1.0):
    """One BoundaryWarning message per named value at zero (list of str)."""
    where = "" if unit == 1.0 else f" times the residual standard deviation {unit:.3g}"
    return [f"variance component {name!r} is at its boundary, (nearly) zero ({scale} "
            f"{value:.3g}: a standard deviation below {SD_AT_ZERO:g}{where}): its MLE is "
            "probably 0, and its standard error and Wald interval are not valid"
            for name, value, zero in zip(names, values, at_zero(values, scale, unit)) if zero]
