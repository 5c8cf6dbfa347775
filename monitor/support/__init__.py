"""Small helpers that every stage may use and that know no stage: YAML with positions, durations,
cron expressions, retry backoff, and where the packaged rules and templates live."""

from monitor.support.backoff import backoff
from monitor.support.cron import Cron, parse_cron
from monitor.support.durations import format_duration, parse_duration
from monitor.support.resources import shipped_rules_dir, templates_dir
from monitor.support.yamlpos import Lined, Located, load_lined, load_located

__all__ = [
           "Cron",
           "Lined",
           "Located",
           "backoff",
           "format_duration",
           "load_lined",
           "load_located",
           "parse_cron",
           "parse_duration",
           "shipped_rules_dir",
           "templates_dir",
]
