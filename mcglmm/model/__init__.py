"""What is fitted, independent of how: links, families, covariances, the parameter layout."""
