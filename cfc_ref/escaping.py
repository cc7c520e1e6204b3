"""Text from an input, made safe for where it is shown (spec E-11.4): one helper per kind of output, shared by every
writer, so that a setting or encoder name in a results.json can add no table row, heading, link or formula.

    markdown("max_17\n| forged |")    # 'max_17 \\| forged \\|': one cell of a markdown table or one line of text
    code("a`b")                        # text for a `code span`
    figure("$x$")                      # '\\$x\\$': a matplotlib label, no mathtext
    one_line("a\nb")                   # 'a b': a terminal line

CSV files are written with the csv module, whose quoting is CSV's own escaping.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`\[\]|<>#])")  # structure: cells, links, HTML, headings, code, escapes


def one_line(text: object) -> str:
    """Every run of control characters (newlines included) as one space."""
    return _CONTROL.sub(" ", str(text))


def markdown(text: object) -> str:
    """Inline markdown text: one line, and every character that could make structure — a table cell (``|``), a
    heading (``#``), a link or image (``[`` ``]``), HTML (``<`` ``>``), code (`` ` ``) or an escape (``\\``) — escaped
    with a backslash, so that it shows as itself. Emphasis (``*``, ``_``) is left alone: it makes no structure, and
    setting names are full of underscores."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(text))


def code(text: object) -> str:
    """Text for a markdown code span: one line, backticks replaced by ``'`` (a code span cannot escape them)."""
    return one_line(text).replace("`", "'")


def figure(text: object) -> str:
    """A matplotlib text: one line, ``$`` escaped so that nothing is read as mathtext."""
    return one_line(text).replace("$", r"\$")
