"""No family, link, auxiliary-parameter or covariance name is compared as a string outside
mcglmm/model/: code outside asks the model objects (attributes and methods) instead.

The walk flags, in every module of the package outside model/, a comparison (==, !=, in,
not in, is) with a string literal that is such a name (alone or inside a tuple, list or set
literal), a dict literal keyed by such names (a lookup table standing in for a branch)
and a ``match`` case on one.
"""
import ast
from pathlib import Path

import pytest

import mcglmm
from mcglmm.model.covariance import COVARIANCES
from mcglmm.model.families import FAMILIES, GLMM_FAMILIES
from mcglmm.model.links import LINKS

PACKAGE = Path(mcglmm.__file__).parent
# the auxiliary parameters' names, and "cuts", the old aux_kind of ordinal rows (the old "sd"
# is left out: results.diagnostics names a parameter scale "sd", not a family's parameter)
AUX_NAMES = {"cuts", "lnalpha", "lndelta", "logs", "lnsd_e"}


def _names():
    names = set(LINKS) | set(COVARIANCES) | AUX_NAMES
    for (key, link), row in FAMILIES.items():
        names |= {key, row.name, f"/{row.name}"} | set(row.aux.names(2))
    for name in GLMM_FAMILIES:
        names |= {name, name.replace(".", "_"), name.split(".")[0]}
    return {n.lstrip("/") for n in names} | names


NAMES = _names()


def _literals(node):
    """String constants of a node that is a literal or a tuple/list/set of literals."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [s for elt in node.elts for s in _literals(elt)]
    return []


def offences(tree):
    """(line, name) of every comparison, dict key or match case on a model name."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in [node.left] + node.comparators:
                found += [(node.lineno, s) for s in _literals(operand) if s in NAMES]
        elif isinstance(node, ast.Dict):
            found += [(node.lineno, s) for key in node.keys if key is not None
                      for s in _literals(key) if s in NAMES]
        elif isinstance(node, ast.MatchValue):
            found += [(node.lineno, s) for s in _literals(node.value) if s in NAMES]
    return found


def _outside_model():
    return sorted(p for p in PACKAGE.rglob("*.py") if "model" not in p.relative_to(PACKAGE).parts)


def test_the_walk_finds_what_it_should():
    code = ('if fam.family == "binomial": pass\nx = kind in ("independent", "unstructured")\n'
            'y = {"cuts": 1}\nz = link != "logit"\nok = intmethod == "laplace"\n')
    assert [s for _, s in offences(ast.parse(code))] == ["binomial", "independent",
                                                         "unstructured", "cuts", "logit"]
    assert len(_outside_model()) > 20


@pytest.mark.parametrize("path", _outside_model(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_model_name_is_compared_outside_model(path):
    found = offences(ast.parse(path.read_text(), str(path)))
    assert not found, f"{path.relative_to(PACKAGE)}: model names compared as strings: {found}"
