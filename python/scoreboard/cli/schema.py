"""``scoreboard schema``: the JSON Schema of the spec, for editor autocompletion."""

from __future__ import annotations

import json

import click

from scoreboard.cli.output import emit
from scoreboard.spec import spec_json_schema


@click.command("schema")
def command() -> None:
    """Print the JSON Schema of spec files."""
    emit(json.dumps(spec_json_schema(), indent=2) + "\n", None)
