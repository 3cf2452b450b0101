"""Engines: pure maps from parameters to the (approximate) log likelihood and its derivatives."""
