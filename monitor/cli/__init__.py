"""The ``advisory-monitor`` command: parses arguments, loads config, calls one stage function.

The only module that prints and chooses exit codes: 0 done, 1 runtime failure, 2 bad config or
usage. Heavy modules are imported inside the commands so that ``--help`` stays fast. One module per
family of commands (``cycle``, ``rules``, ``digests``, ``state``, ``incidents``); ``common`` holds what they share.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from monitor import __version__
from monitor.cli.common import parse_since
from monitor.cli.cycle import cmd_ingest, cmd_items, cmd_once, cmd_run
from monitor.cli.digests import cmd_alerts, cmd_digest, cmd_digests
from monitor.cli.incidents import add_parser as _incident_commands
from monitor.cli.rules import cmd_check, cmd_classify, cmd_rules
from monitor.cli.state import cmd_advisories, cmd_db, cmd_status, cmd_trips
from monitor.service.logs import escape_line
from monitor.support.redact import redact_text

log = logging.getLogger("monitor")

Handler = Callable[[argparse.Namespace], int]


class _Commands:
    """The subcommand table being built, with the option groups that commands share."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
        self.common = argparse.ArgumentParser(add_help=False)
        self.common.add_argument("--config", default="config.yaml", metavar="FILE",
                                 help="configuration file (default: ./config.yaml)")
        self.common.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
        self.common.add_argument("--log-format", choices=("text", "json"), default="text",
                                 help="log lines for a person (text) or for a log shipper (json)")
        self.listing = argparse.ArgumentParser(add_help=False)
        self.listing.add_argument("--format", choices=("text", "json"), default="text", help="output format")
        self.listing.add_argument("--limit", type=int, default=None, help="at most this many rows")
        self.strict = argparse.ArgumentParser(add_help=False)
        self.strict.add_argument("--strict", action="store_true",
                                 help="exit 1 when a source or a delivery failed (for cron jobs that mail on failure)")

    def add(self, name: str, handler: Handler, help_: str,
            parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
        p = self.sub.add_parser(name, help=help_, description=help_, parents=[self.common, *parents])
        p.set_defaults(handler=handler)
        return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advisory-monitor",
        description="Watch travel-advisory and news sources, classify where and what, send digests.")
    parser.add_argument("--version", action="version", version=f"advisory-monitor {__version__}")
    commands = _Commands(parser)
    # In the order ``--help`` lists them.
    _cycle_commands(commands)
    _rules_commands(commands)
    _digest_commands(commands)
    _state_commands(commands)
    _incident_commands(commands)
    return parser


def _cycle_commands(c: _Commands) -> None:
    p = c.add("once", cmd_once, "one full cycle: ingest, classify, match, deliver; then exit. Every alert's "
              "waiting digest goes now, whatever its schedule (quiet hours still hold)", [c.strict])
    p.add_argument("--due", action="store_true",
                   help="send only the digests whose schedule is due, and retry failed deliveries only once their "
                        "backoff is over (for a cron job that runs once often)")
    c.add("run", cmd_run, "run as a daemon until SIGTERM/SIGINT; SIGHUP reloads the config")
    p = c.add("ingest", cmd_ingest, "poll every enabled source once and store what is new", [c.strict])
    p.add_argument("--source", action="append", metavar="NAME", help="only this source (repeatable)")
    p = c.add("items", cmd_items, "list stored items", [c.listing])
    p.add_argument("--source", metavar="NAME", help="only items of this source")
    p.add_argument("--since", type=parse_since, metavar="WHEN", help="ISO date or a duration back (24h, 7d)")
    p.add_argument("--region", action="append", metavar="ID", help="only items about this region (repeatable)")
    p.add_argument("--threat", action="append", metavar="TYPE", help="only items with this threat (repeatable)")


def _rules_commands(c: _Commands) -> None:
    c.add("check", cmd_check, "validate the config offline: keys, alert rules, templates on a sample digest")
    p = c.add("classify", cmd_classify, "classify text files and RSS/Atom files (no config or database needed)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="article files, feed files, or - for stdin")
    p.add_argument("--rules", action="append", metavar="DIR", help="an extra rules folder (repeatable)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument("--jobs", type=int, default=0, metavar="N",
                   help="worker processes for long lists of files (default: one per CPU; 1: no workers)")
    p = c.add("rules", cmd_rules, "validate the classification rules, run their test cases, or score them "
              "against a labelled set")
    p.add_argument("action", choices=("check", "test", "eval"),
                   help="check: validate; test: run rules/tests cases; eval LABELLED: precision and recall "
                        "against a labelled set")
    p.add_argument("labelled", nargs="?", metavar="LABELLED",
                   help="for eval: a JSON array or JSON Lines of labelled passages (id, text, countries, "
                        "mentioned_only, threats, severity)")
    p.add_argument("--worst", type=int, default=10, metavar="N",
                   help="for eval: show the N passages with the most errors and the evidence behind each (default 10)")
    p.add_argument("--rules", action="append", metavar="DIR", help="an extra rules folder (repeatable)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def _digest_commands(c: _Commands) -> None:
    p = c.add("alerts", cmd_alerts, "alert rules: backtest one against the stored items", [c.listing])
    p.add_argument("action", choices=("test",), help="test: list what the rule would have sent")
    p.add_argument("alert", metavar="ALERT", help="the alert's name")
    p = c.add("digest", cmd_digest, "render an alert's pending digest without sending it")
    p.add_argument("action", choices=("preview",), help="preview: render what would go now")
    p.add_argument("alert", metavar="ALERT", help="the alert's name")
    p.add_argument("--part", choices=("text", "html", "json"), default="text",
                   help="which rendering to print: the email's text or HTML part, or the webhook JSON")
    p.add_argument("--open", action="store_true",
                   help="write the HTML part to a file a browser can open, and print its path")
    p = c.add("digests", cmd_digests, "digest history and delivery state; retry a failed delivery",
              [c.listing, c.strict])
    p.add_argument("action", nargs="?", choices=("list", "show", "retry"), default="list",
                   help="list (default), show ID, or retry ID: send its failed deliveries now")
    p.add_argument("id", nargs="?", metavar="ID", help="digest id (or a unique start of it) for show and retry")


def _state_commands(c: _Commands) -> None:
    p = c.add("advisories", cmd_advisories, "current official advisory levels, every issuer side by side",
              [c.listing])
    p.add_argument("--country", metavar="ISO2", help="only this country (ISO 3166-1 alpha-2, e.g. AZ)")
    c.add("status", cmd_status, "sources and alerts at a glance", [c.listing])
    p = c.add("db", cmd_db, "database schema: upgrade it to this program's, or show its revision")
    p.add_argument("action", choices=("upgrade", "current"), help="upgrade: migrate in place; current: show revision")
    c.add("trips", cmd_trips, "trips with their legs, past, active or upcoming, and official levels", [c.listing])


def _setup_logging(args: argparse.Namespace) -> None:
    from monitor.service.logs import configure_logging

    # The daemon reports each event (polls that stored something, digests, reloads); tools only warn.
    configure_logging(debug=getattr(args, "debug", False), fmt=getattr(args, "log_format", "text"),
                      events=args.command == "run")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args)
    from monitor.errors import MonitorError

    try:
        return int(args.handler(args))
    except MonitorError as exc:
        if args.debug:
            log.exception("failed")
        sys.stderr.write(f"advisory-monitor {args.command}: error: {escape_line(redact_text(str(exc)))}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
