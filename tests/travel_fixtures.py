"""Shared by the sites and trips tests: the real gazetteer (from the shipped rules) and configs."""

from __future__ import annotations

from pathlib import Path

from monitor.classify.engine import load_engine
from monitor.classify.gazetteer import Gazetteer
from monitor.config import Config, parse_config


def gazetteer() -> Gazetteer:
    return load_engine().gazetteer


def travel_config(tmp_path: Path, body: str) -> Config:
    text = f"database: sqlite:///{tmp_path}/monitor.db\nsources: [{{name: news, kind: files, path: {tmp_path}}}]\n"
    path = tmp_path / "config.yaml"
    path.write_text(text + body, encoding="utf-8")
    return parse_config(text + body, str(path), base=tmp_path)
