"""Dispatch stage: alert rules matched against classified items, due digests built and claimed
exactly once, then handed to the delivery stage (monitor/deliver/) to send.

``Dispatcher`` selects, claims and hands over; ``Travel`` is what it asks of sites and trips.
"""

from __future__ import annotations

from monitor.dispatch.dispatcher import Backtested, Dispatcher, Selection, new_digest_id
from monitor.dispatch.travel import Travel, trip_report

__all__ = ["Backtested", "Dispatcher", "Selection", "Travel", "new_digest_id", "trip_report"]
