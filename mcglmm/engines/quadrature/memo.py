"""Derived structures built once per model object (sparsity patterns, row blocks, indicators).

They depend only on the design, never on theta, and the frozen model holds arrays, so it
cannot be a dictionary key: ``once_per_object`` keys by identity and holds a weak reference,
so an entry dies with its object and a recycled ``id`` can never return another's result.
"""
from __future__ import annotations

import functools
import weakref


def once_per_object(build):
    """Decorator: ``build(obj, *args)`` computed once per (object identity, args)."""
    table = {}

    @functools.wraps(build)
    def cached(obj, *args):
        key = (id(obj),) + args
        hit = table.get(key)
        if hit is not None and hit[0]() is obj:
            return hit[1]
        value = build(obj, *args)
        table[key] = (weakref.ref(obj, lambda _, k=key: table.pop(k, None)), value)
        return value

    return cached
