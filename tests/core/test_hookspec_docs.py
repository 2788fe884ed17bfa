"""Every hook a plugin may implement is documented with an Example that runs."""

from __future__ import annotations

import doctest
import inspect
from collections.abc import Callable
from typing import Any

import pytest

import vamoh
from vamoh.plugins import hookspecs

SPEC_MARKER = "vamoh_spec"  # the attribute pluggy's HookspecMarker("vamoh") sets
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def hookspec_functions(module: Any) -> dict[str, Callable[..., Any]]:
    return {
        name: function
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if hasattr(function, SPEC_MARKER)
    }


def documentation_problems(function: Callable[..., Any]) -> list[str]:
    """Why ``function``'s docstring does not document it for plugin authors (empty when fine)."""
    doc = inspect.getdoc(function)
    if not doc:
        return ["has no docstring"]
    problems = []
    if "Example:" not in doc:
        problems.append("has no 'Example:' section")
    if not doctest.DocTestParser().get_examples(doc):
        problems.append("has no runnable '>>>' example")
    return problems


def run_examples(function: Callable[..., Any], name: str) -> tuple[int, int, str]:
    """(failures, attempts, report) of the doctest examples in ``function``'s docstring."""
    found = doctest.DocTestFinder(recurse=False).find(function, name, globs={})
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=FLAGS, verbose=False)
    for test in found:
        runner.run(test, out=report.append)
    return runner.failures, runner.tries, "".join(report)


HOOKS = hookspec_functions(hookspecs)


def test_the_known_hooks_are_all_specified() -> None:
    expected = {
        "vamoh_modalities",
        "vamoh_readers",
        "vamoh_likelihoods",
        "vamoh_coordinate_systems",
        "vamoh_callbacks",
        "vamoh_trainer_settings",
    }
    assert expected <= set(HOOKS)
    registered = {name for name in vars(vamoh.plugins.manager().hook) if name.startswith("vamoh_")}
    assert registered == set(HOOKS), "every hook the manager knows is a documented hookspec"


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hookspec_is_documented(name: str) -> None:
    problems = documentation_problems(HOOKS[name])
    assert not problems, f"hookspec {name} {' and '.join(problems)}; document it for plugin authors"


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hookspec_example_runs(name: str) -> None:
    failures, attempts, report = run_examples(HOOKS[name], name)
    assert attempts > 0, f"hookspec {name} has no example to run"
    assert failures == 0, f"the Example of hookspec {name} fails:\n{report}"


def test_the_checks_catch_an_undocumented_hook() -> None:
    marker = vamoh.plugins.hookspec

    @marker
    def vamoh_undocumented() -> list[Any]:
        pass

    @marker
    def vamoh_prose_only() -> list[Any]:
        """Contribute things, with no example."""

    @marker
    def vamoh_broken_example() -> list[Any]:
        """Contribute things.

        Example:
            >>> 1 + 1
            3
        """

    assert documentation_problems(vamoh_undocumented) == ["has no docstring"]
    assert len(documentation_problems(vamoh_prose_only)) == 2
    assert documentation_problems(vamoh_broken_example) == []
    failures, attempts, report = run_examples(vamoh_broken_example, "vamoh_broken_example")
    assert (failures, attempts) == (1, 1) and "Expected" in report
