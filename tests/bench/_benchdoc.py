"""Benchmarks write their tables into one Markdown file, each between its own markers."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


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


def table_command(description: str, name: str, title: str, table, add_options=None) -> None:
    """A benchmark's command line: print table(arguments), and with --write FILE put it in FILE's section name."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--write", type=Path, help="Markdown file whose {0} section to replace".format(name))
    if add_options:
        add_options(parser)
    arguments = parser.parse_args()
    body = table(arguments)
    print(body)
    if arguments.write:
        replace_section(str(arguments.write), name, "## {0}\n\n{1}".format(title, body))
