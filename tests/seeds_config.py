"""A config over a folder holding copies of the seeds, with one alert on the Caucasus; tests add targets."""

from __future__ import annotations

from pathlib import Path

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def seeds_config(tmp_path: Path, targets: str, regions: str = "AZ, AM") -> Path:
    """``targets``: the alert's ``deliver:`` list items, as YAML lines indented by six spaces."""
    articles = tmp_path / "articles"
    articles.mkdir(exist_ok=True)
    for seed in SEEDS.glob("*.txt"):
        (articles / seed.name).write_bytes(seed.read_bytes())
    path = tmp_path / "config.yaml"
    path.write_text(f"""database: sqlite:///{tmp_path}/monitor.db
sources: [{{name: articles, kind: files, path: {articles}}}]
alerts:
  - name: caucasus
    match: {{regions: [{regions}], threats: [terrorism, kidnapping, armed_conflict]}}
    max_age: null
    deliver:
{targets}
""", encoding="utf-8")
    return path
