"""advisory-monitor: watches advisory and news sources, classifies where and what, sends digests."""

__version__ = "0.1.0"
