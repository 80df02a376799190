"""Runnable studies shipped with the package (the scripts in simulations/ call these)."""
