"""The click group and the options every verb shares."""

from __future__ import annotations

import click

from . import alerts, compare, evaluate, export, gate, history, report, schema, validate
from . import compile as compile_cmd
from . import test as test_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="scoreboard", prog_name="scoreboard")
def cli() -> None:
    """Metrics-as-code for machine-learning models."""


for command in (
    validate.command,
    evaluate.command,
    gate.command,
    compare.command,
    report.command,
    export.command,
    history.command,
    compile_cmd.command,
    schema.command,
    alerts.command,
    test_cmd.command,
):
    cli.add_command(command)
