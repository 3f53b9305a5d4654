"""The public data sets of the paper's experiments: their folder layouts (``layouts``, plain
data) and a checker of a downloaded copy (``check``). Import the sub-modules directly: this
package imports nothing, so listing the layouts (``dasr datasets --help``) loads no image code.
"""
