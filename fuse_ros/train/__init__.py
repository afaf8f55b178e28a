"""Training: datasets, FuSe losses, the trainer."""
