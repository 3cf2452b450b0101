"""The structures of Stata's names: independent, identity, exchangeable, unstructured."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOG_SD_MIN = -12.0   # lower bound of a log standard deviation: sd 6e-6 is a zero variance


@dataclass(frozen=True)
class Covariance:
    """Base: the parts every structure shares; d is the dimension of u_g."""

    d: int
    name = ""
    implied = ()     # constraints the structure states itself (``restricted.Restricted``)

    @property
    def n_params(self):
        raise NotImplementedError

    def sigma_and_grad(self, psi):
        """Sigma (d, d) and dSigma/dpsi (r, d, d)."""
        raise NotImplementedError

    def sigma_second(self, psi):
        """d2 Sigma / dpsi_r dpsi_s, (r, r, d, d): diagonal in psi, 2 dSigma (log-sd
        parameters scale Sigma by exp(2 psi))."""
        _, dS = self.sigma_and_grad(psi)
        r = len(psi)
        out = np.zeros((r, r, self.d, self.d))
        out[np.arange(r), np.arange(r)] = 2.0 * dS
        return out

    direct_cholesky = True    # psi gives L = chol(Sigma) directly (``cholesky_second``)

    def cholesky_second(self, psi):
        """d2 L / dpsi_r dpsi_s (r, r, d, d) of L = chol(Sigma(psi)), for structures whose psi
        gives L directly; here L = exp(psi_0) I (identity, and any structure with d = 1)."""
        out = np.zeros((len(psi), len(psi), self.d, self.d))
        out[0, 0] = np.exp(psi[0]) * np.eye(self.d)
        return out

    def lower(self):
        """Lower bounds of psi: LOG_SD_MIN on log standard deviations, -inf elsewhere."""
        out = np.full(self.n_params, -np.inf)
        out[:self._n_log_sd] = LOG_SD_MIN
        return out

    _n_log_sd = 1

    def from_sigma(self, S):
        """psi giving the Sigma closest to S within the structure (start values)."""
        return np.array([np.log(self._sd(S).mean())])

    @staticmethod
    def _sd(S):
        return np.sqrt(np.maximum(np.diag(S), 1e-12))

    def score(self, psi, M, G):
        """dl/dpsi (r,) = 1/2 tr[(S^-1 M S^-1 - G S^-1) dS_r]; M (d, d) the sum of the G
        groups' posterior second moments."""
        S, dS = self.sigma_and_grad(psi)
        Si = np.linalg.inv(S)
        A = Si @ M @ Si - G * Si
        return 0.5 * np.einsum("ab,rab->r", A, dS)

    def reported_pairs(self):
        """(row, col) entries of Sigma reported as parameters."""
        return [(0, 0)]

    def reported(self, z_names):
        """(labels, (row, col) entries of Sigma) of the reported var/cov parameters."""
        pairs = self.reported_pairs()
        labels = [f"var({z_names[a]})" if a == b else f"cov({z_names[b]},{z_names[a]})"
                  for a, b in pairs]
        return labels, pairs

    def grid_pairs(self):
        """Entries of Sigma a start grid may name (the reported ones unless tied entries)."""
        return self.reported_pairs()

    def tied(self, a, b):
        """(d, d) bool: the entries of Sigma sharing a parameter with entry (a, b)."""
        out = np.zeros((self.d, self.d), dtype=bool)
        out[a, b] = out[b, a] = True
        return out

    def pattern(self):
        """(classes, fixed): the structure as a ``Restricted`` one -- a tuple of
        lower-triangle entries (a >= b) per free value, and ((a, b), value) fixed entries.
        Here one variance and zero covariances (identity)."""
        return (tuple((j, j) for j in range(self.d)),), _zero_covariances(self.d)


class Independent(Covariance):
    name = "independent"

    @property
    def n_params(self):
        return self.d

    @property
    def _n_log_sd(self):
        return self.d

    def sigma_and_grad(self, psi):
        d = self.d
        v = np.exp(2.0 * np.asarray(psi, dtype=float))
        dS = np.zeros((d, d, d))
        dS[np.arange(d), np.arange(d), np.arange(d)] = 2.0 * v
        return np.diag(v), dS

    def from_sigma(self, S):
        return np.log(self._sd(S))

    def cholesky_second(self, psi):
        """L = diag(exp psi): d2L/dpsi_j^2 = exp(psi_j) at (j, j)."""
        d = self.d
        out = np.zeros((d, d, d, d))
        out[np.arange(d), np.arange(d), np.arange(d), np.arange(d)] = np.exp(psi)
        return out

    def reported_pairs(self):
        return [(j, j) for j in range(self.d)]

    def pattern(self):
        return tuple(((j, j),) for j in range(self.d)), _zero_covariances(self.d)


class Identity(Covariance):
    name = "identity"

    @property
    def n_params(self):
        return 1

    def sigma_and_grad(self, psi):
        S = np.exp(2.0 * float(psi[0])) * np.eye(self.d)
        return S, (2.0 * S)[None]

    def tied(self, a, b):
        return np.eye(self.d, dtype=bool) if a == b else super().tied(a, b)


class Exchangeable(Identity):
    """Sigma = v ((1 - rho) I + rho 1 1'), psi = (log sd, atanh rho); identity when d = 1."""

    name = "exchangeable"

    @property
    def n_params(self):
        return 2 if self.d > 1 else 1

    @property
    def direct_cholesky(self):
        """Only with d = 1: otherwise chol(Sigma) is not a closed form of psi."""
        return self.d == 1

    def cholesky_second(self, psi):
        if self.d > 1:
            raise NotImplementedError("exchangeable with d > 1 has no direct Cholesky factor")
        return super().cholesky_second(psi)

    def sigma_and_grad(self, psi):
        if self.d == 1:
            return super().sigma_and_grad(psi)
        d = self.d
        v, rho = np.exp(2.0 * psi[0]), np.tanh(psi[1])
        R = (1.0 - rho) * np.eye(d) + rho * np.ones((d, d))
        dR = (1.0 - rho * rho) * (np.ones((d, d)) - np.eye(d))
        return v * R, np.stack([2.0 * v * R, v * dR])

    def sigma_second(self, psi):
        if self.d == 1:
            return super().sigma_second(psi)
        d = self.d
        _, dS = self.sigma_and_grad(psi)
        out = np.zeros((2, 2, d, d))
        rho, v = np.tanh(psi[1]), np.exp(2.0 * psi[0])
        out[0, 0] = 2.0 * dS[0]
        out[0, 1] = out[1, 0] = 2.0 * dS[1]
        out[1, 1] = v * (-2.0 * rho * (1.0 - rho * rho)) * (np.ones((d, d)) - np.eye(d))
        return out

    def from_sigma(self, S):
        if self.d == 1:
            return super().from_sigma(S)
        d = self.d
        off = ~np.eye(d, dtype=bool)
        rho = np.clip(np.mean(S[off]) / np.mean(np.diag(S)), -1.0 / (d - 1) + 1e-6, 1.0 - 1e-6)
        return np.array([np.log(self._sd(S).mean()), np.arctanh(rho)])

    def reported_pairs(self):
        return [(0, 0)] + ([(1, 0)] if self.d > 1 else [])

    def grid_pairs(self):
        return [(0, 0)] + [(a, b) for a in range(self.d) for b in range(a)]

    def tied(self, a, b):
        return ~np.eye(self.d, dtype=bool) if a != b else super().tied(a, b)

    def pattern(self):
        if self.d == 1:
            return super().pattern()
        return (tuple((j, j) for j in range(self.d)), _lower_off(self.d)), ()


class Unstructured(Covariance):
    """Sigma = L L', psi the lower triangle of L by rows, its diagonal on the log scale."""

    name = "unstructured"

    @property
    def n_params(self):
        return self.d * (self.d + 1) // 2

    def _factor(self, psi):
        """(L, dL/dpsi (r, d, d), diagonal flags (r,))."""
        d, psi = self.d, np.asarray(psi, dtype=float)
        rows, cols = np.tril_indices(d)
        diag = rows == cols
        L = np.zeros((d, d))
        L[rows, cols] = np.where(diag, np.exp(psi), psi)
        dL = np.zeros((len(psi), d, d))
        dL[np.arange(len(psi)), rows, cols] = np.where(diag, np.exp(psi), 1.0)
        return L, dL, diag

    def sigma_and_grad(self, psi):
        L, dL, _ = self._factor(psi)
        return L @ L.T, dL @ L.T + L @ dL.transpose(0, 2, 1)

    def sigma_second(self, psi):
        L, dL, diag = self._factor(psi)
        out = np.einsum("rab,scb->rsac", dL, dL)
        out = out + out.transpose(1, 0, 2, 3)
        for j in np.flatnonzero(diag):
            out[j, j] += dL[j] @ L.T + L @ dL[j].T
        return out

    def cholesky_second(self, psi):
        """L's diagonal is exp(psi_j), the rest linear: d2L/dpsi_j^2 = exp(psi_j) there."""
        r, (rows, cols) = len(psi), np.tril_indices(self.d)
        out = np.zeros((r, r, self.d, self.d))
        for j in np.flatnonzero(rows == cols):
            out[j, j, rows[j], cols[j]] = np.exp(psi[j])
        return out

    def lower(self):
        rows, cols = np.tril_indices(self.d)
        return np.where(rows == cols, LOG_SD_MIN, -np.inf)

    def from_sigma(self, S):
        L = np.linalg.cholesky(S + 1e-12 * np.eye(self.d))
        rows, cols = np.tril_indices(self.d)
        vals = L[rows, cols]
        return np.where(rows == cols, np.log(np.maximum(vals, 1e-12)), vals)

    def reported_pairs(self):
        d = self.d
        return [(j, j) for j in range(d)] + [(j, k) for k in range(d) for j in range(k + 1, d)]

    def pattern(self):
        return tuple(((a, b),) for a in range(self.d) for b in range(a + 1)), ()


def _lower_off(d):
    """The entries (a, b), a > b, below Sigma's diagonal, by rows."""
    return tuple((a, b) for a in range(d) for b in range(a))


def _zero_covariances(d):
    return tuple((pair, 0.0) for pair in _lower_off(d))
