"""Data loaders and generators."""

from kernelkit.data.synthetic import make_synthetic

__all__ = ["make_synthetic"]
