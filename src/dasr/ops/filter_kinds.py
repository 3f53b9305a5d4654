"""The names of the frequency filters (``dsn.filter``, ``srn.filter``, ``dasr generate --filter``).

Apart from :mod:`dasr.ops.frequency`, which implements them and imports torch, so that the CLI can
offer the names in its parser without loading torch (``dasr --help`` stays fast).
"""

FILTER_KINDS = ("wavelet", "gaussian", "avgpool", "rgb")
