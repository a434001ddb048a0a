"""Benchmarks write their tables into one Markdown file, each between its own markers."""

from __future__ import annotations

import os


def replace_section(path: str, name: str, section: str) -> None:
    """Put section between <!-- name:start --> and <!-- name:end --> in path, appending it the first time."""
    start, end = "<!-- %s:start -->" % name, "<!-- %s:end -->" % name
    block = "%s\n%s\n%s" % (start, section.rstrip("\n"), end)
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else "# Benchmarks\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
