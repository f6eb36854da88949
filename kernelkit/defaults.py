"""Defaults written once (keras-free, so the CLI's help can show them).

Example:
    >>> from kernelkit.defaults import DEFAULT_Z
    >>> DEFAULT_Z
    0.1
"""

#: The paper's KARE ridge z: the default of every entry point and grid that takes one.
DEFAULT_Z = 0.1
