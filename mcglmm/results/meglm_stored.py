"""The rest of meglm's stored results (Stata's e() list), derived from the model and the fit.

Counts, with Stata's e(b) equations (the fixed-effects equation named by the dependent
variable; "/" for cut points, auxiliary parameters, variances and covariances):

    k_dv = 1;  k_eq = number of those equations present;  k_eq_model = 1 (the model
    Wald test covers the fixed-effects equation);  k_f = fixed-effects coefficients;
    k_rs = variances of random effects, k_rc = their covariances, k_r = k_rs + k_rc
    (the residual variance var(e.y) and auxiliary parameters are in neither);
    k_cat, cat = number and values of the ordinal response's categories (None otherwise);
    rc = 0 when converged, Stata's 430 ("convergence not achieved") otherwise.

``gradient`` is e(gradient): the gradient of the log likelihood with respect to e(b),
g_b solving J' g_b = g_theta (J the Jacobian of b in theta; least squares when a zero
variance makes J singular).  ``V_modelbased`` is the inverse observed information on
e(b)'s scale (equal to V with vce="oim").  ``sample`` is e(sample): (len(data),) bool.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

TITLE = "Mixed-effects GLM"
NOT_CONVERGED = 430      # Stata's return code "convergence not achieved"


def _counts(rows, categories, ordinal):
    """k_dv, k_eq, k_eq_model, k_f, k_r, k_rs, k_rc, k_cat, cat."""
    kinds = [r.kind for r in rows]
    random = [r for r in rows if r.kind in ("var", "cov") and r.eq not in ("", "/")]
    k_rs = sum(r.kind == "var" for r in random)
    k_rc = len(random) - k_rs
    k_eq = int("b" in kinds) + int(any(k != "b" for k in kinds))
    return dict(k_dv=1, k_eq=k_eq, k_eq_model=1, k_f=kinds.count("b"), k_r=k_rs + k_rc,
                k_rs=k_rs, k_rc=k_rc, k_cat=len(categories) if ordinal else None,
                cat=np.asarray(categories) if ordinal else None)


def gradient_on_b(J, g_theta, names):
    """e(gradient): g_b (k,) with J' g_b = g_theta (J (k, dim)), a Series named as e(b)."""
    g_b = np.linalg.lstsq(J.T, np.asarray(g_theta, dtype=float), rcond=None)[0]
    return pd.Series(g_b, index=names)


def stored_fields(model, arrays, fit, rows, J, g_theta, V_oim, info):
    """The fields of ``MEGLMResults`` listed in the module doc.

    J (k, dim) the Jacobian of e(b) in theta; g_theta (dim,) the gradient at the estimate;
    V_oim (dim, dim) the inverse observed information in theta; info: the front's
    ``cmdline``, ``offset`` and ``technique`` (dict; missing keys are None / "nr");
    e(technique) is the optimiser's own (``fit.technique``) when it reports one.
    """
    info = info or {}
    names = [f"{r.eq}:{r.label}" if r.eq else r.label for r in rows]
    V_mb = J @ V_oim @ J.T
    return dict(
        **_counts(rows, arrays.categories, model.family.aux.ordinal),
        rc=0 if fit.converged else NOT_CONVERGED,
        gradient=gradient_on_b(J, g_theta, names),
        V_modelbased=pd.DataFrame(V_mb, index=names, columns=names),
        sample=np.asarray(arrays.keep, dtype=bool).copy(),
        cmdline=info.get("cmdline"), title=TITLE, model=model.family.fixed_model_label,
        offset=info.get("offset"),
        technique=getattr(fit, "technique", None) or info.get("technique", "nr"),
        properties="b V")


def cmdline(formula, options):
    """e(cmdline): the call as typed, ``meglm('y ~ x + (1 | g)', data, family='poisson')``,
    listing the options given (``options``: name -> value, defaults left out); a vector
    or other non-literal value shows as ``<vector>``."""
    literal = (str, int, float, bool, tuple, list, dict, type(None))
    shown = "".join(f", {k}={v!r}" if isinstance(v, literal) else f", {k}=<vector>"
                    for k, v in options.items())
    return f"meglm({formula!r}, data{shown})"


def offset_label(offset, exposure):
    """e(offset): the offset's column name, ``ln(name)`` for an exposure, "offset" for a
    vector, None without one (both: "name + ln(name)")."""
    def label(value, wrap):
        if value is None:
            return None
        text = value if isinstance(value, str) else "offset" if wrap is None else "exposure"
        return text if wrap is None else f"ln({text})"
    parts = [p for p in (label(offset, None), label(exposure, "ln")) if p]
    return " + ".join(parts) if parts else None


__all__ = ["TITLE", "NOT_CONVERGED", "cmdline", "gradient_on_b", "offset_label",
           "stored_fields"]
