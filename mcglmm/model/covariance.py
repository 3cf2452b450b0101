"""Covariance structures of one level's random effects, u_g ~ N(0, Sigma(psi)), d x d.

Unconstrained parameters psi (Stata's internal scale):

    independent   psi_j = log sd_j               Sigma = diag(exp(2 psi))
    identity      psi   = log sd                 Sigma = exp(2 psi) I
    exchangeable  psi   = (log sd, atanh rho)    Sigma = sd^2 ((1 - rho) I + rho 1 1')
    unstructured  psi   = lower triangle of L, diagonal on the log scale, Sigma = L L'

``sigma_and_grad(kind, psi, d)`` returns Sigma and dSigma/dpsi (r, d, d).  The score of
G groups' effects with posterior second moments M = sum_g E[u_g u_g'] is

    dl/dpsi_r = 1/2 tr[(Sigma^-1 M Sigma^-1 - G Sigma^-1) dSigma/dpsi_r].

Reported parameters are entries of Sigma: var(z_j) on the diagonal, cov(z_j,z_k) below.
"""
from __future__ import annotations

import numpy as np

KINDS = ("independent", "identity", "exchangeable", "unstructured")


def n_params(kind, d):
    """Number of psi parameters."""
    return {"independent": d, "identity": 1, "exchangeable": 2 if d > 1 else 1,
            "unstructured": d * (d + 1) // 2}[kind]


def sigma_and_grad(kind, psi, d):
    """Sigma (d, d) and dSigma/dpsi (r, d, d) for one level."""
    psi = np.asarray(psi, dtype=float)
    if kind == "independent":
        v = np.exp(2.0 * psi)
        dS = np.zeros((d, d, d))
        dS[np.arange(d), np.arange(d), np.arange(d)] = 2.0 * v
        return np.diag(v), dS
    if kind == "identity" or (kind == "exchangeable" and d == 1):
        S = np.exp(2.0 * psi[0]) * np.eye(d)
        return S, (2.0 * S)[None]
    if kind == "exchangeable":
        v, rho = np.exp(2.0 * psi[0]), np.tanh(psi[1])
        R = (1.0 - rho) * np.eye(d) + rho * np.ones((d, d))
        dR = (1.0 - rho * rho) * (np.ones((d, d)) - np.eye(d))
        return v * R, np.stack([2.0 * v * R, v * dR])
    rows, cols = np.tril_indices(d)
    L = np.zeros((d, d))
    diag = rows == cols
    L[rows, cols] = np.where(diag, np.exp(psi), psi)
    dL = np.zeros((len(psi), d, d))
    dL[np.arange(len(psi)), rows, cols] = np.where(diag, np.exp(psi), 1.0)
    dS = dL @ L.T + L @ dL.transpose(0, 2, 1)
    return L @ L.T, dS


def sigma_second(kind, psi, d):
    """d2 Sigma / dpsi_r dpsi_s, (r, r, d, d)."""
    psi = np.asarray(psi, dtype=float)
    S, dS = sigma_and_grad(kind, psi, d)
    r = len(psi)
    out = np.zeros((r, r, d, d))
    if kind in ("independent", "identity") or (kind == "exchangeable" and d == 1):
        out[np.arange(r), np.arange(r)] = 2.0 * dS
        return out
    if kind == "exchangeable":
        rho = np.tanh(psi[1])
        off = np.ones((d, d)) - np.eye(d)
        v = np.exp(2.0 * psi[0])
        out[0, 0] = 2.0 * dS[0]
        out[0, 1] = out[1, 0] = 2.0 * dS[1]
        out[1, 1] = v * (-2.0 * rho * (1.0 - rho * rho)) * off
        return out
    rows, cols = np.tril_indices(d)
    L = np.zeros((d, d))
    diag = rows == cols
    L[rows, cols] = np.where(diag, np.exp(psi), psi)
    dL = np.zeros((r, d, d))
    dL[np.arange(r), rows, cols] = np.where(diag, np.exp(psi), 1.0)
    out = np.einsum("rab,scb->rsac", dL, dL)
    out = out + out.transpose(1, 0, 2, 3)
    for j in np.flatnonzero(diag):
        out[j, j] += dL[j] @ L.T + L @ dL[j].T
    return out


LOG_SD_MIN = -12.0   # lower bound of a log standard deviation: sd 6e-6 is a zero variance


def psi_lower(kind, d):
    """Lower bounds of psi: LOG_SD_MIN on log standard deviations, -inf elsewhere."""
    r = n_params(kind, d)
    if kind == "unstructured":
        rows, cols = np.tril_indices(d)
        return np.where(rows == cols, LOG_SD_MIN, -np.inf)
    out = np.full(r, -np.inf)
    out[: d if kind == "independent" else 1] = LOG_SD_MIN
    return out


def psi_from_sigma(kind, S):
    """psi giving Sigma closest to S within ``kind`` (used for start values)."""
    d = S.shape[0]
    sd = np.sqrt(np.maximum(np.diag(S), 1e-12))
    if kind == "independent":
        return np.log(sd)
    if kind == "identity" or (kind == "exchangeable" and d == 1):
        return np.array([np.log(sd.mean())])
    if kind == "exchangeable":
        off = ~np.eye(d, dtype=bool)
        rho = np.mean(S[off]) / np.mean(np.diag(S))
        rho = np.clip(rho, -1.0 / (d - 1) + 1e-6, 1.0 - 1e-6)
        return np.array([np.log(sd.mean()), np.arctanh(rho)])
    L = np.linalg.cholesky(S + 1e-12 * np.eye(d))
    rows, cols = np.tril_indices(d)
    vals = L[rows, cols]
    return np.where(rows == cols, np.log(np.maximum(vals, 1e-12)), vals)


def psi_score(kind, psi, d, M, G):
    """dl/dpsi (r,) = 1/2 tr[(S^-1 M S^-1 - G S^-1) dS_r].

    M (d, d) is the sum of the G groups' posterior second moments.
    """
    S, dS = sigma_and_grad(kind, psi, d)
    Si = np.linalg.inv(S)
    A = Si @ M @ Si - G * Si
    return 0.5 * np.einsum("ab,rab->r", A, dS)


def reported(kind, d, z_names):
    """(labels, (row, col) entries of Sigma) of the reported var/cov parameters."""
    if kind == "independent":
        pairs = [(j, j) for j in range(d)]
    elif kind == "identity":
        pairs = [(0, 0)]
    elif kind == "exchangeable":
        pairs = [(0, 0)] + ([(1, 0)] if d > 1 else [])
    else:
        pairs = [(j, j) for j in range(d)] + [(j, k) for k in range(d) for j in range(k + 1, d)]
    labels = [f"var({z_names[a]})" if a == b else f"cov({z_names[b]},{z_names[a]})"
              for a, b in pairs]
    return labels, pairs
