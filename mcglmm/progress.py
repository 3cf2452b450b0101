"""A progress bar for Newton fits whose total means something: digits of convergence.

A Newton fit has no known number of iterations, so a bar over the iteration limit ends
at "7/100".  This bar counts the digits to which the log likelihood has settled,
-log10 |l_k - l_{k-1}| / (|l_k| + 1), against the digits the tolerance asks for
(-log10 tolerance); it fills when the fit converges, and shows the iteration and the
log likelihood beside it.  It reads Newton's iteration lines
("Iteration k: Log likelihood = v", ``optim.newton``) through its ``printer`` hook, or
is told each accepted value (``update``, from the trust region's callback).
"""
from __future__ import annotations

import math
import re

LINE = re.compile(r"Iteration (\d+): Log likelihood = (\S+)")


class ConvergenceBar:
    """Callable on the optimiser's lines; ``close(converged)``; echoes the lines if asked."""

    def __init__(self, tolerance, desc="meglm", echo=None):
        from tqdm.auto import tqdm
        self.total = max(1, math.ceil(-math.log10(tolerance)))
        self.bar = tqdm(total=self.total, desc=f"{desc}: digits settled", unit="digit")
        self.prev, self.echo = None, echo

    def __call__(self, line):
        if self.echo is not None:
            self.echo(line)
        match = LINE.match(line)
        if match is not None:
            self.update(int(match.group(1)), float(match.group(2)))

    def update(self, it, value):
        """Record iteration ``it``'s log likelihood (an optimiser's callback calls this)."""
        if self.prev is not None and math.isfinite(value):
            change = abs(value - self.prev) / (abs(value) + 1.0)
            digits = self.total if change == 0 else int(-math.log10(change))
            self.bar.n = max(self.bar.n, min(max(digits, 0), self.total))
        self.prev = value
        self.bar.set_postfix_str(f"iteration {it}, log likelihood {value:.8g}", refresh=False)
        self.bar.refresh()

    def close(self, converged):
        if converged:
            self.bar.n = self.total
        self.bar.refresh()
        self.bar.close()
