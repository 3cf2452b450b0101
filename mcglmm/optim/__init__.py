"""Maximisers and their result: glmm's trust region, Stata-style Newton, linear constraints."""
