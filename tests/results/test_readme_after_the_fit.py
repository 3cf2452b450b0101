"""The README's "After the fit" example runs as written."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def after_the_fit_code():
    text = README.read_text()
    section = text.split("## After the fit", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_readme_after_the_fit_runs(capsys):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    namespace = {}
    exec("import mcglmm as mc\n" + after_the_fit_code(), namespace)
    assert namespace["y_sim"].shape == (1934, 100)
    assert [len(a.lines[0].get_xdata()) for a in namespace["axes"]] == [60, 60]   # _cons, urban
    assert "LR chi2(1)" in capsys.readouterr().out
    matplotlib.pyplot.close("all")
