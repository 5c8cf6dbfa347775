"""Classification without config or database: ``classify`` files, ``rules check|test``."""

from __future__ import annotations

import argparse
import json
import sys

from monitor.cli.common import emit


def cmd_classify(args: argparse.Namespace) -> int:
    from pathlib import Path

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
    from pathlib import Path

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
    from monitor.classify.ruletests import run_rule_tests

    report = run_rule_tests(rule_dirs)
    if args.format == "json":
        emit(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        for line in report.lines():
            emit(line)
    return 0 if report.ok else 1
