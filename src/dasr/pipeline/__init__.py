"""The whole method in one run folder: stage 1, stage 1.5, stage 2, then the model file."""
