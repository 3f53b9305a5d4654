"""Training machinery shared by the stages: run folders, metric logs, atomic checkpoints with the
random-number state, progress bars and device selection.

Import the sub-modules directly (``dasr.engine.checkpoint`` ...): this package imports nothing
itself, because ``dasr.config`` uses ``dasr.engine.checkpoint.atomic_write`` and
``dasr.engine.run_dir`` uses ``dasr.config``; re-exports here would make that a cycle.
"""
