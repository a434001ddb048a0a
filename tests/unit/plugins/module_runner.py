"""Run a module's main() in-process with the given arguments, catching its exit_json / fail_json."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes


class ModuleExit(Exception):
    def __init__(self, result: dict, failed: bool) -> None:
        super().__init__(result.get("msg", ""))
        self.result = result
        self.failed = failed


def run_module(monkeypatch, module, args: dict, check_mode: bool = False) -> ModuleExit:
    """main() of module with args; the ModuleExit it ended with (result and whether it failed)."""
    arguments = dict(args, _ansible_check_mode=check_mode, _ansible_diff=True)
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": arguments})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)

    def exit_json(self, **result):
        raise ModuleExit(result, failed=False)

    def fail_json(self, msg, **result):
        raise ModuleExit(dict(result, msg=msg, failed=True), failed=True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    with pytest.raises(ModuleExit) as ended:
        module.main()
    return ended.value
