"""taskq: a reliable job system for data-quality analyses, built on RQ."""

__version__ = "0.1.0"
