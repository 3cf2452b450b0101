"""Public fronts: each chains the design, engine, optimiser and result stages."""
from .glmm import glmm
