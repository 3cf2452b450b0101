"""Each vignette reproduces its committed output exactly: every random number comes from a seed."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["salamander", "lr3_guatemala"])
def test_vignette_reproduces_committed_output(name):
    run = subprocess.run([sys.executable, str(ROOT / "vignettes" / f"{name}.py")],
                         capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert run.returncode == 0, run.stderr
    assert run.stdout == (ROOT / "vignettes" / f"{name}.out").read_text()
