"""Deterministic integration of the random effects: Gauss-Hermite rules, nested (adaptive)
quadrature level by level, the exact Hessian, and the sparse Laplace approximation."""
