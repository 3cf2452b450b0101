import pandas as pd
import pytest

import mcglmm as mc


def test_salamander_has_r_dtypes():
    sal = mc.datasets.load("salamander")
    assert sal.shape == (360, 4)
    assert isinstance(sal["Cross"].dtype, pd.CategoricalDtype)
    assert list(sal["Cross"].cat.categories) == ["R/R", "R/W", "W/R", "W/W"]
    assert list(sal["Female"].cat.categories[:3]) == ["10", "11", "12"]
    assert sal["Mate"].dtype.kind == "i"


@pytest.mark.parametrize("name", mc.datasets.names())
def test_every_dataset_loads(name):
    assert len(mc.datasets.load(name)) > 0


def test_unknown_dataset_is_named_in_error():
    with pytest.raises(ValueError, match="name must be one of"):
        mc.datasets.load("nope")
