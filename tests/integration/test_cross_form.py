"""One user and photos: in bulk are one run of the same engine: whichever form wrote a photo, the other
form (and the first one again) finds it right, for every byte budget, maximum dimension and crop.

Each option mix gets a user of its own; each phase is one ansible-playbook run with a task per mix.
"""

from __future__ import annotations

import ldap3
import pytest

from ansible_collections.m365.photos.plugins.module_utils import _image

from graph_sandbox import Sandbox, start_emulator
from photo_fixtures import b64, fixture_bytes
from playbook_runner import run_tasks, sandbox_setting

SOURCE = fixture_bytes("astronaut.png")  # 512x512
# (max_bytes, max_dimension, crop); None: the module's default.
AD_MIXES = [(None, None, "none"), (20000, None, "none"), (None, 96, "none"), (None, 240, "none"),
            (None, None, "center"), (None, None, "top"), (20000, 240, "top")]
GRAPH_MIXES = AD_MIXES + [(10240, None, "none"), (10240, 96, "center"), (20000, 96, "none"), (None, None, "none")]
# Users 44-50: the AD suite running beside this file uses 1-43.
AD_USERS = ["user%04d" % number for number in range(44, 44 + len(AD_MIXES))]
GRAPH_USERS = ["user%04d@test.example" % number for number in range(1, 1 + len(GRAPH_MIXES))]


def options(mix: tuple) -> dict:
    max_bytes, max_dimension, crop = mix
    chosen = dict(max_bytes=max_bytes, max_dimension=max_dimension, crop=crop)
    return {name: value for name, value in chosen.items() if value is not None}


def single(module: str, key: str, user: str, mix: tuple) -> dict:
    return {module: dict({key: user, "content": b64(SOURCE)}, **options(mix))}


def bulk(module: str, key: str, user: str, mix: tuple) -> dict:
    return {module: dict(photos=[{key: user, "content": b64(SOURCE)}], **options(mix))}


def three_phases(module: str, key: str, users: list, mixes: list, defaults: dict) -> list:
    """Single, then bulk, then single again; the outcomes of each phase."""
    phases = []
    for form in (single, bulk, single):
        phases.append(run_tasks([form(module, key, user, mix) for user, mix in zip(users, mixes)],
                                module_defaults=defaults))
    return phases


def assert_written_once(phases: list, mixes: list) -> None:
    first, *later = phases
    for mix, outcome in zip(mixes, first):
        assert outcome.changed and not outcome.failed, (mix, outcome.result)
    for number, phase in enumerate(later, start=2):
        for mix, outcome in zip(mixes, phase):
            assert not outcome.failed and not outcome.changed, ("phase %d" % number, mix, outcome.result)


@pytest.fixture(name="graph_sandbox", scope="module")
def private_graph_sandbox(tmp_path_factory):
    emulator = start_emulator(str(tmp_path_factory.mktemp("graph-cross-form")))
    yield Sandbox(emulator)
    emulator.stop()


def test_ad_photos_written_by_one_form_are_right_for_the_other():
    defaults = {"group/m365.photos.ldap": dict(
        server=sandbox_setting("SANDBOX_LDAP_HOST"), port=int(sandbox_setting("SANDBOX_LDAP_PORT")),
        ca_file=sandbox_setting("SANDBOX_LDAP_CA_FILE"), bind_dn=sandbox_setting("SANDBOX_LDAP_BIND_DN"),
        bind_password=sandbox_setting("SANDBOX_LDAP_BIND_PASSWORD"))}
    clear = [{"m365.photos.ad_thumbnail_photo": dict(identity=user, state="absent")} for user in AD_USERS]
    assert not any(outcome.failed for outcome in run_tasks(clear, module_defaults=defaults))
    phases = three_phases("m365.photos.ad_thumbnail_photo", "identity", AD_USERS, AD_MIXES, defaults)
    assert_written_once(phases, AD_MIXES)
    # The directory is read back over a connection of its own, independent of the code under test.
    connection = ldap3.Connection(ldap3.Server("localhost", port=int(sandbox_setting("SANDBOX_LDAP_PORT")), use_ssl=True,
                                               tls=ldap3.Tls(ca_certs_file=sandbox_setting("SANDBOX_LDAP_CA_FILE"))),
                                  sandbox_setting("SANDBOX_LDAP_BIND_DN"), sandbox_setting("SANDBOX_LDAP_BIND_PASSWORD"),
                                  auto_bind=True)
    for user, mix, outcome in zip(AD_USERS, AD_MIXES, phases[0]):
        connection.search(sandbox_setting("SANDBOX_LDAP_BASE_DN"), "(sAMAccountName=%s)" % user,
                          attributes=["thumbnailPhoto"])
        stored = connection.response[0]["raw_attributes"]["thumbnailPhoto"][0]
        facts = _image.describe(stored)
        assert facts["sha256"] == outcome.result["after"]["sha256"], mix
        assert facts["bytes"] <= (mix[0] or 10240), mix
        if mix[2] == "none":
            assert _image.compare(stored, SOURCE).same, mix
        if mix[1]:
            assert max(facts["width"], facts["height"]) <= mix[1], mix


def test_graph_photos_uploaded_by_one_form_are_right_for_the_other(graph_sandbox):
    graph_sandbox.admin("POST", "/reset")
    phases = three_phases("m365.photos.exchange_online_photo", "user", GRAPH_USERS, GRAPH_MIXES,
                          graph_sandbox.defaults())
    assert_written_once(phases, GRAPH_MIXES)
    for user, mix in zip(GRAPH_USERS, GRAPH_MIXES):
        stored = graph_sandbox.stored(user)
        assert stored is not None, (user, mix)
        if mix[1]:
            assert _image.describe(stored)["width"] <= mix[1], mix
