"""meglm's reporting and display options, given at fit time (stored) or on replay.

Stata's names ([R] Estimation options, the manual's "Reporting"):

    noheader     no header (notes, model, groups, tests)
    nogroup      no group lines in the header
    notable      no estimation table (nor its notes and LR test)
    nocnsreport  no constraint lines
    noci         no confidence-interval columns
    nopvalues    no z and P>|z| columns
    noomitted    no rows for omitted (collinear) covariates, ``o.x  0  (omitted)``
    baselevels   rows for the base levels of factor covariates, ``0.x  0  (base)``
    coeflegend   each coefficient with its name for expressions, ``_b[x]``, instead of
                 the statistics
    cformat, pformat, sformat
                 Stata formats (%w.df, %w.dg, %w.de; ``format.StataFormat``) of the
                 coefficients, standard errors and limits (w <= 9, default %9.0g), of the
                 p-values (w <= 5, default %5.3f) and of the z statistics (w <= 8,
                 default %8.2f)

``DisplayOptions.given(**options)`` checks the options as typed (None: not given);
``merged`` lays options given on replay over those stored at the fit.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from .._checks import flag
from .format import StataFormat

FLAGS = ("noheader", "nogroup", "notable", "nocnsreport", "noci", "nopvalues", "noomitted",
         "baselevels", "coeflegend")
FORMATS = {"cformat": ("%9.0g", 9), "pformat": ("%5.3f", 5), "sformat": ("%8.2f", 8)}


@dataclass(frozen=True)
class DisplayOptions:
    """The options of the module doc; None is "not given" (the default applies)."""

    noheader: bool = None
    nogroup: bool = None
    notable: bool = None
    nocnsreport: bool = None
    noci: bool = None
    nopvalues: bool = None
    noomitted: bool = None
    baselevels: bool = None
    coeflegend: bool = None
    cformat: StataFormat = None
    pformat: StataFormat = None
    sformat: StataFormat = None

    @classmethod
    def given(cls, **options):
        """Checked options: flags True/False (TypeError otherwise), formats parsed
        (ValueError naming the option); None left as not given."""
        out = {}
        for name, value in options.items():
            if value is None:
                continue
            if name in FORMATS:
                out[name] = StataFormat.parse(name, value, FORMATS[name][1])
            else:
                out[name] = flag(name, value)
        return cls(**out)

    def merged(self, later):
        """These options with those given in ``later`` (a DisplayOptions) laid over them."""
        return DisplayOptions(**{f.name: getattr(self, f.name) if getattr(later, f.name) is None
                                 else getattr(later, f.name) for f in fields(self)})

    def on(self, name):
        """Whether flag ``name`` is set."""
        return bool(getattr(self, name))

    def format(self, name):
        """The StataFormat of cformat, pformat or sformat (the default when not given)."""
        value = getattr(self, name)
        return value if value is not None else StataFormat.parse(name, *FORMATS[name])


NO_OPTIONS = DisplayOptions()

__all__ = ["DisplayOptions", "FLAGS", "FORMATS", "NO_OPTIONS"]
