"""The photo sync report: three files, untrusted text escaped, only real thumbnails embedded."""

from __future__ import annotations

import base64
import datetime
import io
import json
import os
import re

import pytest
from PIL import Image

from ansible_collections.m365.photos.plugins.module_utils import _report

NOW = datetime.datetime(2026, 11, 27, 14, 30, 0, tzinfo=datetime.timezone.utc)
HOSTILE = "<script>alert('x')</script>"


def thumbnail(colour=(200, 40, 40), fmt="JPEG") -> str:
    out = io.BytesIO()
    Image.new("RGB", (96, 96), colour).save(out, fmt)
    return base64.b64encode(out.getvalue()).decode("ascii")


def facts(size=9000) -> dict:
    return {"bytes": size, "sha256": "ab" * 32, "width": 240, "height": 240, "format": "JPEG"}


def ad_result() -> dict:
    return {
        "changed": True,
        "results": [
            {"identity": "user0001", "dn": "CN=user0001,OU=Staff,DC=test,DC=example", "state": "present",
             "changed": True, "failed": False, "msg": "", "reason": "the current photo shows a different picture",
             "before": facts(48211), "after": facts(), "similarity": 0.41,
             "before_thumbnail": thumbnail((10, 10, 200)), "after_thumbnail": thumbnail()},
            {"identity": "user0002", "state": "present", "changed": False, "failed": False, "msg": "",
             "reason": "the current photo shows the same picture", "before": facts(), "after": facts(), "similarity": 0.97},
            {"identity": "user0003", "state": "present", "changed": False, "failed": True,
             "msg": "No user matches user0003 under DC=test,DC=example.", "before": None, "after": None},
        ],
        "summary": {"entries": 3, "changed": 1, "unchanged": 1, "failed": 1},
    }


def cloud_result() -> dict:
    return {
        "changed": True,
        "results": [
            {"user": "user0001@test.example", "user_id": "7c3a3f0e", "state": "present", "changed": True, "failed": False,
             "msg": "", "reason": "the user has no photo", "before": None, "after": facts(91234),
             "after_thumbnail": thumbnail(fmt="PNG")},
            {"user": "user0004@test.example", "state": "present", "changed": False, "failed": False, "msg": "",
             "reason": "the current photo shows the same picture", "before": facts(), "after": facts()},
        ],
        "summary": {"entries": 2, "changed": 1, "unchanged": 1, "failed": 0},
    }


def runs() -> list:
    return [
        {"tenant": "contoso", "side": "ad", "result": ad_result()},
        {"tenant": "contoso", "side": "cloud", "result": cloud_result()},
        {"tenant": "fabrikam", "side": "cloud",
         "result": {"failed": True, "msg": "AADSTS7000215: the client secret is wrong: give the secret's value."}},
    ]


@pytest.fixture(name="written")
def written_report(tmp_path) -> dict:
    return _report.write_report(str(tmp_path), runs(), [], run_id="run-1", now=NOW)


def read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def test_the_three_files_are_written_into_the_run_folder(tmp_path, written):
    folder = tmp_path / "run-1"
    assert written["path"] == str(folder) and written["changed"]
    assert sorted(os.listdir(folder)) == ["index.html", "report.json", "summary.md"]
    assert (written["json"], written["markdown"], written["html"]) == (
        str(folder / "report.json"), str(folder / "summary.md"), str(folder / "index.html"))


def test_run_id_defaults_to_the_utc_timestamp(tmp_path):
    result = _report.write_report(str(tmp_path), runs(), now=NOW)
    assert os.path.basename(result["path"]) == "20261127T143000Z"


@pytest.mark.parametrize("run_id", ["..", "../escape", "a/b", "", "-x", "x" * 200])
def test_run_id_that_is_not_a_plain_folder_name_is_refused(tmp_path, run_id):
    with pytest.raises(_report.ReportError, match="run_id"):
        _report.write_report(str(tmp_path), runs(), run_id=run_id or "x y", now=NOW)


def test_check_mode_computes_everything_and_writes_nothing(tmp_path):
    result = _report.write_report(str(tmp_path / "reports"), runs(), run_id="dry", now=NOW, dry_run=True)
    assert result["totals"]["entries"] == 5
    assert result["html"] == str(tmp_path / "reports" / "dry" / "index.html")
    assert not (tmp_path / "reports").exists()


def test_json_holds_every_entry_and_the_totals_without_thumbnails(written):
    document = json.loads(read(written["json"]))
    assert document["run_id"] == "run-1" and document["generated_at"] == "2026-11-27T14:30:00Z"
    assert document["totals"] == {"tenants": 2, "runs": 3, "failed_runs": 1, "entries": 5, "changed": 2,
                                  "unchanged": 2, "failed": 1, "audit_findings": 0}
    ad = document["tenants"]["contoso"]["sides"]["ad"]
    assert ad["summary"] == {"entries": 3, "changed": 1, "unchanged": 1, "failed": 1}
    assert [entry["identity"] for entry in ad["entries"]] == ["user0001", "user0002", "user0003"]
    assert ad["entries"][0]["before"]["bytes"] == 48211 and ad["entries"][0]["similarity"] == 0.41
    assert "thumbnail" not in read(written["json"])


def test_a_failed_run_with_only_a_message_is_shown_as_failed_everywhere(written):
    fabrikam = json.loads(read(written["json"]))["tenants"]["fabrikam"]["sides"]["cloud"]
    assert fabrikam["status"] == "failed" and fabrikam["msg"].startswith("AADSTS7000215")
    assert fabrikam["summary"] == {"entries": 0, "changed": 0, "unchanged": 0, "failed": 0}
    markdown = read(written["markdown"])
    assert "| cloud | 0 | 0 | 0 | 0 | failed: AADSTS7000215" in markdown
    assert "**cloud, whole run**: AADSTS7000215" in markdown
    assert "failed as a whole:</b> AADSTS7000215" in read(written["html"])


def test_markdown_table_counts_match_the_entries(written):
    rows = re.findall(r"^\| (ad|cloud) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\w+)", read(written["markdown"]), re.M)
    assert rows == [("ad", "3", "1", "1", "1", "ok"), ("cloud", "2", "1", "1", "0", "ok"),
                    ("cloud", "0", "0", "0", "0", "failed")]


def test_markdown_lists_failed_users_before_changed_users(written):
    markdown = read(written["markdown"])
    contoso = markdown[markdown.index("### contoso"):markdown.index("### fabrikam")]
    assert contoso.index("Failed:") < contoso.index("user0003") < contoso.index("Changed:")
    assert "No user matches user0003" in contoso
    assert "user0001@test.example (cloud): the user has no photo" in contoso
    assert "user0002" not in contoso  # unchanged users are only counted


def test_counts_come_from_the_entries_not_from_a_summary_that_disagrees(tmp_path):
    result = ad_result()
    result["summary"] = {"entries": 99, "changed": 99, "unchanged": 0, "failed": 0}
    report = _report.write_report(str(tmp_path), [{"tenant": "t", "side": "ad", "result": result}], now=NOW,
                                  dry_run=True)
    assert report["totals"]["entries"] == 3 and report["totals"]["changed"] == 1


@pytest.mark.parametrize("unchanged, counted", [(9997, 9997), (-5, 0)])
def test_a_run_that_listed_only_its_changes_adds_the_unchanged_users_it_counted(tmp_path, unchanged, counted):
    result = ad_result()  # as with return_unchanged=false: the unchanged user left out of results
    result["results"] = [entry for entry in result["results"] if entry["changed"] or entry["failed"]]
    result["summary"] = {"entries": unchanged + 2, "changed": 1, "unchanged": unchanged, "failed": 1}
    report = _report.write_report(str(tmp_path), [{"tenant": "t", "side": "ad", "result": result}], now=NOW,
                                  dry_run=True)
    assert (report["totals"]["entries"], report["totals"]["unchanged"]) == (counted + 2, counted)


def hostile_runs() -> list:
    entry = {"identity": HOSTILE, "dn": 'CN="><img src=x onerror=alert(1)>', "changed": True, "failed": False,
             "reason": "<b>bold</b> | pipe", "before": None, "after": facts(),
             "after_thumbnail": 'x" onerror="alert(1)'}
    failed = {"identity": "eve", "failed": True, "msg": "<iframe src=//evil></iframe>\n| forged | row |"}
    return [{"tenant": "<svg onload=alert(1)>", "side": "ad",
             "result": {"changed": True, "results": [entry, failed]}}]


def test_html_escapes_everything_taken_from_results(tmp_path):
    result = _report.write_report(str(tmp_path), hostile_runs(), [{"tenant": "t", "user": HOSTILE, "finding": "<x>",
                                                                   "detail": "<script>"}], run_id="h", now=NOW)
    page = read(result["html"])
    for raw in ("<script", "<img", "<iframe", "<svg", "<b>bold", "onerror=\"", "<x>"):
        assert raw not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "&lt;iframe src=//evil&gt;" in page


def test_markdown_escapes_html_and_cannot_forge_table_rows(tmp_path):
    result = _report.write_report(str(tmp_path), hostile_runs(), run_id="h", now=NOW)
    markdown = read(result["markdown"])
    assert "<script" not in markdown and "<iframe" not in markdown and "<svg" not in markdown
    assert "| forged |" not in markdown and "\\| forged \\| row \\|" in markdown
    assert not any(line.startswith("| forged") for line in markdown.splitlines())


def test_data_uris_come_only_from_valid_base64_images(tmp_path):
    page = read(_report.write_report(str(tmp_path), runs(), run_id="r", now=NOW)["html"])
    uris = re.findall(r'src="([^"]*)"', page)
    assert len(uris) == 3
    assert all(re.fullmatch(r"data:image/(jpeg|png);base64,[A-Za-z0-9+/=]+", uri) for uri in uris)
    assert any(uri.startswith("data:image/png") for uri in uris)


@pytest.mark.parametrize("value", [
    None, "", "not base64!", base64.b64encode(b"<svg onload=alert(1)></svg>").decode(), "x\" onerror=\"alert(1)",
    base64.b64encode(b"GIF89a....").decode(), "data:image/jpeg;base64,/9j/4AAQ",
    base64.b64encode(b"\xff\xd8\xff" + b"\0" * (_report.MAX_THUMBNAIL_BYTES + 1)).decode(),
])
def test_anything_but_a_base64_jpeg_or_png_thumbnail_is_dropped(value):
    assert _report.thumbnail_data_uri(value) is None


def test_users_without_thumbnails_get_a_placeholder(tmp_path):
    page = read(_report.write_report(str(tmp_path), hostile_runs(), run_id="p", now=NOW)["html"])
    assert page.count('<div class="nophoto">no photo</div>') == 3  # hostile user's before; eve's before and after
    assert page.count('<div class="nophoto">no preview</div>') == 1  # the hostile user's after: facts, no valid thumbnail


def test_html_is_self_contained(written):
    page = read(written["html"])
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "<style>" in page and "default-src 'none'" in page


def test_audit_findings_appear_in_all_three_files(tmp_path):
    audit = [{"tenant": "contoso", "user": "user0009", "finding": "ad_photo_too_large", "detail": "48,211 bytes"},
             {"tenant": "tailspin", "user": None, "finding": "no_photo_anywhere", "detail": None}]
    result = _report.write_report(str(tmp_path), runs(), audit, run_id="a", now=NOW)
    document = json.loads(read(result["json"]))
    assert document["totals"]["audit_findings"] == 2 and document["totals"]["tenants"] == 3
    assert document["tenants"]["contoso"]["audit"][0]["finding"] == "ad_photo_too_large"
    assert "ad\\_photo\\_too\\_large" in read(result["markdown"])
    assert "no\\_photo\\_anywhere" in read(result["markdown"])
    page = read(result["html"])
    assert "<code>ad_photo_too_large</code>" in page and "<h2>tailspin</h2>" in page


def test_skipped_and_missing_results(tmp_path):
    report = _report.write_report(str(tmp_path), [
        {"tenant": "a", "side": "ad", "result": {"skipped": True, "skip_reason": "Conditional result was False"}},
        {"tenant": "a", "side": "cloud", "result": {}},
    ], run_id="s", now=NOW)
    sides = json.loads(read(report["json"]))["tenants"]["a"]["sides"]
    assert sides["ad"]["status"] == "skipped" and sides["cloud"]["status"] == "failed"
    assert report["totals"]["failed_runs"] == 1


def test_a_bulk_run_that_failed_because_of_its_entries_is_not_a_failed_run(tmp_path):
    result = dict(ad_result(), failed=True, msg="1 of 3 photos failed")
    report = _report.write_report(str(tmp_path), [{"tenant": "t", "side": "ad", "result": result}], now=NOW,
                                  dry_run=True)
    assert report["totals"]["failed_runs"] == 0 and report["totals"]["failed"] == 1


def test_two_runs_of_one_tenant_and_side_are_merged(tmp_path):
    report = _report.write_report(str(tmp_path), [{"tenant": "t", "side": "ad", "result": ad_result()}] * 2,
                                  run_id="m", now=NOW)
    ad = json.loads(read(report["json"]))["tenants"]["t"]["sides"]["ad"]
    assert ad["summary"] == {"entries": 6, "changed": 2, "unchanged": 2, "failed": 2} and len(ad["entries"]) == 6


@pytest.mark.parametrize("bad_run, message", [
    ({"side": "ad", "result": {}}, "no tenant"),
    ({"tenant": "t", "side": "both", "result": {}}, "use 'ad' or 'cloud'"),
    ("contoso", "must be a dict"),
])
def test_malformed_runs_are_refused_with_a_message(tmp_path, bad_run, message):
    with pytest.raises(_report.ReportError, match=message):
        _report.write_report(str(tmp_path), [bad_run], now=NOW, dry_run=True)


def test_long_lists_are_cut_in_the_markdown_but_not_in_the_json(tmp_path):
    entries = [{"identity": "u%03d" % number, "changed": True, "reason": "new"} for number in range(120)]
    report = _report.write_report(str(tmp_path), [{"tenant": "t", "side": "ad", "result": {"results": entries}}],
                                  run_id="l", now=NOW)
    assert "and 70 more" in read(report["markdown"])
    assert len(json.loads(read(report["json"]))["tenants"]["t"]["sides"]["ad"]["entries"]) == 120


def test_unwritable_destination_is_a_report_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(_report.ReportError, match="Cannot write the report"):
        _report.write_report(str(blocker), runs(), run_id="x", now=NOW)


def test_each_backup_is_linked_relative_to_the_report_and_kept_in_the_json(tmp_path):
    backup = str(tmp_path / "backups" / "test.example" / "user0001" / '2026"><b>x.jpg')
    result = ad_result()
    result["results"][0]["backup_file"] = backup
    written = _report.write_report(str(tmp_path / "reports"), [{"tenant": "t", "side": "ad", "result": result}],
                                   run_id="r", now=NOW)
    page = read(written["html"])
    assert 'href="../../backups/test.example/user0001/2026%22%3E%3Cb%3Ex.jpg"' in page and "<b>x" not in page
    entries = json.loads(read(written["json"]))["tenants"]["t"]["sides"]["ad"]["entries"]
    assert [entry["backup_file"] for entry in entries] == [backup, None, None]


def test_markdown_neither_links_nor_mentions_what_results_say():
    text = _report.md("see https://evil.example/x or www.evil.example, cc @octocat @org/team, alice@contoso.com")
    assert "https://" not in text and "www." not in text and "@octocat" not in text and "@org" not in text
    assert text.replace("\u200b", "") == "see https://evil.example/x or www.evil.example, cc @octocat @org/team, " \
        "alice@contoso.com"  # nothing else changed: the breaks are invisible
    assert "alice@contoso.com" in text  # an address stays readable and copyable


def test_report_files_are_private_and_a_planted_symlink_is_not_written_through(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    folder = tmp_path / "reports" / "r"
    folder.mkdir(parents=True)
    os.symlink(victim, folder / "report.json.partial")
    written = _report.write_report(str(tmp_path / "reports"), runs(), [], run_id="r", now=NOW)
    assert victim.read_text() == "precious"
    for key in ("json", "markdown", "html"):
        assert oct(os.stat(written[key]).st_mode & 0o777) == "0o600"
    fresh = _report.write_report(str(tmp_path / "new"), runs(), [], run_id="r", now=NOW)
    assert oct(os.stat(fresh["path"]).st_mode & 0o777) == "0o700"


def test_a_user_shows_both_sides_in_one_row_matched_by_name_whatever_its_case(tmp_path):
    ad = {"results": [{"identity": "Alice@Test.Example", "dn": "CN=alice,DC=test,DC=example", "state": "present",
                       "changed": True, "failed": False, "msg": "", "reason": "refitted", "before": facts(48211),
                       "after": facts(9800)}]}
    cloud = {"results": [{"user": "alice@test.example", "state": "present", "changed": False, "failed": False,
                          "msg": "", "reason": "the current photo shows the same picture", "before": facts(),
                          "after": facts()},
                         {"user": "bob@test.example", "state": "present", "changed": True, "failed": False, "msg": "",
                          "reason": "the user has no photo", "before": None, "after": facts()}]}
    written = _report.write_report(str(tmp_path), [{"tenant": "t", "side": "ad", "result": ad},
                                                   {"tenant": "t", "side": "cloud", "result": cloud}], run_id="r", now=NOW)
    rows = read(written["html"]).split('<div class="user">')[1:]
    assert len(rows) == 2
    alice, bob = rows
    assert "Alice@Test.Example" in alice and "refitted" in alice and "the current photo shows the same picture" in alice
    assert alice.index('<span class="badge">ad</span>') < alice.index('<span class="badge">cloud</span>')
    assert "bob@test.example" in bob and "<span class=\"badge\">ad</span> not in this run" in bob
