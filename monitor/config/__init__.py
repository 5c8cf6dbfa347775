"""The configuration file: pydantic models of every key, loaded with positions for errors.

One module per part of the file (``sources``, ``delivery``, ``alerting``, ``travel``, the whole
``model``) and one for reading it (``loading``); everything is importable from here.
"""

from monitor.config.alerting import (
    AlertRule,
    ClockTime,
    CronSchedule,
    EverySchedule,
    MatchSpec,
    QuietHours,
    Schedule,
    TimeZone,
)
from monitor.config.base import Duration, RelPath, Strict
from monitor.config.delivery import EmailTarget, FileTarget, SmtpConfig, Target, WebhookTarget
from monitor.config.loading import format_path, interpolate, load_config, parse_config
from monitor.config.model import BreakingConfig, Config, DedupConfig, IncidentsConfig, ServerConfig, WorkersConfig
from monitor.config.sources import (
    OFFICIAL_KINDS,
    AnySource,
    CanadaSource,
    CapSource,
    FcdoSource,
    FeedSource,
    FilesSource,
    GdacsSource,
    OfficialPreset,
    OfficialSource,
    SmartravellerSource,
    Source,
    UsStateDeptSource,
)
from monitor.config.travel import MAX_SITE_RADIUS_KM, LatLon, LegSpec, SiteSpec, TravelConfig, TripSpec, leg_window

__all__ = [
    "MAX_SITE_RADIUS_KM", "OFFICIAL_KINDS", "AlertRule", "AnySource", "BreakingConfig", "CanadaSource", "CapSource",
    "ClockTime", "Config", "CronSchedule", "DedupConfig", "Duration", "EmailTarget", "EverySchedule", "FcdoSource",
    "FeedSource", "FileTarget", "FilesSource", "GdacsSource", "IncidentsConfig", "LatLon", "LegSpec", "MatchSpec",
    "OfficialPreset", "OfficialSource", "QuietHours", "RelPath", "Schedule", "ServerConfig", "SiteSpec",
    "SmartravellerSource", "SmtpConfig", "Source", "Strict", "Target", "TimeZone", "TravelConfig", "TripSpec",
    "UsStateDeptSource", "WebhookTarget", "WorkersConfig", "format_path", "interpolate", "leg_window",
    "load_config", "parse_config",
]
