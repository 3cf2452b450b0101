"""Newton steps of the joint mode by preconditioned conjugate gradients on the sparse H.

For a large random crossing (``schur.Structure.chunked``) a factorisation of the dense
Schur complement S costs q_b^3 / 3 flops (seconds at q_b = 10^4), while the mode's Newton
systems need no factor: conjugate gradients on

    H x = Z'(W (Z x)) + P x = g,

preconditioned by the inverses of H's d x d diagonal blocks (one per group of every level),
take a few tens of products by Z and Z'.  Only the converged mode is factorised (for log|H|
and the gradient).  Exact arithmetic would end at the exact Newton step; the iteration stops
at a relative residual RTOL, and the mode search's last step (below its tolerance) leaves the
mode as exact as with factorised steps.
"""
from __future__ import annotations

import numpy as np

from .factor import hessian_values

RTOL = 1e-10      # |H x - g| / |g| at which the step is taken
MAX_STEPS = 2000  # CG iterations at most; beyond, the caller factorises instead


def _block_inverses(alg, W):
    """[(start, (G_l, d_l, d_l) inverses of H's diagonal blocks)] per level in the joint
    order, or None when a block is not positive definite."""
    st, levels = alg.st, alg.model.levels
    v = hessian_values(st, levels, alg.prior, W)
    base_d = st.G * st.d * st.d + len(st.c_group) * st.d
    b_blocks = iter(st.p_slots)
    out, start = [], 0
    for l, lev in enumerate(levels):
        G, d = lev.n_groups, lev.d
        block = (v[:G * d * d].reshape(G, d, d) if l == st.e
                 else v[base_d + next(b_blocks)])
        try:
            np.linalg.cholesky(block)
        except np.linalg.LinAlgError:
            return None
        out.append((start, np.linalg.inv(block)))
        start += G * d
    return out


def _precondition(blocks, r):
    """M^-1 r (q,) with M the block diagonal of H."""
    out = np.empty_like(r)
    for start, inv in blocks:
        G, d, _ = inv.shape
        out[start:start + G * d] = np.einsum("gij,gj->gi", inv,
                                             r[start:start + G * d].reshape(G, d)).ravel()
    return out


def solve(alg, W, g):
    """(H(W)^-1 g (q,) by preconditioned CG (H = Z' diag(W) Z + P), converged: whether the
    relative residual reached RTOL within MAX_STEPS), or None when H is not positive
    definite (a diagonal block, or p'Hp <= 0 along a search direction)."""
    blocks = _block_inverses(alg, W)
    if blocks is None:
        return None
    Z = alg.Z
    x, r = np.zeros_like(g), g.copy()
    z = _precondition(blocks, r)
    p, rz, stop = z.copy(), float(r @ z), RTOL * float(np.linalg.norm(g))
    for _ in range(MAX_STEPS):
        if not np.linalg.norm(r) > stop:
            return x, True
        Hp = Z.T @ (W * (Z @ p)) + alg.prior_times(p)
        pHp = float(p @ Hp)
        if not pHp > 0:
            return None
        alpha = rz / pHp
        x += alpha * p
        r -= alpha * Hp
        z = _precondition(blocks, r)
        rz, rz_old = float(r @ z), rz
        p = z + (rz / rz_old) * p
    return x, not np.linalg.norm(r) > stop
