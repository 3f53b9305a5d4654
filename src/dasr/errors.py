"""The one exception type that means "the user gave us something wrong".

The command line prints a ``DasrError`` as a single line and exits with status 2, without a
traceback; any other exception is a bug in dasr and keeps its traceback.
"""


class DasrError(Exception):
    """A user mistake (bad file, option, configuration) described in one line."""
