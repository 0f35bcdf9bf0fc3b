"""tests/fresh_root.py finds the README's quick-start commands (it runs them as written)."""

from __future__ import annotations

import fresh_root
import pytest


def test_the_readme_gives_the_three_commands_the_fresh_root_runs() -> None:
    commands = fresh_root.quick_start_commands(fresh_root.README.read_text())
    assert commands.packages.startswith("sudo apt-get update && sudo apt-get install -y ")
    assert "python3-venv" in commands.packages.split()
    # The system Python of Debian and Ubuntu refuses pip install (PEP 668): a venv first.
    for command in (commands.start, commands.test):
        assert command.startswith("python3 -m venv .venv && .venv/bin/pip install -e ")
    assert commands.start.endswith("&& .venv/bin/orderdesk")
    assert '".[test]"' in commands.test and "pytest" in commands.test


def test_an_ambiguous_quick_start_is_an_error_not_a_guess() -> None:
    blocks = [
        "sudo apt-get install -y a",
        "pip install -e . && orderdesk",
        "a && pytest",
        "b && pytest",
    ]
    readme = "## Quick start\n" + "".join(f"\n```bash\n{block}\n```\n" for block in blocks)
    with pytest.raises(fresh_root.Failed, match="one test block, found 2"):
        fresh_root.quick_start_commands(readme)


def test_ci_ends_with_the_readmes_test_command_as_written() -> None:
    commands = fresh_root.quick_start_commands(fresh_root.README.read_text())
    ci_run = (fresh_root.REPO / ".ci" / "run").read_text().strip().splitlines()
    assert ci_run[-1] == commands.test
