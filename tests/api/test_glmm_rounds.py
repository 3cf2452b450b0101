"""The round schedule of a "blocks" fit, on a stub runner whose rounds have chosen ESS."""
from types import SimpleNamespace

import numpy as np
import pytest

from mcglmm.api.glmm_rounds import Round, run_rounds


class StubRunner:
    """Round k has min ESS ess[k] (the last value repeated) and estimate theta + 1."""

    def __init__(self, ess):
        self.ess, self.calls = list(ess), []

    def run(self, index, m, theta, centre_u):
        self.calls.append((index, m))
        ess = self.ess[min(index, len(self.ess) - 1)]
        evaluation = SimpleNamespace(ess=np.array([ess, 1e9]), hessian=-np.eye(1),
                                     v2=np.zeros((1, 1)))
        opt = SimpleNamespace(argument=np.asarray(theta) + 1.0, evaluation=evaluation)
        return Round(m, np.zeros((m, 2)), np.zeros((m, 1)), object(), opt, centre_u)


def _schedule(ess, recentre, pilot_m=1000, m=10_000):
    runner = StubRunner(ess)
    pilots, finals, _ = run_rounds(runner, np.zeros(1), np.zeros(2), m, pilot_m, recentre,
                                   0.1, 10 ** 6)
    return runner.calls, pilots, finals


@pytest.mark.parametrize("ess, recentre, pilots", [
    ([500.0], 2, 2),                  # healthy pilots: recentre of them
    ([500.0], 0, 0),                  # no pilots at all, whatever the ESS
    ([1.0], 0, 0),
    ([500.0, 3.0, 500.0], 2, 3),      # a collapsed last pilot: one more
    ([3.0, 500.0], 2, 2),             # only the last pilot's ESS counts
    ([1.0], 2, 4),                    # never healthy: capped at 2 recentre
    ([1.0], 1, 2),
    ([500.0, 49.9, 500.0], 2, 3),     # small means below max(10, 0.05 pilot_m) = 50
    ([500.0, 50.0], 2, 2),
])
def test_pilots_follow_a_small_last_ess_up_to_twice_recentre(ess, recentre, pilots):
    calls, pilot_rounds, finals = _schedule(ess, recentre)
    assert [m for _, m in calls] == [1000] * pilots + [10_000]
    assert [i for i, _ in calls] == list(range(pilots + 1))       # fresh draws each round
    assert len(pilot_rounds) == pilots and len(finals) == 1


def test_superseded_rounds_keep_no_draws():
    _, pilots, finals = _schedule([500.0], 2)
    assert all(r.U is None and r.objective is None for r in pilots)
    assert finals[-1].U is not None and finals[-1].objective is not None
