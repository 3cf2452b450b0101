"""vignettes/meglm_examples.py reproduces its committed output.

Text must match up to runs of spaces (a column's alignment moves when the last printed
digit of a figure does); numbers to about 6 significant digits (the last printed digit
of a 7-digit figure may move with the platform's floating point or the optimiser's path).
"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NUMBER = re.compile(r"-?(?:\d[\d,]*\.?\d*|\.\d+)(?:e[+-]?\d+)?")


def _split(text):
    """(text with numbers replaced by '#' and spaces collapsed, the numbers)."""
    numbers = [float(m.replace(",", "")) for m in NUMBER.findall(text)]
    return re.sub(r" +", " ", NUMBER.sub("#", text)), numbers


def test_meglm_vignette_reproduces_committed_output():
    run = subprocess.run([sys.executable, str(ROOT / "vignettes" / "meglm_examples.py")],
                         capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    want_text, want = _split((ROOT / "vignettes" / "meglm_examples.out").read_text())
    got_text, got = _split(run.stdout)
    assert got_text == want_text
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert abs(g - w) <= 1e-6 * max(abs(w), 1.0) + 1e-5 * abs(w), (g, w)   # seen 8e-7 rel.
