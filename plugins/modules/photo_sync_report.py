#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: photo_sync_report
short_description: Write a report of a photo sync run for people, CI job summaries and machines
version_added: 0.1.0
description:
  - Takes the registered results of the bulk forms of M(m365.photos.ad_thumbnail_photo) and
    M(m365.photos.exchange_online_photo), one per tenant and side, and writes three files into a new folder
    O(dest)/O(run_id)/.
  - C(report.json) holds, per tenant and side, the summary and every entry (without thumbnails), the audit
    findings, the totals, the run id and the time it was generated.
  - C(summary.md) is a short Markdown summary (a table per tenant, the failed users with their messages, the
    changed users, the audit findings) that can be appended to C($GITHUB_STEP_SUMMARY).
  - C(index.html) is a self-contained page (inline CSS, pictures as C(data:) URIs, no script, no external
    resource) showing every changed or failed user with the before and after pictures side by side. The
    pictures are the entries' C(before_thumbnail) and C(after_thumbnail), returned by the bulk modules with
    C(return_thumbnails=true); without them a placeholder is shown. Where an entry names a C(backup_file)
    (the modules' O(m365.photos.ad_thumbnail_photo#module:backup) option), the page links it, relative to the
    run's folder.
  - Everything taken from the results (user names, messages, reasons) is treated as untrusted and escaped. A
    thumbnail is embedded only when it is valid base64 of a JPEG or PNG.
  - Runs on the controller; use it with C(delegate_to=localhost) and C(run_once=true) after the sync tasks, and
    gather the results of every tenant (inventory host) through C(hostvars).
author:
  - m365.photos team (@m365-photos)
options:
  runs:
    description:
      - The results to report, one item per tenant and side.
      - Two items with the same tenant and side are merged (for example two forests of one tenant).
    type: list
    elements: dict
    required: true
    suboptions:
      tenant:
        description:
          - Name of the tenant, usually the inventory host name.
        type: str
        required: true
      side:
        description:
          - V(ad) for a result of M(m365.photos.ad_thumbnail_photo), V(cloud) for a result of
            M(m365.photos.exchange_online_photo).
        type: str
        required: true
        choices: [ad, cloud]
      result:
        description:
          - The registered result of the bulk module, with its C(results) and C(summary).
          - A failed result with only C(msg) (bad credentials, unreachable server) shows the whole run as
            failed; a skipped result shows it as skipped; an empty dict (the task did not run) as failed.
        type: dict
        required: true
  audit:
    description:
      - Drift findings to show in a section of their own in all three files, for example from an audit with
        M(m365.photos.ad_thumbnail_photo_info) and M(m365.photos.exchange_online_photo_info).
    type: list
    elements: dict
    default: []
    suboptions:
      tenant:
        description:
          - The tenant the finding is about.
        type: str
        required: true
      user:
        description:
          - The user the finding is about; leave out for a finding about the whole tenant.
        type: str
      finding:
        description:
          - A short key naming the finding, such as V(ad_photo_too_large), V(cloud_photo_differs) or
            V(no_photo_anywhere).
        type: str
        required: true
      detail:
        description:
          - A sentence with the details.
        type: str
  dest:
    description:
      - Folder on the controller in which the run's folder is created (the folder itself is created when missing).
    type: path
    required: true
  run_id:
    description:
      - Name of the run's folder under O(dest), for example a CI pipeline id. Letters, digits, C(.), C(_) and
        C(-) only.
      - Defaults to the current UTC time, such as C(20261127T143000Z).
      - The files of an existing folder of that name are replaced.
    type: str
extends_documentation_fragment:
  - m365.photos._attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode the report is computed and nothing is written; the returned paths say where it would go.
  diff_mode:
    support: none
notes:
  - The report always counts as a change when it is written, because each report is a new file.
seealso:
  - module: m365.photos.ad_thumbnail_photo
  - module: m365.photos.exchange_online_photo
"""

EXAMPLES = r"""
# In the play that syncs the tenants (one inventory host per tenant), after the bulk tasks registered
# photo_sync_ad_result and photo_sync_cloud_result. ansible_play_hosts_all also lists the tenants
# whose tasks failed, so their failure is reported too.
- name: Report every tenant's photo sync, once, on the controller
  m365.photos.photo_sync_report:
    runs: >-
      {%- set report = namespace(runs=[]) -%}
      {%- for tenant in ansible_play_hosts_all -%}
      {%-   for side in ['ad', 'cloud'] if ('photo_sync_' ~ side ~ '_result') in hostvars[tenant] -%}
      {%-     set report.runs = report.runs + [{'tenant': tenant, 'side': side,
                                               'result': hostvars[tenant]['photo_sync_' ~ side ~ '_result']}] -%}
      {%-   endfor -%}
      {%- endfor -%}
      {{ report.runs }}
    dest: "{{ playbook_dir }}/reports"
    run_id: "{{ lookup('ansible.builtin.env', 'GITHUB_RUN_ID') | default(omit, true) }}"
  delegate_to: localhost
  run_once: true
  register: photo_report

- name: Add the summary to the GitHub Actions job summary
  ansible.builtin.shell: cat "{{ photo_report.markdown }}" >> "$GITHUB_STEP_SUMMARY"
  delegate_to: localhost
  run_once: true
  changed_when: false
  when: lookup('ansible.builtin.env', 'GITHUB_STEP_SUMMARY') | length > 0

- name: One tenant, with audit findings
  m365.photos.photo_sync_report:
    runs:
      - tenant: contoso
        side: ad
        result: "{{ photo_sync_ad_result }}"
    audit:
      - tenant: contoso
        user: alice@contoso.com
        finding: ad_photo_too_large
        detail: thumbnailPhoto is 48,211 bytes; Exchange Online takes at most 10,240 from Entra ID
    dest: /var/lib/photo-reports
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
path:
  description: The run's folder, O(dest)/O(run_id).
  returned: success
  type: str
  sample: /srv/reports/20261127T143000Z
json:
  description: Path of C(report.json).
  returned: success
  type: str
  sample: /srv/reports/20261127T143000Z/report.json
markdown:
  description: Path of C(summary.md).
  returned: success
  type: str
  sample: /srv/reports/20261127T143000Z/summary.md
html:
  description: Path of C(index.html).
  returned: success
  type: str
  sample: /srv/reports/20261127T143000Z/index.html
totals:
  description: Counts over all tenants and sides.
  returned: success
  type: dict
  contains:
    tenants:
      description: Tenants reported.
      type: int
    runs:
      description: Tenant and side pairs reported.
      type: int
    failed_runs:
      description: Runs that failed as a whole (no entries to show).
      type: int
    entries:
      description: Users (entries) over all runs.
      type: int
    changed:
      description: Entries that changed.
      type: int
    unchanged:
      description: Entries left as they were.
      type: int
    failed:
      description: Entries that failed.
      type: int
    audit_findings:
      description: Audit findings reported.
      type: int
  sample: {tenants: 3, runs: 6, failed_runs: 0, entries: 150, changed: 12, unchanged: 137, failed: 1, audit_findings: 4}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.m365.photos.plugins.module_utils import _report


def argument_spec() -> dict:
    return dict(
        runs=dict(type="list", elements="dict", required=True, options=dict(
            tenant=dict(type="str", required=True),
            side=dict(type="str", required=True, choices=list(_report.SIDES)),
            result=dict(type="dict", required=True),
        )),
        audit=dict(type="list", elements="dict", default=[], options=dict(
            tenant=dict(type="str", required=True),
            user=dict(type="str"),
            finding=dict(type="str", required=True),
            detail=dict(type="str"),
        )),
        dest=dict(type="path", required=True),
        run_id=dict(type="str"),
    )


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    try:
        result = _report.write_report(params["dest"], params["runs"], params["audit"], run_id=params["run_id"],
                                      dry_run=module.check_mode)
    except _report.ReportError as error:
        module.fail_json(msg=str(error))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
