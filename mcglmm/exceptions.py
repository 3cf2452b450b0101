"""Errors and warnings raised by mcglmm.

Every bad-input error is a ``ValueError`` or ``TypeError`` (subclassed here so
callers can catch mcglmm's own) whose message names the argument, says what is
allowed and echoes what was given.  Numerical trouble after a fit has started is
reported by warnings of the classes below, never by exceptions.
"""


class MCGLMMError(Exception):
    """Root of mcglmm's exceptions."""


class FormulaError(MCGLMMError, ValueError):
    """A model formula cannot be parsed or refers to something absent."""


class DesignError(MCGLMMError, ValueError):
    """The data do not fit the model (response values, weights, grouping)."""


class ArgumentError(MCGLMMError, ValueError):
    """An argument's value is out of its range or inconsistent with another argument."""


class ArgumentTypeError(MCGLMMError, TypeError, ValueError):
    """An argument is of the wrong type (a ``TypeError``; also a ``ValueError``, the class
    mcglmm raised for wrong types before, so either catch works)."""


class WorkTooLargeError(MCGLMMError, ValueError):
    """The requested fit needs more memory or work than the budget allows."""


class WorkerLostError(MCGLMMError, RuntimeError):
    """A parallel worker died during a fit and its task could not be re-run."""


class MCGLMMWarning(UserWarning):
    """Root of mcglmm's warnings."""


class ConvergenceWarning(MCGLMMWarning):
    """An optimiser stopped before its convergence test held."""


class HessianWarning(MCGLMMWarning):
    """The Hessian at the returned estimate is not negative definite."""


class BoundaryWarning(MCGLMMWarning):
    """An estimate lies on (or numerically at) the boundary of the parameter space."""


class MonteCarloWarning(MCGLMMWarning):
    """The importance sample is degenerate (tiny effective sample size)."""


class DesignWarning(MCGLMMWarning):
    """A note about the design, as Stata's "note:" lines: a column omitted because of
    collinearity."""


def bad_value(name, allowed, got):
    """Message in the project's one format: "`name` must be <allowed>; got <got>."."""
    return f"{name} must be {allowed}; got {got!r}."
