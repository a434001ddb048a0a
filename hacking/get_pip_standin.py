# Stand-in for the pip bootstrap script that ansible-test --venv downloads from a host this
# network cannot reach: it runs pip from the wheel bundled with Python's ensurepip, which
# then installs the requested pip version from the package registry.
import glob
import os
import runpy
import sys

import ensurepip

bundled = glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl"))
if not bundled:
    sys.exit("ensurepip has no bundled pip wheel; install python3-venv / python3-pip")
sys.path.insert(0, bundled[0])
# get-pip.py options that pip itself does not know.
arguments = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.argv = ["pip", "install"] + arguments
runpy.run_module("pip", run_name="__main__", alter_sys=True)
