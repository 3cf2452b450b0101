"""The salamander vignette reproduces its committed output exactly (fixed seeds)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_salamander_vignette_reproduces_committed_output():
    run = subprocess.run([sys.executable, str(ROOT / "vignettes" / "salamander.py")],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr
    expected = (ROOT / "vignettes" / "salamander.out").read_text()
    assert run.stdout == expected
