"""``scoreboard test RULES_TEST.yaml``: unit tests of alert rules, like ``promtool test rules``.

Exit codes: 0 every test passed, 1 a test failed, 2 the file (or its spec) is invalid.
"""

from __future__ import annotations

import click

from scoreboard.alerts.testing import junit_xml, load_test_file, run_case


@click.command("test")
@click.argument("test_file", type=click.Path(dir_okay=False))
@click.option("--junit", type=click.Path(dir_okay=False), help="Also write JUnit XML here.")
def command(test_file: str, junit: str | None) -> int:
    """Run the alert rule tests in TEST_FILE."""
    tests, rules, _ = load_test_file(test_file)
    results = [run_case(case, rules) for case in tests.tests]
    for result in results:
        mark = "PASS" if result.passed else "FAIL"
        click.echo(f"{mark}  {result.name}")
        for failure in result.failures:
            click.echo(f"      {failure}")
    failed = sum(not r.passed for r in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if junit:
        with open(junit, "w", encoding="utf-8") as fh:
            fh.write(junit_xml(test_file, results))
    return 1 if failed else 0
