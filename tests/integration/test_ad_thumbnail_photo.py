"""ad_thumbnail_photo and ad_thumbnail_photo_info in real playbooks against the sandbox Samba AD DC.

Every test arranges and checks the directory over its own LDAP connection, so what is asserted
is what the server holds, not what the module said.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import ssl
import subprocess

import ldap3
import pytest
from PIL import Image

from ansible_collections.m365.photos.plugins.module_utils import _image

from photo_fixtures import b64, fixture_bytes, jpeg
from playbook_runner import run_task, sandbox_setting

EXCHANGE_ONLINE_LIMIT = 10240
HOSTILE_IDENTITIES = ["*)(objectClass=*", "*", "user0001)(|(cn=*", "user00*", "\\2a"]


@pytest.fixture(scope="module")
def ldap_defaults() -> dict:
    return {"group/m365.photos.ldap": dict(
        server=sandbox_setting("SANDBOX_LDAP_HOST"), port=int(sandbox_setting("SANDBOX_LDAP_PORT")),
        ca_file=sandbox_setting("SANDBOX_LDAP_CA_FILE"), bind_dn=sandbox_setting("SANDBOX_LDAP_BIND_DN"),
        bind_password=sandbox_setting("SANDBOX_LDAP_BIND_PASSWORD"))}


class Directory:
    """Direct LDAP access to the sandbox DC, independent of the code under test."""

    def __init__(self) -> None:
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=sandbox_setting("SANDBOX_LDAP_CA_FILE"))
        # "localhost": ldap3's own host name check cannot match IP addresses on every Python.
        server = ldap3.Server("localhost", port=int(sandbox_setting("SANDBOX_LDAP_PORT")), use_ssl=True, tls=tls)
        self.connection = ldap3.Connection(server, sandbox_setting("SANDBOX_LDAP_BIND_DN"),
                                           sandbox_setting("SANDBOX_LDAP_BIND_PASSWORD"), auto_bind=True)
        self.base_dn = sandbox_setting("SANDBOX_LDAP_BASE_DN")

    def user(self, sam: str) -> dict:
        self.connection.search(self.base_dn, "(sAMAccountName=%s)" % sam,
                               attributes=["thumbnailPhoto", "objectGUID", "userPrincipalName"])
        assert len(self.connection.entries) == 1, "sandbox user %s is missing" % sam
        entry = self.connection.response[0]
        return dict(dn=entry["dn"], photo=(entry["raw_attributes"].get("thumbnailPhoto") or [None])[0],
                    guid=str(entry["attributes"]["objectGUID"]).strip("{}"),
                    upn=entry["attributes"]["userPrincipalName"])

    def photo(self, sam: str) -> bytes | None:
        return self.user(sam)["photo"]

    def set_photo(self, sam: str, photo: bytes | None) -> None:
        values = [photo] if photo is not None else []
        assert self.connection.modify(self.user(sam)["dn"], {"thumbnailPhoto": [(ldap3.MODIFY_REPLACE, values)]}), \
            self.connection.result

    def all_users(self) -> list:
        entries = self.connection.extend.standard.paged_search(
            self.base_dn, "(&(objectCategory=person)(objectClass=user))", attributes=["thumbnailPhoto"],
            paged_size=500, generator=True)
        return [entry for entry in entries if entry["type"] == "searchResEntry"]


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory()


def photo_task(**options) -> dict:
    return {"m365.photos.ad_thumbnail_photo": options}


def assert_fits_and_shows(photo: bytes, source: bytes, max_bytes: int = EXCHANGE_ONLINE_LIMIT) -> None:
    assert photo is not None
    assert len(photo) <= max_bytes
    assert _image.describe(photo)["format"] == "JPEG"
    assert _image.compare(photo, source).same


def test_present_writes_a_photo_that_fits_the_exchange_online_limit(ldap_defaults, directory):
    directory.set_photo("user0001", None)
    source = fixture_bytes("astronaut.png")
    outcome = run_task(photo_task(identity="user0001", content=b64(source)), module_defaults=ldap_defaults)
    assert outcome.changed and not outcome.failed, outcome.result
    stored = directory.photo("user0001")
    assert_fits_and_shows(stored, source)
    assert outcome.result["after"]["sha256"] == hashlib.sha256(stored).hexdigest()
    assert outcome.result["before"] is None
    assert outcome.result["dn"] == directory.user("user0001")["dn"]


def test_second_run_reports_no_change_and_keeps_the_bytes(ldap_defaults, directory):
    directory.set_photo("user0002", None)
    source = fixture_bytes("chelsea.png")
    first = run_task(photo_task(identity="user0002", content=b64(source)), module_defaults=ldap_defaults)
    stored = directory.photo("user0002")
    second = run_task(photo_task(identity="user0002", content=b64(source)), module_defaults=ldap_defaults)
    assert first.changed and not second.changed, second.result
    assert directory.photo("user0002") == stored


def test_same_picture_encoded_differently_is_not_rewritten(ldap_defaults, directory):
    source = Image.open(io.BytesIO(fixture_bytes("astronaut.png")))
    directory.set_photo("user0003", jpeg(source.resize((160, 160)), quality=70))
    held = directory.photo("user0003")
    outcome = run_task(photo_task(identity="user0003", content=b64(fixture_bytes("astronaut.png"))),
                       module_defaults=ldap_defaults)
    assert not outcome.changed, outcome.result
    assert outcome.result["similarity"] >= _image.SAME_PICTURE_THRESHOLD
    assert directory.photo("user0003") == held


def test_check_mode_predicts_the_change_and_writes_nothing(ldap_defaults, directory):
    old = jpeg(Image.open(io.BytesIO(fixture_bytes("coffee.jpg"))).resize((96, 96)))
    directory.set_photo("user0004", old)
    outcome = run_task(photo_task(identity="user0004", content=b64(fixture_bytes("astronaut.png"))),
                       module_defaults=ldap_defaults, check=True)
    assert outcome.changed and not outcome.failed
    assert outcome.result["after"]["bytes"] <= EXCHANGE_ONLINE_LIMIT
    assert directory.photo("user0004") == old


def test_diff_shows_photo_facts_never_bytes(ldap_defaults, directory):
    directory.set_photo("user0005", jpeg(Image.open(io.BytesIO(fixture_bytes("coffee.jpg"))).resize((96, 96))))
    outcome = run_task(photo_task(identity="user0005", content=b64(fixture_bytes("rocket.jpg"))),
                       module_defaults=ldap_defaults, diff=True)
    diff = outcome.result["diff"]
    assert set(diff["before"]) == set(diff["after"]) == {"bytes", "sha256", "width", "height", "format"}
    assert diff["before"]["sha256"] != diff["after"]["sha256"]
    assert "sha256" in outcome.stdout and "thumbnailPhoto:" not in outcome.stdout


def test_absent_removes_the_photo_and_second_absent_changes_nothing(ldap_defaults, directory):
    directory.set_photo("user0006", jpeg(Image.new("RGB", (96, 96), "teal")))
    first = run_task(photo_task(identity="user0006", state="absent"), module_defaults=ldap_defaults)
    assert first.changed and directory.photo("user0006") is None
    second = run_task(photo_task(identity="user0006", state="absent"), module_defaults=ldap_defaults)
    assert not second.changed and not second.failed


def test_three_megabyte_photo_is_fitted_to_ten_kilobytes(ldap_defaults, directory, tmp_path):
    big = Image.open(io.BytesIO(fixture_bytes("astronaut.png"))).convert("RGB").resize((2000, 2000), Image.LANCZOS)
    source = tmp_path / "big.png"
    noise = Image.effect_noise((2000, 2000), 40).convert("RGB")
    Image.blend(big, noise, 0.1).save(source, "PNG")
    assert source.stat().st_size >= 3 * 1024 * 1024
    directory.set_photo("user0007", None)
    outcome = run_task(photo_task(identity="user0007", src=str(source)), module_defaults=ldap_defaults)
    assert outcome.changed and not outcome.failed, outcome.msg
    assert_fits_and_shows(directory.photo("user0007"), source.read_bytes())


def test_if_missing_keeps_an_existing_photo_and_fills_an_empty_one(ldap_defaults, directory):
    existing = jpeg(Image.open(io.BytesIO(fixture_bytes("coffee.jpg"))).resize((96, 96)))
    directory.set_photo("user0008", existing)
    directory.set_photo("user0009", None)
    source = b64(fixture_bytes("astronaut.png"))
    kept = run_task(photo_task(identity="user0008", content=source, overwrite="if_missing"), module_defaults=ldap_defaults)
    filled = run_task(photo_task(identity="user0009", content=source, overwrite="if_missing"), module_defaults=ldap_defaults)
    assert not kept.changed and directory.photo("user0008") == existing
    assert filled.changed and directory.photo("user0009") is not None


def test_overwrite_always_rewrites_the_same_picture(ldap_defaults, directory):
    source = Image.open(io.BytesIO(fixture_bytes("astronaut.png")))
    directory.set_photo("user0010", jpeg(source.resize((128, 128)), quality=60))
    outcome = run_task(photo_task(identity="user0010", content=b64(fixture_bytes("astronaut.png")), overwrite="always"),
                       module_defaults=ldap_defaults)
    assert outcome.changed
    assert_fits_and_shows(directory.photo("user0010"), fixture_bytes("astronaut.png"))


def test_a_clean_jpeg_within_budget_is_stored_as_it_is(ldap_defaults, directory):
    small = jpeg(Image.open(io.BytesIO(fixture_bytes("astronaut.png"))).resize((120, 120)), quality=80)
    assert len(small) <= EXCHANGE_ONLINE_LIMIT
    run_task(photo_task(identity="user0011", content=b64(small)), module_defaults=ldap_defaults)
    assert directory.photo("user0011") == small


def test_crop_top_stores_a_square_photo(ldap_defaults, directory):
    portrait = Image.open(io.BytesIO(fixture_bytes("astronaut.png"))).convert("RGB").crop((64, 0, 448, 512))
    directory.set_photo("user0012", None)
    outcome = run_task(photo_task(identity="user0012", content=b64(jpeg(portrait)), crop="top"),
                       module_defaults=ldap_defaults)
    assert outcome.changed
    facts = _image.describe(directory.photo("user0012"))
    assert facts["width"] == facts["height"]


@pytest.mark.parametrize("form", ["sam", "upn", "dn", "guid"])
def test_every_identity_form_names_the_same_user(ldap_defaults, directory, form):
    user = directory.user("user0013")
    identity = {"sam": "user0013", "upn": user["upn"], "dn": user["dn"], "guid": user["guid"]}[form]
    outcome = run_task({"m365.photos.ad_thumbnail_photo_info": dict(identities=[identity])}, module_defaults=ldap_defaults)
    assert not outcome.failed, outcome.msg
    assert [entry["dn"] for entry in outcome.result["users"]] == [user["dn"]]


def unique_small_jpeg() -> bytes:
    """A JPEG no other test writes, small enough to be written exactly as it is (under the 10 KB budget)."""
    return jpeg(Image.frombytes("RGB", (48, 48), os.urandom(48 * 48 * 3)), quality=50)


@pytest.mark.parametrize("identity", HOSTILE_IDENTITIES)
def test_hostile_identity_matches_nobody_and_changes_nothing(ldap_defaults, directory, identity):
    # Other test files create users and write photos meanwhile, in OUs of their own: rather than the whole domain
    # staying as it was, no user anywhere may end up holding this task's photo.
    source = unique_small_jpeg()
    assert len(source) <= EXCHANGE_ONLINE_LIMIT
    outcome = run_task(photo_task(identity=identity, content=b64(source)), module_defaults=ldap_defaults)
    assert outcome.failed and "No user matches identity" in outcome.msg
    holders = [entry["dn"] for entry in directory.all_users() if source in entry["raw_attributes"].get("thumbnailPhoto", [])]
    assert not holders


def with_connection(ldap_defaults: dict, **changes) -> dict:
    return {"group/m365.photos.ldap": dict(ldap_defaults["group/m365.photos.ldap"], **changes)}


ERROR_CASES = {
    "wrong password": (dict(bind_password="not-the-password"), {}, "wrong bind_dn or bind_password"),
    "unreachable server": (dict(port=6399, timeout=3), {}, "connection was refused"),
    "untrusted certificate": (dict(ca_file=None), {}, "set ca_file"),
    "unknown user": ({}, dict(identity="nobody-here"), "No user matches identity 'nobody-here'"),
    "corrupt source": ({}, dict(content=b64(b"\xff\xd8\xff\xe0" + b"\x00" * 200)), "JPEG"),
    "not an image": ({}, dict(content=b64(b"<svg xmlns='http://www.w3.org/2000/svg'/>")), "SVG"),
    "not base64": ({}, dict(content="this is not base64!"), "not valid base64"),
    "budget above the AD schema limit": ({}, dict(max_bytes=102401), "102400"),
    "unencrypted bind": (dict(tls="none", port=389), {}, "Refusing to send bind_password"),
    "server wants encryption": (dict(tls="none", port=389, allow_unencrypted_bind=True), {}, "encrypted connection"),
    "a device as source": ({}, dict(content=None, src="/dev/zero"), "is a character device"),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_error_gives_one_clear_message_and_keeps_the_old_photo(ldap_defaults, directory, case):
    connection_changes, task_changes, expected = ERROR_CASES[case]
    old = jpeg(Image.open(io.BytesIO(fixture_bytes("coffee.jpg"))).resize((96, 96)))
    directory.set_photo("user0014", old)
    task = dict(dict(identity="user0014", content=b64(fixture_bytes("astronaut.png"))), **task_changes)
    outcome = run_task(photo_task(**task), module_defaults=with_connection(ldap_defaults, **connection_changes))
    assert outcome.failed
    assert expected in outcome.msg
    assert "Traceback (most recent call last)" not in outcome.stdout + str(outcome.result.get("exception"))
    assert sandbox_setting("SANDBOX_LDAP_BIND_PASSWORD") not in outcome.stdout
    assert directory.photo("user0014") == old


def test_a_fifo_as_source_fails_at_once_instead_of_hanging(ldap_defaults, directory, tmp_path):
    fifo = str(tmp_path / "photo.jpg")
    os.mkfifo(fifo)
    outcome = run_task(photo_task(photos=[dict(identity="user0014", src=fifo)]), module_defaults=ldap_defaults)
    assert outcome.failed and "is a FIFO" in outcome.msg, outcome.result


def test_switching_certificate_validation_off_is_warned(ldap_defaults):
    outcome = run_task({"m365.photos.ad_thumbnail_photo_info": dict(identities=["user0015"])},
                       module_defaults=with_connection(ldap_defaults, validate_certs=False))
    assert not outcome.failed and "validate_certs is false" in outcome.stdout, outcome.stdout[-2000:]


def test_missing_python_dependency_is_named(ldap_defaults, tmp_path):
    bare = tmp_path / "bare"
    subprocess.run(["python3", "-m", "venv", "--without-pip", str(bare)], check=True)
    outcome = run_task(photo_task(identity="user0015", state="absent"), module_defaults=ldap_defaults,
                       interpreter=str(bare / "bin" / "python"))
    assert outcome.failed and "ldap3" in outcome.msg and "required" in outcome.msg


def test_starttls_connection_works(ldap_defaults, directory):
    directory.set_photo("user0016", None)
    outcome = run_task(photo_task(identity="user0016", content=b64(fixture_bytes("rocket.jpg"))),
                       module_defaults=with_connection(ldap_defaults, tls="starttls", port=389))
    assert outcome.changed, outcome.msg
    assert directory.photo("user0016") is not None


def test_src_is_read_on_the_controller_from_files_folder(ldap_defaults, directory, tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "portrait.jpg").write_bytes(fixture_bytes("rocket.jpg"))
    directory.set_photo("user0017", None)
    outcome = run_task(photo_task(identity="user0017", src="portrait.jpg"), module_defaults=ldap_defaults,
                       cwd=str(tmp_path))
    assert outcome.changed, outcome.msg
    assert_fits_and_shows(directory.photo("user0017"), fixture_bytes("rocket.jpg"))


def test_info_reports_every_seeded_user_and_matches_the_directory(ldap_defaults, directory):
    truth = {entry["dn"]: (entry["raw_attributes"].get("thumbnailPhoto") or [None])[0] for entry in directory.all_users()}
    outcome = run_task({"m365.photos.ad_thumbnail_photo_info": {}}, module_defaults=ldap_defaults)
    assert not outcome.failed, outcome.msg
    users = {entry["dn"]: entry for entry in outcome.result["users"]}
    assert set(users) == set(truth)
    seeded = [entry for entry in outcome.result["users"] if (entry["sam_account_name"] or "").startswith("user")]
    assert len(seeded) >= int(sandbox_setting("SANDBOX_USERS"))
    for dn, photo in truth.items():
        assert users[dn]["has_photo"] == (photo is not None)
        if photo is not None:
            assert users[dn]["sha256"] == hashlib.sha256(photo).hexdigest()
            assert users[dn]["syncs_to_exchange_online"] == (len(photo) <= EXCHANGE_ONLINE_LIMIT)
    with_photo = sum(1 for photo in truth.values() if photo is not None)
    too_large = sum(1 for photo in truth.values() if photo is not None and len(photo) > EXCHANGE_ONLINE_LIMIT)
    assert outcome.result["summary"] == dict(users=len(truth), with_photo=with_photo,
                                             without_photo=len(truth) - with_photo, too_large_to_sync=too_large)


def test_info_flags_a_photo_too_large_to_sync_and_exports_it(ldap_defaults, directory, tmp_path):
    large = jpeg(Image.open(io.BytesIO(fixture_bytes("astronaut.png"))), quality=95)
    assert EXCHANGE_ONLINE_LIMIT < len(large) <= 102400
    directory.set_photo("user0018", large)
    outcome = run_task({"m365.photos.ad_thumbnail_photo_info": dict(
        identities=["user0018"], return_content=True, dest=str(tmp_path / "export"))}, module_defaults=ldap_defaults)
    entry = outcome.result["users"][0]
    assert entry["has_photo"] and entry["syncs_to_exchange_online"] is False
    assert base64.b64decode(entry["content"]) == large
    assert open(entry["path"], "rb").read() == large
    assert os.path.basename(entry["path"]) == "%s.jpg" % directory.user("user0018")["upn"]
    assert outcome.result["summary"]["too_large_to_sync"] == 1


def test_info_search_filter_narrows_the_users(ldap_defaults):
    outcome = run_task({"m365.photos.ad_thumbnail_photo_info": dict(search_filter="(sAMAccountName=user001*)")},
                       module_defaults=ldap_defaults)
    assert sorted(entry["sam_account_name"] for entry in outcome.result["users"]) == \
        ["user%04d" % number for number in range(10, 20)]


def bulk_task(**options) -> dict:
    return {"m365.photos.ad_thumbnail_photo": options}


def test_bulk_converges_every_entry_reports_each_and_names_the_failures(ldap_defaults, directory, tmp_path):
    sams = ["user%04d" % number for number in range(20, 32)]
    for sam in sams:
        directory.set_photo(sam, None)
    directory.set_photo("user0032", jpeg(Image.new("RGB", (96, 96), "navy")))
    sources = ["astronaut.png", "chelsea.png", "coffee.jpg", "rocket.jpg", "camera.png"]
    photos = []
    for index, sam in enumerate(sams):
        path = tmp_path / ("%s-%s" % (sam, sources[index % len(sources)]))
        path.write_bytes(fixture_bytes(sources[index % len(sources)]))
        photos.append(dict(identity=sam, src=str(path)) if index % 2 else dict(identity=sam, content=b64(path.read_bytes())))
    photos += [dict(identity="user0032", state="absent"),
               dict(identity="no-such-user", content=b64(fixture_bytes("rocket.jpg"))),
               dict(identity="user0033", content=b64(b"not an image at all"))]
    first = run_task(bulk_task(photos=photos, return_thumbnails=True), module_defaults=ldap_defaults)
    assert first.failed and "2 of 15 photos failed (no-such-user, user0033)" in first.msg
    results = first.result["results"]
    assert [result["identity"] for result in results] == [entry["identity"] for entry in photos]
    assert first.result["summary"] == dict(entries=15, changed=13, unchanged=0, failed=2)
    for index, sam in enumerate(sams):
        assert_fits_and_shows(directory.photo(sam), fixture_bytes(sources[index % len(sources)]))
        assert results[index]["changed"] and results[index]["after_thumbnail"]
    assert directory.photo("user0032") is None and results[12]["before_thumbnail"]
    assert "No user matches identity 'no-such-user'" in results[13]["msg"]
    assert "not an image" in results[14]["msg"]
    second = run_task(bulk_task(photos=photos[:13]), module_defaults=ldap_defaults)
    assert not second.failed and not second.changed, second.result["summary"]
    assert second.result["summary"] == dict(entries=13, changed=0, unchanged=13, failed=0)


def test_bulk_check_mode_plans_everything_and_writes_nothing(ldap_defaults, directory):
    sams = ["user%04d" % number for number in range(34, 40)]
    for sam in sams:
        directory.set_photo(sam, None)
    photos = [dict(identity=sam, content=b64(fixture_bytes("coffee.jpg"))) for sam in sams]
    outcome = run_task(bulk_task(photos=photos, concurrency=2), module_defaults=ldap_defaults, check=True)
    assert outcome.changed and outcome.result["summary"]["changed"] == len(sams)
    assert all(result["after"]["bytes"] <= EXCHANGE_ONLINE_LIMIT for result in outcome.result["results"])
    assert all(directory.photo(sam) is None for sam in sams)


def test_bulk_entries_inherit_task_state_and_overwrite(ldap_defaults, directory):
    existing = jpeg(Image.open(io.BytesIO(fixture_bytes("coffee.jpg"))).resize((96, 96)))
    directory.set_photo("user0040", existing)
    directory.set_photo("user0041", None)
    photos = [dict(identity="user0040", content=b64(fixture_bytes("rocket.jpg"))),
              dict(identity="user0041", content=b64(fixture_bytes("rocket.jpg")))]
    outcome = run_task(bulk_task(photos=photos, overwrite="if_missing"), module_defaults=ldap_defaults)
    assert [result["changed"] for result in outcome.result["results"]] == [False, True]
    assert directory.photo("user0040") == existing


def test_bulk_entry_without_source_fails_the_task_before_anything_is_done(ldap_defaults, directory):
    directory.set_photo("user0042", None)
    outcome = run_task(bulk_task(photos=[dict(identity="user0042", content=b64(fixture_bytes("rocket.jpg"))),
                                         dict(identity="user0043")]), module_defaults=ldap_defaults)
    assert outcome.failed and "photos entry 2 (user0043): state=present needs src or content" in outcome.msg
    assert directory.photo("user0042") is None
