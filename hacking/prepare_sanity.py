"""Prepare an ansible-test sanity run that works offline and on a plain checkout.

Usage: prepare_sanity.py [--include PATH]... ROOT DEST

ansible-test refuses a symlinked collection root, so the checkout's files (tracked and
untracked-but-not-ignored) that the built collection ships (galaxy.yml's build_ignore) are
mirrored into DEST; tests/output there is kept, so the sanity virtualenvs survive between runs.
--include PATH mirrors the files under PATH too although build_ignore leaves them out
(hacking/integration-targets.sh mirrors tests/integration so). DEST gets a git repository of its
own: ansible-test lists files with git, and would otherwise find the checkout's repository, where
DEST is ignored. ansible-test --venv also downloads a pip bootstrap script from a host this network
cannot reach: a stand-in is put where it looks first.
"""
import argparse
import fnmatch
import inspect
import os
import re
import shutil
import subprocess

import yaml
from ansible_test._internal import python_requirements

HERE = os.path.dirname(os.path.abspath(__file__))
KEEP = {os.path.join("tests", "output"), ".git"}


def install_pip_bootstrap() -> None:
    version = re.search(r"pip='([0-9.]+)'", inspect.getsource(python_requirements)).group(1)
    cache = os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % version.replace(".", "_"))
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    shutil.copyfile(os.path.join(HERE, "get_pip_standin.py"), cache)


def build_ignored(relative: str, patterns: list) -> bool:
    parts = relative.split(os.sep)
    prefixes = [os.sep.join(parts[:end]) for end in range(1, len(parts) + 1)]
    return any(fnmatch.fnmatch(candidate, pattern) for candidate in prefixes + parts for pattern in patterns)


def under(relative: str, folder: str) -> bool:
    folder = os.path.normpath(folder)
    return relative == folder or relative.startswith(folder + os.sep)


def checkout_files(root: str, include: tuple = ()) -> set:
    with open(os.path.join(root, "galaxy.yml"), encoding="utf-8") as galaxy:
        patterns = yaml.safe_load(galaxy).get("build_ignore") or []
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, check=True, capture_output=True,
    ).stdout.decode()
    return {name for name in listing.split("\0")
            if name and os.path.isfile(os.path.join(root, name))
            and (not build_ignored(name, patterns) or any(under(name, folder) for folder in include))}


def mirror(root: str, dest: str, include: tuple = ()) -> None:
    wanted = checkout_files(root, include)
    for dirpath, dirnames, filenames in os.walk(dest, topdown=True):
        relative_dir = os.path.relpath(dirpath, dest)
        dirnames[:] = [d for d in dirnames if os.path.normpath(os.path.join(relative_dir, d)) not in KEEP]
        for filename in filenames:
            relative = os.path.normpath(os.path.join(relative_dir, filename))
            if relative not in wanted:
                os.remove(os.path.join(dirpath, filename))
    for relative in wanted:
        source, target = os.path.join(root, relative), os.path.join(dest, relative)
        if os.path.exists(target) and os.path.getmtime(target) >= os.path.getmtime(source) \
                and os.path.getsize(target) == os.path.getsize(source):
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(source, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--include", action="append", default=[], metavar="PATH",
                        help="also mirror the files under PATH (relative to ROOT) that build_ignore leaves out")
    parser.add_argument("root")
    parser.add_argument("dest")
    args = parser.parse_args()
    root, dest = os.path.abspath(args.root), os.path.abspath(args.dest)
    install_pip_bootstrap()
    os.makedirs(dest, exist_ok=True)
    if not os.path.isdir(os.path.join(dest, ".git")):
        subprocess.run(["git", "init", "--quiet", dest], check=True)
        with open(os.path.join(dest, ".git", "info", "exclude"), "a", encoding="utf-8") as exclude:
            exclude.write("tests/output/\n")
    mirror(root, dest, tuple(args.include))


if __name__ == "__main__":
    main()
