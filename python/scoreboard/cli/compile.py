"""``scoreboard compile SPEC [-o plan.json]``: the compiled plan, for embedding in services."""

from __future__ import annotations

import click

from scoreboard.cli.output import emit
from scoreboard.plan import compile_spec
from scoreboard.spec import load_spec


@click.command("compile")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write the plan JSON here (load it with scoreboard.Plan.load).",
)
@click.option("--explain", is_flag=True, help="Print a readable summary instead of JSON.")
def command(spec: str, output: str | None, explain: bool) -> None:
    """Compile SPEC and print (or write) the plan."""
    plan = compile_spec(load_spec(spec))
    if output:
        plan.save(output)
        click.echo(f"wrote {output} (plan {plan.plan_hash[:12]})", err=True)
    elif explain:
        emit(plan.explain() + "\n", None)
    else:
        emit(plan.to_json(indent=2) + "\n", None)
