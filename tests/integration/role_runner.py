"""The photo_sync role in a real ansible-playbook run for one tenant, contoso: the sandbox DC and a private emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from playbook_runner import sandbox_setting


def run_role(workdir: str, graph: Sandbox, run_id: str, *, check: bool = False, fails: bool = False,
             **variables) -> dict | None:
    """One ansible-playbook run of the role for tenant contoso (failing when fails); the sides of its report."""
    report = run_role_hosts(workdir, graph, run_id, {"contoso": variables}, check=check, fails=fails)
    return report["tenants"]["contoso"]["sides"] if report is not None else None


def run_role_hosts(workdir: str, graph: Sandbox, run_id: str, hosts: dict, *, check: bool = False,
                   fails: bool = False) -> dict | None:
    """One ansible-playbook run of the role for hosts (name -> variables of its own), each reaching the sandbox DC and
    graph; its whole report."""
    common = dict(
        ansible_connection="local", ansible_python_interpreter=sys.executable,
        photo_sync_photo_dir=os.path.join(workdir, "photos"), photo_sync_report_dir=os.path.join(workdir, "reports"),
        photo_sync_run_id=run_id,
        photo_sync_ldap=dict(server=sandbox_setting("SANDBOX_LDAP_HOST"), port=int(sandbox_setting("SANDBOX_LDAP_PORT")),
                             ca_file=sandbox_setting("SANDBOX_LDAP_CA_FILE"),
                             bind_dn=sandbox_setting("SANDBOX_LDAP_BIND_DN"),
                             bind_password=sandbox_setting("SANDBOX_LDAP_BIND_PASSWORD")),
        photo_sync_graph=graph.defaults()["group/m365.photos.graph"])
    inventory = {"tenants": {"hosts": {name: dict(common, **variables) for name, variables in hosts.items()}}}
    inventory_path, playbook = os.path.join(workdir, "inventory.yml"), os.path.join(workdir, "sync.yml")
    with open(os.open(inventory_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle)
    with open(playbook, "w", encoding="utf-8") as handle:
        yaml.safe_dump([{"hosts": "tenants", "gather_facts": False, "roles": ["m365.photos.photo_sync"]}], handle)
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory_path, playbook]
    completed = subprocess.run(command + (["--check"] if check else []), capture_output=True, text=True,
                               timeout=600, check=False, cwd=workdir)
    report_path = os.path.join(workdir, "reports", run_id, "report.json")
    assert (completed.returncode != 0) == fails, completed.stdout[-4000:] + completed.stderr[-2000:]
    if not os.path.exists(report_path):
        return None
    with open(report_path, encoding="utf-8") as handle:
        return json.load(handle)
