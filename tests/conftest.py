"""Shared test helpers live beside this file (``printed``, ``fd``); pytest puts this folder on
sys.path. The fixtures below are Stata's variables derived from the shipped data sets."""
import pytest

import mcglmm as mc


@pytest.fixture(scope="session")
def pig():
    """Stata's pig: id = id.num, week = num.weeks."""
    return mc.datasets.load("pig").rename(columns={"id.num": "id", "num.weeks": "week"})


@pytest.fixture(scope="session")
def bangladesh():
    """Stata's bangladesh: c_use = use == Y, urban = urban == Y, children = livch (0..3)."""
    b = mc.datasets.load("Contraception")
    return b.assign(c_use=(b["use"] == "Y").astype(int), urban=(b["urban"] == "Y").astype(int),
                    children=b["livch"].astype(str).map({"0": 0, "1": 1, "2": 2, "3+": 3}))


@pytest.fixture(scope="session")
def tvsfpors():
    """Stata's tvsfpors: thk = thksord, prethk = thkspre."""
    d = mc.datasets.load("SmokingPrevention")
    return d.rename(columns={"thksord": "thk", "thkspre": "prethk"})


@pytest.fixture(scope="session")
def salamander():
    """Stata's salamander: y = Mate, wsf/wsm = Cross's first/last letter is W."""
    s = mc.datasets.load("salamander")
    cross = s["Cross"].astype(str)
    return s.assign(y=s["Mate"], wsf=(cross.str[0] == "W").astype(int),
                    wsm=(cross.str[-1] == "W").astype(int), male=s["Male"], female=s["Female"])
