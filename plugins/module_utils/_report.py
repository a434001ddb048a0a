# Copyright (c) 2026, the m365.photos contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Private to the m365.photos collection: not a public API, may change without notice.

"""Report of a photo sync run: report.json, summary.md and a self-contained index.html.

Everything that comes from module results (user names, messages, reasons) is untrusted: it is escaped for
HTML and Markdown, and a thumbnail becomes a data: URI only when it decodes as a JPEG or PNG.

Over 350 lines on purpose: the three renderings of one report model (JSON, Markdown, HTML) stay side by
side, so a field added to the model is seen in all three.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import html
import json
import os
import re
import urllib.parse

from ansible_collections.m365.photos.plugins.module_utils._photo_files import make_private_folder, write_private

SIDES = ("ad", "cloud")
SIDE_TITLES = {"ad": "Active Directory", "cloud": "Microsoft 365 (Graph)"}
FILES = {"json": "report.json", "markdown": "summary.md", "html": "index.html"}
# Entry keys copied to report.json; thumbnails are left out on purpose (they are for the HTML page only).
ENTRY_KEYS = ("identity", "user", "user_id", "dn", "state", "changed", "failed", "msg", "reason",
              "before", "after", "similarity", "backup_file")
FACT_KEYS = ("bytes", "sha256", "width", "height", "format", "etag")
# A thumbnail is ~96 px; anything far larger is not one and would bloat the page.
MAX_THUMBNAIL_BYTES = 256 * 1024
_IMAGE_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
# Lists in summary.md stay short: GitHub caps a step summary at 1 MiB, and people read the top anyway.
MARKDOWN_LIST_LIMIT = 50
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# What GitHub turns into links or notifications: @mentions (an @ not inside an address), scheme:// and www.
_AUTOLINK = re.compile(r"((?<![\w.+-])@|:(?=//)|(?<![\w.])www(?=\.))", re.I)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


class ReportError(Exception):
    """Input the report cannot be built from; the message says what to fix."""


def utc_run_id(now: datetime.datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ")


def check_run_id(run_id: str) -> str:
    if not RUN_ID_PATTERN.match(run_id or "") or run_id in (".", ".."):
        raise ReportError(
            "run_id %r cannot name a folder: use letters, digits, '.', '_' and '-' only (at most 128 characters, "
            "starting with a letter or digit), such as 20261127T143000Z or a CI pipeline id." % (run_id,))
    return run_id


# ---------------------------------------------------------------------------------------------------------
# Model: registered results → tenants, sides, entries
# ---------------------------------------------------------------------------------------------------------

def _text(value) -> str:
    return "" if value is None else str(value)


def _count(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def entry_name(entry: dict) -> str:
    """The user an entry is about: identity (AD), user (Graph), or the module argument of a loop item."""
    for key in ("identity", "user", "user_id", "dn"):
        if entry.get(key):
            return _text(entry[key])
    args = (entry.get("invocation") or {}).get("module_args") or {}
    for key in ("identity", "user"):
        if args.get(key):
            return _text(args[key])
    return "(unknown user)"


def entry_status(entry: dict) -> str:
    if entry.get("failed"):
        return "failed"
    if entry.get("skipped"):
        return "skipped"
    return "changed" if entry.get("changed") else "unchanged"


def _facts(value) -> dict | None:
    if not isinstance(value, dict):
        return None
    return {key: value[key] for key in FACT_KEYS if key in value}


def thumbnail_data_uri(value) -> str | None:
    """A data: URI for a base64 JPEG or PNG thumbnail; None for anything else (never passed through as given)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        data = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not data or len(data) > MAX_THUMBNAIL_BYTES:
        return None
    for signature, mime in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            # Re-encoded from the decoded bytes, so the URI holds nothing but base64 characters.
            return "data:%s;base64,%s" % (mime, base64.b64encode(data).decode("ascii"))
    return None


def _entry(raw) -> dict:
    """One result entry, cleaned for report.json, with its thumbnails kept aside for the HTML page."""
    if not isinstance(raw, dict):
        raw = {"failed": True, "msg": "the result entry is not a dict: %s" % _text(raw)[:200]}
    entry = {key: raw[key] for key in ENTRY_KEYS if key in raw}
    entry["name"] = entry_name(raw)
    entry["status"] = entry_status(raw)
    entry["changed"] = bool(raw.get("changed"))
    entry["failed"] = bool(raw.get("failed"))
    entry["msg"] = _text(raw.get("msg"))
    entry["before"] = _facts(raw.get("before"))
    entry["after"] = _facts(raw.get("after"))
    entry["backup_file"] = _text(raw["backup_file"]) if raw.get("backup_file") else None
    thumbnails = {"before": thumbnail_data_uri(raw.get("before_thumbnail")),
                  "after": thumbnail_data_uri(raw.get("after_thumbnail"))}
    return {"entry": entry, "thumbnails": thumbnails}


def _summary_of(entries: list[dict]) -> dict:
    statuses = [item["entry"]["status"] for item in entries]
    return {"entries": len(statuses), "changed": statuses.count("changed"),
            "unchanged": statuses.count("unchanged") + statuses.count("skipped"), "failed": statuses.count("failed")}


def _side_summary(entries: list | None, reported) -> dict:
    """The counts of the entries listed (None: no results), else those the module reported: where the entries are
    only the changed and failed users (return_unchanged=false) and agree with it, its count of the others."""
    counted = _summary_of(entries or [])
    if not isinstance(reported, dict):
        return counted
    claimed = {key: _count(reported.get(key)) for key in ("entries", "changed", "unchanged", "failed")}
    agrees = (not counted["unchanged"] and claimed["unchanged"] >= 0 and (claimed["changed"], claimed["failed"]) == (counted["changed"], counted["failed"])
              and claimed["entries"] == claimed["changed"] + claimed["unchanged"] + claimed["failed"])
    return claimed if entries is None or agrees else counted


def _side_report(run: dict) -> dict:
    """A run of one bulk module (one tenant, one side): status, message, summary and entries."""
    result = run.get("result")
    if not isinstance(result, dict):
        result = {"failed": True, "msg": "no result was registered for this run"}
    raw_entries = result.get("results")
    entries = [_entry(raw) for raw in raw_entries] if isinstance(raw_entries, list) else []
    summary = _side_summary(entries if isinstance(raw_entries, list) else None, result.get("summary"))
    if not result:
        status, msg = "failed", "no result was registered: the task did not run"
    elif result.get("skipped"):
        status, msg = "skipped", _text(result.get("skip_reason") or result.get("msg") or "skipped")
    elif (result.get("failed") or result.get("unreachable")) and not summary["failed"]:
        # A bulk module that fails because some entries failed has said so per entry: the run itself is not
        # a failure of its own then. Without failed entries it is (bad credentials, unreachable host, ...).
        status, msg = "failed", _text(result.get("msg")) or "the task failed without a message"
    else:
        status, msg = "ok", ""
    return {"status": status, "msg": msg, "summary": summary, "entries": entries}


def _merge(first: dict, second: dict) -> dict:
    """Two runs of the same tenant and side (e.g. two forests) make one side report."""
    ranking = ("ok", "skipped", "failed")
    status = max(first["status"], second["status"], key=ranking.index)
    msgs = [msg for msg in (first["msg"], second["msg"]) if msg]
    summary = {key: first["summary"][key] + second["summary"][key] for key in first["summary"]}
    return {"status": status, "msg": "; ".join(msgs), "summary": summary, "entries": first["entries"] + second["entries"]}


def _check_run(index: int, run) -> tuple[str, str]:
    if not isinstance(run, dict):
        raise ReportError("runs[%d] must be a dict with tenant, side and result." % index)
    tenant, side = _text(run.get("tenant")).strip(), _text(run.get("side"))
    if not tenant:
        raise ReportError("runs[%d] has no tenant: name the tenant (the inventory host) the result belongs to." % index)
    if side not in SIDES:
        raise ReportError("runs[%d] has side %r: use 'ad' or 'cloud'." % (index, side))
    return tenant, side


def _audit_finding(index: int, raw) -> dict:
    if not isinstance(raw, dict) or not _text(raw.get("tenant")).strip() or not _text(raw.get("finding")).strip():
        raise ReportError("audit[%d] needs at least tenant and finding." % index)
    return {key: _text(raw.get(key)) for key in ("tenant", "user", "finding", "detail")}


def _add(totals: dict, summary: dict) -> None:
    for key in ("entries", "changed", "unchanged", "failed"):
        totals[key] += summary[key]


def build(runs: list, audit: list | None, run_id: str, generated_at: datetime.datetime) -> dict:
    """The whole report as one structure; its thumbnails are stripped by as_json()."""
    tenants: dict[str, dict] = {}
    for index, run in enumerate(runs or []):
        tenant, side = _check_run(index, run)
        sides = tenants.setdefault(tenant, {"sides": {}, "audit": []})["sides"]
        report = _side_report(run)
        sides[side] = _merge(sides[side], report) if side in sides else report
    findings = [_audit_finding(index, raw) for index, raw in enumerate(audit or [])]
    for finding in findings:
        tenants.setdefault(finding["tenant"], {"sides": {}, "audit": []})["audit"].append(finding)
    totals = {"tenants": len(tenants), "runs": 0, "failed_runs": 0, "entries": 0, "changed": 0, "unchanged": 0,
              "failed": 0, "audit_findings": len(findings)}
    for data in tenants.values():
        data["sides"] = {side: data["sides"][side] for side in SIDES if side in data["sides"]}
        data["summary"] = {"entries": 0, "changed": 0, "unchanged": 0, "failed": 0}
        for report in data["sides"].values():
            totals["runs"] += 1
            totals["failed_runs"] += report["status"] == "failed"
            _add(data["summary"], report["summary"])
            _add(totals, report["summary"])
    return {"run_id": run_id, "generated_at": generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "totals": totals,
            "tenants": tenants, "audit": findings}


def as_json(report: dict) -> str:
    """report.json: every tenant, side and entry, without thumbnails."""
    tenants = {}
    for tenant, data in report["tenants"].items():
        sides = {side: {"status": side_report["status"], "msg": side_report["msg"], "summary": side_report["summary"],
                        "entries": [item["entry"] for item in side_report["entries"]]}
                 for side, side_report in data["sides"].items()}
        tenants[tenant] = {"summary": data["summary"], "sides": sides, "audit": data["audit"]}
    document = {"run_id": report["run_id"], "generated_at": report["generated_at"], "totals": report["totals"],
                "tenants": tenants, "audit": report["audit"]}
    return json.dumps(document, indent=2, sort_keys=False, default=str) + "\n"


# ---------------------------------------------------------------------------------------------------------
# summary.md
# ---------------------------------------------------------------------------------------------------------

def md(value) -> str:
    """Untrusted text as inert Markdown on one line: HTML escaped (GitHub renders HTML), metacharacters quoted,
    and no autolink or @mention (a zero-width space breaks each: GitHub links and notifies on rendered text)."""
    flat = " ".join(_text(value).split())
    return _AUTOLINK.sub("\\1\u200b", _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False)))


def _md_list(items: list[str], more_hint: str) -> list[str]:
    lines = ["- " + item for item in items[:MARKDOWN_LIST_LIMIT]]
    if len(items) > MARKDOWN_LIST_LIMIT:
        lines.append("- … and %d more (%s)" % (len(items) - MARKDOWN_LIST_LIMIT, more_hint))
    return lines


def _counted(number: int, singular: str, plural: str) -> str:
    return "%d %s" % (number, singular if number == 1 else plural)


def _totals_sentence(totals: dict) -> str:
    text = "%s, %s: %d changed, %d unchanged, %d failed" % (
        _counted(totals["tenants"], "tenant", "tenants"), _counted(totals["entries"], "user", "users"),
        totals["changed"], totals["unchanged"], totals["failed"])
    if totals["failed_runs"]:
        text += "; %s failed as a whole" % _counted(totals["failed_runs"], "run", "runs")
    if totals["audit_findings"]:
        text += "; %s" % _counted(totals["audit_findings"], "audit finding", "audit findings")
    return text + "."


def as_markdown(report: dict) -> str:
    lines = ["## Photo sync report %s" % md(report["run_id"]), "",
             "Generated %s. %s" % (report["generated_at"], _totals_sentence(report["totals"])), ""]
    for tenant, data in report["tenants"].items():
        lines += ["### %s" % md(tenant), ""]
        if data["sides"]:
            lines += ["| side | entries | changed | unchanged | failed | status |",
                      "|---|---:|---:|---:|---:|---|"]
            for side, side_report in data["sides"].items():
                counts = side_report["summary"]
                status = side_report["status"] + (": " + md(side_report["msg"]) if side_report["msg"] else "")
                lines.append("| %s | %d | %d | %d | %d | %s |" % (
                    side, counts["entries"], counts["changed"], counts["unchanged"], counts["failed"], status))
            lines.append("")
        failed, changed = [], []
        for side, side_report in data["sides"].items():
            if side_report["status"] == "failed":
                failed.append("**%s, whole run**: %s" % (side, md(side_report["msg"])))
            for item in side_report["entries"]:
                entry = item["entry"]
                if entry["status"] == "failed":
                    failed.append("**%s** (%s): %s" % (md(entry["name"]), side, md(entry["msg"] or "failed")))
                elif entry["status"] == "changed":
                    changed.append("%s (%s): %s" % (md(entry["name"]), side, md(entry.get("reason") or "changed")))
        if failed:
            lines += ["Failed:", ""] + _md_list(failed, "see report.json") + [""]
        if changed:
            lines += ["Changed:", ""] + _md_list(changed, "see report.json") + [""]
        if data["audit"]:
            findings = ["%s: **%s** %s" % (md(finding["user"] or "(whole tenant)"), md(finding["finding"]), md(finding["detail"]))
                        for finding in data["audit"]]
            lines += ["Audit findings:", ""] + _md_list(findings, "see report.json") + [""]
    if not report["tenants"]:
        lines += ["No runs were reported.", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------
# index.html
# ---------------------------------------------------------------------------------------------------------

def h(value) -> str:
    return html.escape(_text(value), quote=True)


_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
header{background:#1d2330;color:#fff;padding:20px 32px}
header h1{margin:0 0 6px;font-size:22px}
.totals{display:flex;flex-wrap:wrap;gap:10px;margin-top:12px}
.total{background:#2c3446;border-radius:6px;padding:6px 12px}
.total b{font-size:18px;margin-right:4px}
main{padding:8px 32px 40px;max-width:1200px}
section.tenant{background:#fff;border-radius:8px;margin:24px 0;padding:16px 20px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{margin:4px 0 12px;font-size:19px}
h3{font-size:16px;margin:18px 0 8px}
table{border-collapse:collapse;margin:6px 0 12px}
th,td{border-bottom:1px solid #e3e6eb;padding:5px 12px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;background:#e3e6eb}
.changed{background:#dbeafe;color:#1e40af}.failed{background:#fee2e2;color:#991b1b}
.ok,.unchanged{background:#dcfce7;color:#166534}.skipped{background:#fef9c3;color:#854d0e}
.runfail{background:#fee2e2;color:#7f1d1d;border-radius:6px;padding:8px 12px;margin:8px 0}
.user{border-top:1px solid #e3e6eb;padding:12px 0}
.user .who{word-break:break-all;margin-bottom:8px}
.sides{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:16px}
.side{display:grid;grid-template-columns:auto auto 1fr;gap:12px;align-items:start}
.side .sidename{grid-column:1/-1}
.side .dn{color:#5b6475;font-size:12px}
figure{margin:0;text-align:center;font-size:12px;color:#5b6475;width:112px}
figure img,.nophoto{width:96px;height:96px;border-radius:6px;object-fit:cover;border:1px solid #d5d9e0;display:block;margin:0 auto 4px}
.nophoto{display:flex;align-items:center;justify-content:center;color:#5b6475;
  background:repeating-linear-gradient(45deg,#f1f2f5,#f1f2f5 6px,#e6e8ed 6px,#e6e8ed 12px)}
.why{font-size:14px}.why.err{color:#991b1b}
.muted{color:#5b6475}
"""


def _facts_text(facts: dict | None) -> str:
    if not facts:
        return ""
    parts = []
    if facts.get("width") and facts.get("height"):
        parts.append("%sx%s px" % (facts["width"], facts["height"]))
    if isinstance(facts.get("bytes"), int):
        parts.append("{0:,} bytes".format(facts["bytes"]))
    if facts.get("format"):
        parts.append(_text(facts["format"]))
    return ", ".join(parts)


def _figure(label: str, facts: dict | None, uri: str | None, name: str) -> str:
    if uri:
        picture = '<img src="%s" alt="%s">' % (uri, h("%s photo of %s" % (label, name)))
    else:
        picture = '<div class="nophoto">%s</div>' % ("no preview" if facts else "no photo")
    return "<figure>%s<figcaption><b>%s</b><br>%s</figcaption></figure>" % (picture, label, h(_facts_text(facts)))


def _side_cell(side: str, item: dict) -> str:
    """One side of a user: its status, before and after, and why."""
    entry, thumbnails = item["entry"], item["thumbnails"]
    name = entry["name"]
    status = entry["status"]
    dn = '<div class="dn">%s</div>' % h(entry["dn"]) if entry.get("dn") and entry["dn"] != name else ""
    if status == "failed":
        why = '<div class="why err">%s</div>' % h(entry["msg"] or "failed")
    else:
        why = '<div class="why">%s</div>' % h(entry.get("reason") or "")
    if isinstance(entry.get("similarity"), (int, float)):
        why += '<div class="muted">similarity %.2f</div>' % entry["similarity"]
    if item.get("backup_href"):
        why += '<div class="muted">backup of before: <a href="%s" title="%s">%s</a></div>' % (
            h(item["backup_href"]), h(entry["backup_file"]), h(os.path.basename(entry["backup_file"])))
    return ('<div class="side"><div class="sidename"><span class="badge">%s</span> <span class="badge %s">%s</span>%s</div>'
            '%s%s<div>%s</div></div>') % (
        side, status, status, dn,
        _figure("before", entry.get("before"), thumbnails["before"], name),
        _figure("after", entry.get("after"), thumbnails["after"], name), why)


def _changed_or_failed_users(sides: dict) -> list:
    """Each user changed or failed on any side, with every side's entry of that user: {side: item}, sorted by name."""
    users: dict = {}
    for side, side_report in sides.items():
        for item in side_report["entries"]:
            users.setdefault(item["entry"]["name"].lower(), {})[side] = item
    return [users[name] for name in sorted(users)
            if any(item["entry"]["status"] in ("failed", "changed") for item in users[name].values())]


def _user_row(by_side: dict) -> str:
    """One user, both sides next to each other (a side the run did not touch says so)."""
    name = next(iter(by_side.values()))["entry"]["name"]
    cells = [_side_cell(side, by_side[side]) if side in by_side else
             '<div class="side muted"><span class="badge">%s</span> not in this run</div>' % side for side in SIDES]
    return '<div class="user"><div class="who"><b>%s</b></div><div class="sides">%s</div></div>' % (
        h(name), "".join(cells))


def _summary_table(sides: dict) -> str:
    rows = []
    for side, side_report in sides.items():
        counts = side_report["summary"]
        rows.append('<tr><td>%s</td><td class="n">%d</td><td class="n">%d</td><td class="n">%d</td><td class="n">%d</td>'
                    '<td><span class="badge %s">%s</span></td></tr>' % (
                        h(SIDE_TITLES[side]), counts["entries"], counts["changed"], counts["unchanged"], counts["failed"],
                        side_report["status"], side_report["status"]))
    return ("<table><thead><tr><th>side</th><th>entries</th><th>changed</th><th>unchanged</th><th>failed</th>"
            "<th>status</th></tr></thead><tbody>%s</tbody></table>" % "".join(rows))


def _audit_table(findings: list[dict], with_tenant: bool) -> str:
    head = ("<th>tenant</th>" if with_tenant else "") + "<th>user</th><th>finding</th><th>detail</th>"
    rows = "".join("<tr>%s<td>%s</td><td><code>%s</code></td><td>%s</td></tr>" % (
        "<td>%s</td>" % h(finding["tenant"]) if with_tenant else "", h(finding["user"]), h(finding["finding"]),
        h(finding["detail"])) for finding in findings)
    return "<table><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (head, rows)


def _tenant_section(tenant: str, data: dict) -> str:
    parts = ['<section class="tenant"><h2>%s</h2>' % h(tenant)]
    if data["sides"]:
        parts.append(_summary_table(data["sides"]))
    for side, side_report in data["sides"].items():
        if side_report["status"] == "failed":
            parts.append('<div class="runfail"><b>%s failed as a whole:</b> %s</div>' % (
                h(SIDE_TITLES[side]), h(side_report["msg"])))
    rows = [_user_row(by_side) for by_side in _changed_or_failed_users(data["sides"])]
    if rows:
        parts.append("<h3>Changed and failed users</h3>")
        parts.extend(rows)
    elif data["sides"]:
        parts.append('<p class="muted">No user changed or failed.</p>')
    if data["audit"]:
        parts.append("<h3>Audit findings</h3>" + _audit_table(data["audit"], with_tenant=False))
    parts.append("</section>")
    return "\n".join(parts)


def as_html(report: dict) -> str:
    totals = report["totals"]
    tiles = [("tenants", totals["tenants"]), ("users", totals["entries"]), ("changed", totals["changed"]),
             ("unchanged", totals["unchanged"]), ("failed", totals["failed"]), ("failed runs", totals["failed_runs"]),
             ("audit findings", totals["audit_findings"])]
    header = ('<header><h1>Photo sync report</h1><div>Run %s, generated %s</div><div class="totals">%s</div></header>' % (
        h(report["run_id"]), h(report["generated_at"]),
        "".join('<div class="total"><b>%d</b>%s</div>' % (value, label) for label, value in tiles)))
    body = [_tenant_section(tenant, data) for tenant, data in report["tenants"].items()]
    if not body:
        body.append('<p class="muted">No runs were reported.</p>')
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; style-src \'unsafe-inline\'">'
            '<title>Photo sync report %s</title><style>%s</style></head>\n<body>%s\n<main>\n%s\n</main></body></html>\n' % (
                h(report["run_id"]), _CSS, header, "\n".join(body)))


# ---------------------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------------------

def _link_backups(report: dict, folder: str) -> None:
    """Each backup as a link relative to the report's folder, so a copied report dir with its backups works."""
    for data in report["tenants"].values():
        for side_report in data["sides"].values():
            for item in side_report["entries"]:
                backup = item["entry"].get("backup_file")
                if backup:
                    item["backup_href"] = urllib.parse.quote(os.path.relpath(backup, folder))


def write_report(dest: str, runs: list, audit: list | None = None, run_id: str | None = None,
                 now: datetime.datetime | None = None, dry_run: bool = False) -> dict:
    """Build the report and write it to dest/<run_id>/ (unless dry_run); return paths, totals and whether written."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    run_id = check_run_id(run_id if run_id else utc_run_id(now))
    report = build(runs, audit, run_id, now)
    folder = os.path.join(dest, run_id)
    _link_backups(report, folder)
    paths = {key: os.path.join(folder, name) for key, name in FILES.items()}
    contents = {"json": as_json(report), "markdown": as_markdown(report), "html": as_html(report)}
    if not dry_run:
        try:
            make_private_folder(folder)
            for key, text in contents.items():
                write_private(paths[key], text.encode("utf-8"))
        except OSError as error:
            raise ReportError("Cannot write the report to %s: %s." % (folder, error.strerror or error)) from None
    return {"changed": True, "path": folder, "totals": report["totals"], **paths}
