"""``scoreboard validate SPEC``: load and compile; print every problem as FILE:LINE:COL."""

from __future__ import annotations

import click

from scoreboard.cli.output import emit
from scoreboard.plan import compile_spec
from scoreboard.spec import load_spec


@click.command("validate")
@click.argument("spec", type=click.Path(dir_okay=False))
def command(spec: str) -> None:
    """Check SPEC; exit 0 when valid, 2 with every problem located when not."""
    plan = compile_spec(load_spec(spec))
    emit(f"{spec}: valid ({len(plan.metrics)} metrics, plan {plan.plan_hash[:12]})\n", None)
