"""Files that are whole: written atomically, read without running code, refused in one line.

The bottom floor with ``errors``: images (``data``), configurations (``config``), networks'
weights (``archs``) and every later stage write and read through it, so it imports nothing of
dasr but ``dasr.errors``.
"""
