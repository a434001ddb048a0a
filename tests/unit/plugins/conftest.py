"""Shared test helpers (photo_models, fakes) are importable from every test folder below this one."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
