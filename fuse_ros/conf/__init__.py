"""Hydra configs of the console scripts (installed with the package)."""
