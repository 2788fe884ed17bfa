"""Griffe extension for the docs build: read Google-style ``Example:`` sections as ``Examples:``.

vamoh's docstrings head their doctests ``Example:``. Griffe's Google parser only knows the plural
as a section; the singular becomes an admonition whose ``>>>`` lines render as nested quotes
(and whose ``x["a"]["b"]`` reads as a Markdown link). Renaming the heading before parsing makes
every doctest render as a highlighted code block.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

__all__ = ["ExampleSections", "pluralise_example_headings"]

_SINGULAR_HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


def pluralise_example_headings(text: str) -> str:
    """``Example:`` heading lines become ``Examples:``; nothing else changes.

    Example:
        >>> pluralise_example_headings("Add.\\n\\nExample:\\n    >>> 1 + 1\\n    2")
        'Add.\\n\\nExamples:\\n    >>> 1 + 1\\n    2'
    """
    return _SINGULAR_HEADING.sub(r"\1Examples:", text)


class ExampleSections(Extension):
    """Applies :func:`pluralise_example_headings` to every docstring griffe loads.

    Example:
        >>> isinstance(ExampleSections(), Extension)
        True
    """

    def on_object(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = pluralise_example_headings(obj.docstring.value)
