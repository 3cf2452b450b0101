"""What is fitted, independent of how: links, families, covariance structures, the parameter layout."""
