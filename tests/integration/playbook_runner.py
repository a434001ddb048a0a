"""Run real playbooks against the sandbox and read back what the servers hold.

The sandbox settings come from the environment that `make integration` exports from
.sandbox/env (see docs/sandbox.md). Without them these tests fail rather than skip: a
skipped integration suite would pass CI without testing anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sandbox_setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail("%s is not set: run the integration tests with `make integration`, which starts the sandbox "
                    "and exports .sandbox/env" % name)
    return value


@dataclass
class TaskOutcome:
    result: dict
    stdout: str

    @property
    def failed(self) -> bool:
        return bool(self.result.get("failed"))

    @property
    def changed(self) -> bool:
        return bool(self.result.get("changed"))

    @property
    def msg(self) -> str:
        return str(self.result.get("msg", ""))


def run_task(task: dict, *, module_defaults: dict | None = None, check: bool = False, diff: bool = False,
             interpreter: str | None = None, cwd: str | None = None, env: dict | None = None) -> TaskOutcome:
    """Run one task in a real ansible-playbook run on localhost and return its registered result.

    env adds environment variables to the run (the module sees them too).
    """
    return run_tasks([task], module_defaults=module_defaults, check=check, diff=diff, interpreter=interpreter,
                     cwd=cwd, env=env)[0]


def remote_host() -> dict:
    """The sandbox's sshd as a managed host: the inventory variables that reach it over ansible_connection=ssh."""
    return dict(ansible_connection="ssh", ansible_host=sandbox_setting("SANDBOX_SSH_HOST"),
                ansible_port=int(sandbox_setting("SANDBOX_SSH_PORT")), ansible_user=sandbox_setting("SANDBOX_SSH_USER"),
                ansible_ssh_private_key_file=sandbox_setting("SANDBOX_SSH_KEY"),
                # No shared master connection: each run logs its own login in the sshd log, which tests count.
                ansible_ssh_args="-o ControlMaster=no -o ControlPersist=no",
                ansible_ssh_common_args="-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes"
                % sandbox_setting("SANDBOX_SSH_KNOWN_HOSTS"))


def run_tasks(tasks: list, *, module_defaults: dict | None = None, check: bool = False, diff: bool = False,
              interpreter: str | None = None, cwd: str | None = None, env: dict | None = None,
              remote: bool = False) -> list:
    """Run several independent tasks in one ansible-playbook run (one start-up); a TaskOutcome for each.

    Every task runs even when an earlier one fails. remote: on the sandbox's sshd (remote_host()), not on
    localhost with the local connection.
    """
    with tempfile.TemporaryDirectory(prefix="m365-photos-it-") as workdir:
        outcome_path = os.path.join(workdir, "outcome.json")
        # Settings (secrets among them) go through a vars file, as a real playbook would take them
        # from a vault: Ansible quotes the playbook's own lines when a task fails.
        vars_path = os.path.join(workdir, "settings.yml")
        with open(vars_path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(dict(test_module_defaults=module_defaults or {}), handle)
        inventory = os.path.join(workdir, "inventory.yml")
        with open(inventory, "w", encoding="utf-8") as handle:
            host = dict(remote_host()) if remote else dict(ansible_connection="local")
            yaml.safe_dump({"all": {"hosts": {"managed": host}}}, handle)
        play = dict(
            hosts="managed", gather_facts=False, vars_files=[vars_path],
            vars=dict(ansible_python_interpreter=interpreter or sys.executable),
            module_defaults={group: "{{ test_module_defaults[%r] }}" % group for group in module_defaults or {}},
            tasks=[dict(task, name="task %d under test" % number, register="outcome_%d" % number, ignore_errors=True)
                   for number, task in enumerate(tasks)] + [
                {"name": "keep the outcomes", "ansible.builtin.copy": dict(
                    content="{{ [%s] | to_json }}" % ", ".join("outcome_%d" % number for number in range(len(tasks))),
                    dest=outcome_path), "check_mode": False, "diff": False},
            ],
        )
        playbook = os.path.join(cwd or workdir, "playbook-%d.yml" % os.getpid())
        with open(playbook, "w", encoding="utf-8") as handle:
            yaml.safe_dump([play], handle, sort_keys=False)
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, playbook] + (["--check"] if check else []) + (["--diff"] if diff else [])
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                                       cwd=cwd or workdir, env=dict(os.environ, ANSIBLE_NOCOLOR="1", **(env or {})))
        finally:
            if cwd:
                os.remove(playbook)
        if not os.path.exists(outcome_path):
            raise AssertionError("ansible-playbook did not run the task:\n%s\n%s" % (completed.stdout, completed.stderr))
        with open(outcome_path, encoding="utf-8") as handle:
            return [TaskOutcome(result, completed.stdout + completed.stderr) for result in json.load(handle)]
