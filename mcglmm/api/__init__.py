"""Public fronts: each chains the design, engine, optimiser and result stages."""
from .lr import lr2, lr3
from .glmm import glmm
from .meglm import meglm

__all__ = ["glmm", "lr2", "lr3", "meglm"]
