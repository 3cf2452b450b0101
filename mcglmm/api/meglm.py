"""meglm(): Stata's multilevel GLM by adaptive quadrature or the Laplace approximation.

The front only chains stages: check options -> family row -> formula split ->
design arrays and grouping levels -> fixed-effects fit (start values, LR
comparison) -> start grid for the variances -> Newton on the quadrature or
Laplace log likelihood -> ``MEGLMResults``.
"""
from __future__ import annotations

import inspect
import warnings
from dataclasses import replace

import numpy as np

from .._checks import (BINARY, LAPLACE_METHODS, flag, meglm_arguments,
                       quadrature_work, response_kind)
from ..design.scaling import ColumnScaling
from ..design.levels import build_levels, estimation_sample_check, joint_z, me_arrays
from ..design.weights import level_weights, weight_columns, weight_spec
from ..engines.quadrature.blocks import largest_block_rows
from ..engines.quadrature.laplace_scores import independent_blocks
from ..model.covariance import admissible, constraint_terms, per_level
from ..model.params import internal_names, theta_lower
from ..model.spec import MEModel
from ..engines import fixed
from ..optim.constraints import maximize, parse_constraints
from ..optim.convergence import convergence_message
from ..optim.newton import Criterion
from ..optim.numdiff import numerical
from ..optim.techniques import maximize_options, refuse_bhhh
from ..engines.quadrature.objective import Objective, StartSearch
from ..exceptions import ConvergenceWarning, bad_value
from ..design.evaluate import vector
from ..formula import formula_offset, split_formula
from ..model.families import get_family
from ..parallel import single_threaded_blas
from ..progress import ConvergenceBar
from ..results.base import FitWarnings
from ..results.display_options import FLAGS, FORMATS, DisplayOptions
from ..results.meglm import MEGLMResults, start_values_series
from ..results.post_source import attach, meglm_source
from ..results.meglm_stored import cmdline, offset_label
from .meglm_checks import check_options, eform_label, integration, parse_vce
from .meglm_start import fixed_start, from_vector, grid_search, start_method, start_theta

def cluster_index(model, frame, clustvar):
    """(B,) cluster of each independent block and the number of clusters.

    The blocks (``laplace_scores.independent_blocks``) are the top-level groups of a nested
    model and the connected components of a crossed one's groups.  vce robust: the blocks
    themselves; ("cluster", var): var must be constant within each block (a coarser
    grouping, as Stata requires).  A sandwich needs at least 2 clusters.
    """
    obs_block, _, n_blocks = independent_blocks(model)
    where = (f"the groups of the top level {model.levels[0].name!r}" if model.nested else
             "the independent blocks of the crossed design (its groups linked by shared "
             "observations)")
    if clustvar is None:
        if n_blocks < 2:
            raise ValueError(bad_value("vce", f"'oim' or 'opg': {where} form one cluster",
                                       "robust"))
        return np.arange(n_blocks), n_blocks
    codes = frame.groupby(clustvar, sort=True, observed=True).ngroup().to_numpy()
    first = np.full(n_blocks, -1)
    first[obs_block[::-1]] = codes[::-1]
    if np.any(first[obs_block] != codes):
        raise ValueError(bad_value("vce", f"a cluster variable constant within {where}",
                                   ("cluster", clustvar)))
    if codes.max() < 1:
        raise ValueError(bad_value("vce", "a cluster variable with at least 2 clusters",
                                   ("cluster", clustvar)))
    return first, int(codes.max()) + 1


def build_model(formula, data, family, covariance, noconstant, offset, exposure, trials,
                weights=(None, {}), extra_cols=(), collinear=False, asis=False,
                constraints=None):
    """(MEModel, MEArrays) for a formula and data; weights: ``design.weights.weight_spec``;
    extra_cols: further columns whose missing values drop a row (a cluster variable);
    collinear: keep collinear fixed-effects columns; asis: keep covariates predicting a
    binary response perfectly (else omitted with their rows, as Stata's logit);
    constraints: those naming variance components restrict the covariances."""
    fixed, terms = split_formula(formula)
    kind, spec = weights
    absent = [c for c in weight_columns(spec) if c not in getattr(data, "columns", ())]
    if absent:
        raise ValueError(bad_value(kind, "columns of data or vectors", absent[0]))
    arr = me_arrays(fixed, terms, data, family.aux.ordinal, noconstant,
                    offset=offset, exposure=exposure, trials=trials,
                    extra_cols=weight_columns(spec) + list(extra_cols), collinear=collinear,
                    perfect=response_kind(family) == BINARY and not asis)
    family.check(arr.y, arr.ntrials)
    levels, nested = build_levels(terms, arr.frame, formula)
    covariances = per_level(covariance, levels, constraints)
    n_aux = family.aux.count(len(arr.categories))
    lw = level_weights(kind, spec, levels, arr.frame, arr.keep, len(data), nested)
    const = family.constant(arr.y, arr.ntrials)
    const = const if lw is None else const * lw.cum_obs
    model = MEModel(arr.y, arr.ntrials, arr.offset, arr.X, family, levels, covariances, n_aux,
                    nested, joint_z(levels), float(const.sum()), lw)
    return model, arr


def fit_fixed(model, x_names, iterate, tolerance, log=False, cns=None, ltolerance=1e-8,
              warn=True):
    """Maximum likelihood without random effects (Stata's comparison model), constrained
    by ``cns`` (``quad_constraints.Constraints`` over [beta, aux]) when given; a
    ConvergenceWarning when it does not converge (with ``warn``)."""
    crit = Criterion(lambda t: fixed.loglik(model, t),
                     (lambda t: fixed.hessian(model, t)) if fixed.has_exact_hessian(model)
                     else None)
    fit = maximize(lambda t, final: crit, fixed_start(model, x_names), None, cns,
                   iterate=iterate, tolerance=tolerance, ltolerance=ltolerance, log=log)
    if warn and not fit.converged:
        warnings.warn(f"the fixed-effects comparison model did not converge in {fit.iterations} "
                      f"iterations: {fit.message}; its log likelihood and the LR test against "
                      "it are unreliable.", ConvergenceWarning, stacklevel=4)
    return fit


def meglm(formula, data, family="gaussian", link=None, *, covariance="independent",
          intmethod=None, intpoints=None, noconstant=False, offset=None, exposure=None,
          trials=None, dispersion="mean", fweight=None, iweight=None, pweight=None,
          constraints=None, startvalues="fixedonly", startgrid=None, from_=None,
          noestimate=False, vce="oim", level=95, eform=False, or_=False, irr=False,
          iterate=100, tolerance=1e-8, log=False,
          technique="nr", difficult=False, ltolerance=1e-8, nrtolerance=1e-10,
          nonrtolerance=False, showtolerance=False, trace=False, gradient=False,
          showstep=False, hessian=False, dnumerical=False,
          collinear=False, asis=False, progress=False,
          noheader=False, nogroup=False, notable=False, nocnsreport=False, noci=False,
          nopvalues=False, noomitted=False, baselevels=False, coeflegend=False, cformat=None,
          pformat=None, sformat=None):
    """Fit a multilevel generalized linear model by maximum likelihood, as Stata's meglm.

    Parameters
    ----------
    formula : str
        lme4-style: ``"y ~ x + (1 + x | g) + (1 | g/h)"``; ``(0 + x | g)`` drops the
        term's intercept; ``a/b`` nests b in a; ``cbind(s, f) ~`` for binomial counts;
        ``offset(expr)`` is offset=; ``(1 | _all:R.x)`` is Stata's ``|| _all: R.x``, the
        model of ``(1 | x)`` named ``_all>x`` (``mcglmm.formula``).
    data : pandas.DataFrame
        Rows with a missing value in any used variable are dropped.
    family, link : str
        Stata's names and allowed pairs (the rows of ``model.families.FAMILIES``); link defaults as Stata.
    covariance : str, tuple or dict
        independent (default), exchangeable, identity or unstructured; Stata's
        fixed(matname) and pattern(matname) as ``("fixed", M)`` and ``("pattern", M)``,
        M a (d, d) array or DataFrame over the level's random effects in the table's
        order, NaN where Stata's matrix is missing (fixed: the other entries are fixed
        at their values; pattern: entries with the same value are equal); a dict maps
        groupings ("g", "g:h") to structures (``model.covariance.levels``).
    intmethod, intpoints : str, int
        mvaghermite (default), mcaghermite, ghermite or laplace (the default for crossed
        models, which also take mcaghermite: a k^q-point rule over all q random effects at
        their joint mode, ``engines.quadrature.joint``); pcaghermite and pclaplace,
        mcaghermite and laplace with the mode and curvature found level by level
        (Pinheiro-Chao; nested models, bernoulli/binomial logit and poisson only); points per
        dimension, default 7.
    noconstant, offset, exposure, trials, dispersion
        As Stata: no fixed intercept; an offset or exposure (column name or vector);
        binomial trials (number or column); nbinomial dispersion "mean" or "constant".
    fweight, iweight, pweight : str, vector or dict
        One type of weight: observation-level weights (a column or vector, Stata's
        [pw=w]), or a dict keyed by groupings ("school") and "_n" (observations), e.g.
        ``pweight={"_n": "w1", "school": "w2"}`` (Stata's || school:, pweight(w2)).
        Group weights must be constant within their groups; not with the Laplace
        approximation or crossed models.  pweights imply vce="robust".
    constraints : str or list of str
        Linear equality constraints on coefficients and cut points, e.g. ``"x = 0.5"``,
        ``"[y]x1 = [y]x2"``, ``"2*x1 - x2 = 1"``; on variance components in Stata's names,
        one fixed or two of a level equal: ``"var(x[g]) = 0.5"`` (also
        ``"[var(x[g])]_cons = 0.5"``), ``"var(x[g]) = var(_cons[g])"``,
        ``"cov(_cons[g],x[g]) = 0"``.  They hold exactly on the reported scale.
    startvalues, startgrid, from_, noestimate
        fixedonly (default), constantonly, zero or iv; a grid search over variances
        (True: 0.1, 1, 10 for every variance; a list of values; a dict {term: values}
        with terms as the table's "g:var(x)", "g:cov(_cons,x)" or Stata's "x[g]",
        "cons[g]*x[g]"); from_: Stata's from(b), named like e(b) (``res.b``), or theta by position
        (``res.theta``); noestimate=True returns the start values (a Series) without fitting.
    vce : str or tuple
        "oim"; "opg" (the inverse outer product of the per-cluster scores, clusters as for
        "robust"); "robust" (clustered at the top level, or for a crossed model at its
        independent blocks: groups linked by shared observations) or ("cluster", column)
        for a coarser grouping.
    level, eform, or_, irr
        Confidence level and exponentiated fixed effects (also selectable at print time).
    iterate, tolerance, log
        Newton iterations; tolerance on the coefficients' relative change; print the log.
    technique, difficult, ltolerance, nrtolerance, nonrtolerance, dnumerical
        Stata's maximize options (``optim.techniques``): "nr", "bhhh" (quadrature only),
        "dfp", "bfgs" or a cycled schedule "bhhh 5 nr 10"; the split step where not
        concave; tolerances on the log likelihood and on g (-H)^-1 g' (1e-10; Stata 1e-5)
        and ignoring the latter; central-difference derivatives (``optim.numdiff``).
        ``startvalues=("fixedonly", 5)`` (or "fixedonly, iterate(5)") limits the fixed
        fit giving fixedonly's or iv's start values (not the LR comparison model).
    showtolerance, trace, gradient, showstep, hessian
        With log=True, per full-model iteration: the convergence measure, the parameters,
        the gradient, each step-halving trial, the negative Hessian.
    collinear, asis
        As Stata: keep collinear fixed-effects columns (by default each is omitted with
        "note: x omitted because of collinearity" and listed in ``omitted``); keep a
        covariate that predicts a binary response perfectly (by default a two-valued one is
        omitted with the rows it determines, as Stata's logit, and complete separation by a
        continuous one is refused).
    progress : bool
        A tqdm bar of the full model's fit: the digits to which the log likelihood has
        settled, against those the tolerance asks for (``mcglmm.progress``).
    noheader, nogroup, notable, nocnsreport, noci, nopvalues, noomitted, baselevels, coeflegend,
    cformat, pformat, sformat
        Stata's reporting and display options (``results.display_options``), stored and
        applied to ``print(res)`` and ``res.summary()``, which may override them.

    Returns
    -------
    MEGLMResults
        Stata's stored results as attributes, ``table`` (r(table)) and ``summary()``.

    BLAS runs on one thread: the products here are small, and OpenBLAS's threads
    make them many times slower on a busy 2-core machine (see ``parallel``).
    """
    typed = {k: v for k, v in locals().items() if k not in ("formula", "data")}
    typed_formula = formula
    startvalues, sv_iterate = start_method(startvalues)
    newton = maximize_options(technique, difficult, ltolerance, nrtolerance, nonrtolerance,
                              dict(showtolerance=showtolerance, trace=trace,
                                   gradient=gradient, showstep=showstep, hessian=hessian))
    (data, intpoints, level, iterate, tolerance, noconstant, noestimate, eform, or_, irr,
     log) = meglm_arguments(formula, data, family, link, intmethod, intpoints, startvalues,
                            dispersion, level, iterate, tolerance, noconstant, noestimate, eform,
                            or_, irr, log)
    formula, offset, offset_text = _formula_offset(formula, data, offset)
    opts = dict(family=family, link=link, covariance=covariance, intmethod=intmethod,
                intpoints=intpoints, noconstant=noconstant, offset=offset, exposure=exposure,
                trials=trials, dispersion=dispersion, weights=(fweight, iweight, pweight),
                constraints=constraints, startvalues=startvalues, startgrid=startgrid,
                from_=from_, noestimate=noestimate, vce=vce, level=level, eform=eform, or_=or_,
                irr=irr, iterate=iterate, tolerance=tolerance, log=log,
                newton=newton, sv_iterate=sv_iterate, dnumerical=flag("dnumerical", dnumerical),
                collinear=flag("collinear", collinear), asis=flag("asis", asis),
                progress=flag("progress", progress))
    display = DisplayOptions.given(**{k: typed[k] for k in FLAGS + tuple(FORMATS)})
    info = dict(cmdline=cmdline(typed_formula, _given(typed)),
                offset=offset_label(offset_text or offset, exposure),
                display=display)
    with single_threaded_blas(), FitWarnings() as record:
        return _meglm(formula, data, record=record, info=info, **opts)


def _formula_offset(formula, data, offset):
    """(formula without offset(expr), the offset, its e(offset) text or None): offset(expr)
    in the formula is offset= (a column name, or the expression evaluated on the rows)."""
    formula, expr = formula_offset(formula)
    if expr is None:
        return formula, offset, None
    if offset is not None:
        raise ValueError(bad_value("offset", "None when the formula has an offset() term",
                                   offset))
    if expr in getattr(data, "columns", ()):
        return formula, expr, expr
    return formula, vector(expr, data, "offset() of formula"), expr


def _given(opts):
    """The options as typed (name -> value) differing from meglm's defaults (e(cmdline) lists only those)."""
    defaults = {k: v.default for k, v in inspect.signature(meglm).parameters.items()}
    return {k: v for k, v in opts.items() if not _same(v, defaults.get(k))}


def _same(a, b):
    """Whether an option equals its default (False for arrays and other uncomparable values)."""
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _meglm(formula, data, *, family, link, covariance, intmethod, intpoints, noconstant, offset,
           exposure, trials, dispersion, weights, constraints, startvalues, startgrid, from_,
           noestimate, vce, level, eform, or_, irr, iterate, tolerance, log, collinear, asis,
           progress, record, newton, sv_iterate, dnumerical, info=None):
    """The stages of meglm(), in order; ``record`` the open ``results.base.FitWarnings``."""
    check_options(intmethod, intpoints, vce, level, iterate, tolerance, startvalues, startgrid)
    wkind, wspec = weight_spec(*weights)
    if wkind is not None and intmethod in LAPLACE_METHODS:
        raise ValueError(bad_value(wkind, "None with the Laplace approximation (Stata allows "
                                   "weights only with quadrature)", "weights"))
    vce_kind, clustvar = parse_vce(vce)
    if wkind == "pweight" and vce_kind == "oim":
        vce_kind = "robust"
    if wkind == "pweight" and vce_kind == "opg":
        raise ValueError(bad_value("vce", "'robust' or ('cluster', column) with pweights", vce))
    fam = get_family(family, link, dispersion)
    if fam.has_trials and trials is None and "cbind(" not in formula.split("~")[0]:
        trials = 1.0
    if not fam.has_trials and trials is not None:
        raise ValueError(bad_value("trials", "None unless family='binomial'", trials))
    if clustvar is not None and clustvar not in getattr(data, "columns", ()):
        raise ValueError(bad_value("vce", "('cluster', a column of data)", vce))
    model, arr = build_model(formula, data, fam, covariance, noconstant, offset, exposure, trials,
                             (wkind, wspec), [clustvar] if clustvar else [], collinear, asis,
                             constraints)
    estimation_sample_check(fam, arr, asis)
    intmethod, k, notes = integration(model, intmethod, intpoints)
    if intmethod in LAPLACE_METHODS or dnumerical:
        refuse_bhhh(newton["technique"], "the Laplace approximation or dnumerical")
    quadrature_work(model, intmethod, k,
                    largest_block_rows(model) if model.nested else len(model.y))
    if vce_kind != "oim" and intmethod == "pclaplace":
        raise ValueError(bad_value("vce", "'oim' with intmethod='pclaplace' (robust, cluster and "
                                   "opg: intmethod='laplace')", vce))
    if vce_kind != "oim" and not model.nested and intmethod != "laplace":
        raise ValueError(bad_value("vce", "'oim' with quadrature on a crossed model (robust, "
                                   "cluster and opg: intmethod='laplace')", vce))
    clusters = (cluster_index(model, arr.frame, clustvar) if vce_kind in ("robust", "cluster")
                else None)
    names = internal_names(model, arr.x_names)
    aux_names = names[model.p:model.p + model.n_aux]
    cns = parse_constraints(constraints, arr.x_names, aux_names, arr.y_name, model.dim,
                            constraint_terms(model))
    cns_fixed = parse_constraints(constraints, arr.x_names, aux_names, arr.y_name,
                                  model.p + model.n_aux)
    sc = ColumnScaling.of(model.X)          # the optimisers' centred, scaled X (design.scaling)
    inner = replace(model, X=sc.apply(model.X))
    theta_from = None if from_ is None else from_vector(from_, model, names, list(arr.x_names),
                                                        arr.y_name, sc)
    if log:
        print("".join(f"note: {note}.\n" for note in notes) + "Fitting fixed-effects model:")
    ltol = newton["ltolerance"]
    cns_fixed_inner = sc.constraints(cns_fixed)
    fixed_fit = fit_fixed(inner, list(arr.x_names), iterate, tolerance, log, cns_fixed_inner,
                          ltol)
    start_fit = fixed_fit if sv_iterate is None else fit_fixed(
        inner, list(arr.x_names), sv_iterate, tolerance, False, cns_fixed_inner, ltol, warn=False)
    search = StartSearch(inner, intmethod, k)
    theta0 = start_theta(inner, start_fit, list(arr.x_names), startvalues, theta_from,
                         search.value, log)
    if cns is not None:
        theta0 = sc.constraints(cns).project(theta0)
    if startgrid is not None:
        theta0 = grid_search(inner, theta0, startgrid, search.value, log, arr.y_name)
    if noestimate:
        return start_values_series(model, arr, sc.to_user(theta0), names)
    if log:
        print("Fitting full model:")
    objective = Objective(inner, intmethod, k, search.state)
    bar = ConvergenceBar(ltol, echo=print if log else None) if progress else None
    fit = maximize(numerical(objective.refresh) if dnumerical else objective.refresh, theta0,
                   theta_lower(inner), sc.constraints(cns), admissible(inner), iterate=iterate,
                   tolerance=tolerance, log=log or bool(progress),
                   names=None if cns is not None else names,
                   **newton, **({"printer": bar} if bar else {}))
    if bar:
        bar.close(fit.converged)
    scores = sc.gradient_to_user(objective.scores(fit.theta)) if vce_kind != "oim" else None
    g_theta = None if cns is None else sc.gradient_to_user(
        objective.refresh(fit.theta, True).value_grad(fit.theta)[1])
    _check_claim(fit, names if cns is None else None)
    fit = sc.result_to_user(fit, constrained=cns is not None)
    fixed_fit = sc.result_to_user(fixed_fit, constrained=cns_fixed is not None)
    res = MEGLMResults.from_fit(model=model, arrays=arr, fit=fit, fixed_fit=fixed_fit,
                                intmethod=intmethod, n_quad=k, names=names, notes=tuple(notes),
                                vce=(vce_kind, clustvar), scores=scores, clusters=clusters,
                                level=level, eform=eform_label(eform, or_, irr), cns=cns,
                                record=record, gradient=g_theta, info=info)
    return attach(res, meglm_source(res, model, arr, formula, noconstant, offset, exposure, trials))


def _check_claim(fit, names):
    """A ConvergenceWarning when Newton's convergence fails the scaled-gradient check
    (``optim.convergence``); names None: the free coordinates of constraints."""
    if fit.converged:
        message = convergence_message(fit.grad, fit.hess, names or [
            f"free coordinate {j}" for j in range(len(fit.grad))])
        if message:
            warnings.warn("meglm: " + message, ConvergenceWarning, stacklevel=4)


__all__ = ["meglm", "build_model"]
