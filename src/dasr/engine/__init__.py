"""Training machinery shared by the stages: run folders, metric logs, the training loop, progress
bars and device selection. It stands on ``dasr.files`` (atomic files, checkpoints) and
``dasr.config``; import its sub-modules directly.
"""
