"""Fixtures of the delivery tests; the peers themselves live in peers.py (importable by the tests)."""

from peers import _collect_garbage, certificate, receiver, rendered, smtp_server

__all__ = ["_collect_garbage", "certificate", "receiver", "rendered", "smtp_server"]
