"""Data sets shipped with mcglmm (CSV exports of the R packages that distribute them).

``load(name)`` returns a DataFrame whose dtypes follow R: a column that R stores
as a factor (written quoted in the CSV) is a pandas ``Categorical`` with R's
sorted levels; numeric columns stay numeric.  See ``data/PROVENANCE.md``.
"""
from __future__ import annotations

import csv
import io
from importlib import resources

import pandas as pd

from ..exceptions import bad_value

_DATA = resources.files(__name__) / "data"


def names():
    """The names ``load`` accepts, sorted."""
    return sorted(p.name[:-4] for p in _DATA.iterdir() if p.name.endswith(".csv"))


def _quoted_columns(text):
    """Columns whose first data field is quoted: R wrote them from factors."""
    lines = text.splitlines()
    header = next(csv.reader([lines[0]]))
    fields = _split_raw(lines[1])
    return [h for h, f in zip(header, fields) if f.startswith('"')]


def _split_raw(line):
    """Split one CSV line on commas outside quotes, keeping the quotes."""
    out, cur, inside = [], [], False
    for ch in line:
        if ch == '"':
            inside = not inside
        if ch == "," and not inside:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _r_level_order(values):
    """R's default factor levels: sorted, numerically when every level is a number."""
    levels = pd.unique(values.dropna())
    try:
        return sorted(levels, key=float)
    except ValueError:
        return sorted(levels)


def load(name):
    """Load a shipped data set by name (case-insensitive), e.g. ``load("salamander")``."""
    lookup = {n.lower(): n for n in names()}
    if not isinstance(name, str) or name.lower() not in lookup:
        raise ValueError(bad_value("name", "one of " + ", ".join(names()), name))
    text = (_DATA / f"{lookup[name.lower()]}.csv").read_text()
    factors = _quoted_columns(text)
    frame = pd.read_csv(io.StringIO(text), dtype={c: str for c in factors})
    for col in factors:
        frame[col] = pd.Categorical(frame[col], categories=_r_level_order(frame[col]))
    return frame
