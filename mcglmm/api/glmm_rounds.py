"""The rounds of an MCLA fit: sample, maximise, re-centre, and (for m="auto") grow m.

A round builds a proposal centred at the current estimate, draws from it, and
maximises the Monte Carlo likelihood of those draws with trust.  The default
method (``"blocks"``) runs ``recentre`` pilot rounds of ``pilot_m`` draws, each
centred at the previous round's MCMLE (the first at the start: PQL), then the
final round of m draws, whose draws are the fit's ``umat``.  A pilot round whose
smallest per-block ESS is small (``ess_is_small``: the MonteCarloWarning's rule) is no
centre to trust -- its MCMLE can be far off (salamander, 100 seeds: two last pilots kept
ESS 1.4 and 4.1 of 1000 and left final MCSEs 1.7 to 3 times the median) -- so further
pilot rounds follow it, at most 2 ``recentre`` pilots in all.  With m = "auto" the
final round is repeated, each time re-centred and with fresh draws, m growing
geometrically (Booth & Hobert's rule: m_next = m (r / target)^2 times a margin,
between 2 and 16 times m) until the largest MCSE / SE ratio r is at most the
target, or m reaches the memory cap.  R glmm's method (``"glmm"``) is one round
of its joint mixture centred at PQL.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..engines.mcla.mcse import mc_vcov
from ..engines.mcla.objective import MCLAObjective
from ..engines.mcla.sampler import SamplerInputs, block_proposal

T_WEIGHT = 0.5               # weight of the t component in the per-block proposal
AUTO_START = 1000            # first m tried by m="auto"
AUTO_MARGIN = 1.25           # grow a little past the predicted m
AUTO_GROWTH = (2.0, 16.0)    # smallest and largest factor between two m's
ESS_SMALL = 10.0             # a block's ESS below max(ESS_SMALL, ESS_SMALL_FRACTION m) is small
ESS_SMALL_FRACTION = 0.05


def ess_is_small(ess, m):
    """Whether an effective sample size of m draws is too small to trust."""
    return ess < max(ESS_SMALL, ESS_SMALL_FRACTION * m)


@dataclass(frozen=True)
class Round:
    """One round: its m, draws U (m, q) and log f~ (m, B), objective, trust result and the
    proposal's centre (q,).  A superseded round keeps only m, opt and centre (``summary``):
    its draws and stored Z u may take half of the memory budget."""

    m: int
    U: np.ndarray | None
    logq: np.ndarray | None
    objective: MCLAObjective | None
    opt: object
    centre: np.ndarray

    @property
    def min_ess(self):
        return float(np.min(self.opt.evaluation.ess))

    def summary(self):
        return replace(self, U=None, logq=None, objective=None)


def mcse_ratio(evaluation):
    """max over parameters of MCSE / SE at ``evaluation``; inf if the Hessian is not
    negative definite."""
    try:
        np.linalg.cholesky(-evaluation.hessian)
    except np.linalg.LinAlgError:
        return np.inf
    se = np.sqrt(np.diag(np.linalg.inv(-evaluation.hessian)))
    mcse = np.sqrt(np.abs(np.diag(mc_vcov(evaluation))))
    return float(np.max(mcse / se))


@dataclass(frozen=True)
class RoundRunner:
    """What every round shares: model, blocks, the trust call, seed, workers, budget."""

    design: object
    family: object
    blocks: object
    gram: object
    zeta: float
    seed: int
    n_jobs: int
    budget: int
    maximize: object          # (objective, theta0) -> OptimizeResult

    def run(self, index, m, theta, centre_u):
        """Round ``index``: m draws centred at the conditional mode at theta (search from
        centre_u), trust from theta."""
        p = self.design.p
        inputs = SamplerInputs(beta=theta[:p], nu=theta[p:], u=centre_u)
        proposal, _ = block_proposal(self.design, self.family, self.blocks, inputs, T_WEIGHT,
                                     self.zeta, self.gram)
        U, logq = proposal.draw(m, self.seed, index, self.n_jobs)
        objective = MCLAObjective.build(self.design, self.family, U, logq, n_jobs=self.n_jobs,
                                        memory_budget=self.budget, blocks=self.blocks)
        return Round(m, U, logq, objective, self.maximize(objective, theta), proposal.centre)


def memory_cap(design, blocks, budget):
    """The largest m whose draws U, log f~ and log weights fit half of ``budget`` bytes."""
    return max(AUTO_START, int(budget // 2 // (8 * (design.q + 2 * blocks.n_blocks))))


def next_m(m, ratio, target, cap):
    """Booth & Hobert's geometric growth of m toward MCSE / SE = target."""
    low, high = AUTO_GROWTH
    factor = np.clip(AUTO_MARGIN * (ratio / target) ** 2, low, high) if np.isfinite(ratio) else high
    return int(min(cap, np.ceil(m * factor)))


def _another_pilot(pilots, recentre, pilot_m):
    """Whether to run one more pilot round: fewer than ``recentre`` so far, or the last one's
    ESS is small and fewer than 2 ``recentre`` have run."""
    if len(pilots) < recentre:
        return True
    return len(pilots) < 2 * recentre and ess_is_small(pilots[-1].min_ess, pilot_m)


def run_rounds(runner, theta0, centre_u, m, pilot_m, recentre, mcse_target, cap):
    """(pilot rounds, final rounds, auto path) of a "blocks" fit; the last final round is the
    fit.  ``m`` an int or "auto"; the path lists (m, max MCSE/SE) per final round."""
    theta, centre, index = np.asarray(theta0, dtype=float), centre_u, 0
    pilots = []
    while _another_pilot(pilots, recentre, pilot_m):
        pilots.append(runner.run(index, pilot_m, theta, centre).summary())
        theta, centre, index = pilots[-1].opt.argument, pilots[-1].centre, index + 1
    finals, path = [], []
    size = AUTO_START if m == "auto" else m
    while True:
        if finals:
            finals[-1] = finals[-1].summary()
        finals.append(runner.run(index, size, theta, centre))
        ratio = mcse_ratio(finals[-1].opt.evaluation)
        path.append((size, ratio))
        if m != "auto" or ratio <= mcse_target or size >= cap:
            return pilots, finals, tuple(path)
        theta, centre, index = finals[-1].opt.argument, finals[-1].centre, index + 1
        size = next_m(size, ratio, mcse_target, cap)
