"""Incidents stage: classified items grouped into one incident per event (``grouping``), each
report's event signature (``signature``), an incident's summary, escalations and breaking flag
(``summary``), and what people do to incidents: mute, acknowledge, close, merge, split
(``actions``). Items keep their ids and classifications; the store keeps the grouping
(monitor/store/incidents.py)."""

from __future__ import annotations

from monitor.incidents.actions import IncidentActions, effective_state
from monitor.incidents.grouping import Grouper, GroupingCounts, same_event
from monitor.incidents.signature import Report, report_of, similarity
from monitor.incidents.summary import update_line

__all__ = [
           "Grouper",
           "GroupingCounts",
           "IncidentActions",
           "Report",
           "effective_state",
           "report_of",
           "same_event",
           "similarity",
           "update_line",
]
