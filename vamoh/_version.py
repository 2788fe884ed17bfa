"""The single source of vamoh's version (read by setuptools and ``vamoh --version``)."""

__version__ = "0.1.0"
