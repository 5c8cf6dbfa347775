"""Checking and classifying without a database: ``check`` (the config), ``classify`` files,
``rules check|test|eval``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from monitor.cli.common import emit, load


def cmd_check(args: argparse.Namespace) -> int:
    """The config as ``run`` would take it up: keys, the rules, the alert rules against them, and
    every alert's templates rendered on a sample digest. Any problem is a config error (exit 2)."""
    from monitor.classify import load_engine
    from monitor.dispatch.checks import check_config
    from monitor.errors import ConfigError
    from monitor.sources.extract import load_boilerplate

    config = load(args, delivering=True)  # what `run` will need, secrets included
    engine = load_engine(config.rules)
    load_boilerplate(config.rules)
    errors = check_config(config, engine)
    if errors:
        raise ConfigError([p for e in errors for p in e.problems],
                          hint="fix the templates; until then `once` and `run` hold these alerts and send the others")
    sources, alerts = len(config.sources), len(config.alerts)
    emit(f"config OK: {sources} source{'s' if sources != 1 else ''}, {alerts} alert{'s' if alerts != 1 else ''}")
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from monitor.classify import load_engine
    from monitor.classify.batch import classify_paths
    from monitor.sources.extract import load_boilerplate

    rule_dirs = [Path(d) for d in args.rules or ()]
    engine = load_engine(rule_dirs)
    boilerplate = load_boilerplate(rule_dirs)
    color = args.format == "text" and sys.stdout.isatty()
    for text in classify_paths(args.paths, engine, boilerplate, args.format, color, args.jobs):
        sys.stdout.write(text)
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    from monitor.classify.ruletests import check_rules

    rule_dirs = [Path(d) for d in args.rules or ()]
    if args.action == "check":
        problems = check_rules(rule_dirs)
        for problem in problems:
            sys.stderr.write(f"{problem}\n")
        if problems:
            sys.stderr.write(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found\n")
            return 2
        emit("rules OK")
        return 0
    if args.action == "eval":
        return _rules_eval(args, rule_dirs)
    from monitor.classify.ruletests import run_rule_tests

    report = run_rule_tests(rule_dirs)
    if args.format == "json":
        emit(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        for line in report.lines():
            emit(line)
    return 0 if report.ok else 1


def _rules_eval(args: argparse.Namespace, rule_dirs: list[Path]) -> int:
    from monitor.classify import load_engine
    from monitor.classify.evaluate import evaluate, load_passages
    from monitor.errors import UsageError
    from monitor.sources.extract import load_boilerplate

    if not args.labelled:
        raise UsageError("rules eval needs a labelled set: advisory-monitor rules eval LABELLED.json",
                         "a JSON array or JSON Lines of {id, text, countries, mentioned_only, threats, severity}")
    path = Path(args.labelled)
    passages = load_passages(path, load_boilerplate(rule_dirs))
    report = evaluate(load_engine(rule_dirs), passages, str(path))
    if args.format == "json":
        emit(json.dumps(report.as_dict(args.worst), ensure_ascii=False))
    else:
        for line in report.lines(args.worst):
            emit(line)
    return 0
