"""auth: kerberos against the sandbox DC's own KDC: a ticket from a keytab (kinit -kt), a GSSAPI bind over LDAPS and
StartTLS, what the directory holds afterwards, and a sentence for every way it goes wrong.

The users are this file's own (OU=KerberosTest, removed afterwards). Every run gets the sandbox's krb5.conf and a
private credentials cache through the task's environment, the way a CI job passes KRB5CCNAME.
"""

from __future__ import annotations

import base64
import os
import subprocess

import pytest
from PIL import Image

from ad_users import OwnUsers
from photo_fixtures import b64, jpeg
from playbook_runner import run_task, sandbox_setting

USERS = ["kerb%d@kerberos.example" % number for number in range(1, 4)]


@pytest.fixture(name="users", scope="module")
def own_users():
    users = OwnUsers("KerberosTest", USERS)
    users.create()
    yield users
    users.remove()


@pytest.fixture(name="ticket", scope="module")
def kinit_from_keytab(tmp_path_factory) -> dict:
    """The environment of a run that holds the sandbox Administrator's ticket, taken from its keytab."""
    cache = "FILE:%s" % tmp_path_factory.mktemp("krb5").joinpath("ccache")
    env = dict(KRB5_CONFIG=sandbox_setting("SANDBOX_KRB5_CONFIG"), KRB5CCNAME=cache)
    subprocess.run(["kinit", "-kt", sandbox_setting("SANDBOX_KRB5_KEYTAB"), sandbox_setting("SANDBOX_KRB5_PRINCIPAL")],
                   check=True, env=dict(os.environ, **env))
    return env


def kerberos(**changes) -> dict:
    settings = dict(server=sandbox_setting("SANDBOX_LDAP_HOST"), ca_file=sandbox_setting("SANDBOX_LDAP_CA_FILE"),
                    auth="kerberos", base_dn=sandbox_setting("SANDBOX_LDAP_BASE_DN"))
    settings.update(changes)
    return {"group/m365.photos.ldap": settings}


def portrait(shade: int) -> bytes:
    return jpeg(Image.new("RGB", (96, 96), (shade, 40, 255 - shade)))


def test_a_ticket_from_a_keytab_binds_over_ldaps_and_the_photo_is_stored(users, ticket):
    photo = portrait(30)
    task = {"m365.photos.ad_thumbnail_photo": dict(identity=USERS[0], content=b64(photo))}
    first = run_task(task, module_defaults=kerberos(), env=ticket)
    assert not first.failed, first.msg
    assert first.changed
    assert users.photo(USERS[0]) == photo
    second = run_task(task, module_defaults=kerberos(), env=ticket)
    assert not second.failed and not second.changed, second.msg


def test_starttls_carries_a_kerberos_bind_too(users, ticket):
    photo = portrait(120)
    outcome = run_task({"m365.photos.ad_thumbnail_photo": dict(identity=USERS[1], content=b64(photo))},
                       module_defaults=kerberos(tls="starttls"), env=ticket)
    assert not outcome.failed, outcome.msg
    assert users.photo(USERS[1]) == photo


def test_the_info_module_reads_with_kerberos(users, ticket):
    photo = portrait(200)
    users.set(USERS[2], photo)
    outcome = run_task({"m365.photos.ad_thumbnail_photo_info": dict(identities=[USERS[2]], return_content=True)},
                       module_defaults=kerberos(), env=ticket)
    assert not outcome.failed, outcome.msg
    assert base64.b64decode(outcome.result["users"][0]["content"]) == photo


def test_without_a_ticket_the_task_says_to_run_kinit_and_changes_nothing(users, tmp_path):
    users.set(USERS[0], portrait(30))
    env = dict(KRB5_CONFIG=sandbox_setting("SANDBOX_KRB5_CONFIG"), KRB5CCNAME="FILE:%s" % tmp_path.joinpath("empty"))
    outcome = run_task({"m365.photos.ad_thumbnail_photo": dict(identity=USERS[0], content=b64(portrait(90)))},
                       module_defaults=kerberos(), env=env)
    assert outcome.failed
    assert "run kinit" in outcome.msg and "Traceback" not in outcome.stdout
    assert users.photo(USERS[0]) == portrait(30)


def test_a_server_name_without_a_service_principal_is_explained(users, ticket):
    outcome = run_task({"m365.photos.ad_thumbnail_photo_info": dict(identities=[USERS[0]])},
                       module_defaults=kerberos(server="localhost"), env=ticket)
    assert outcome.failed
    assert "no service principal ldap/localhost" in outcome.msg and "Traceback" not in outcome.stdout


def test_a_kerberos_bind_without_tls_is_refused_with_the_reason(users, ticket):
    """ldap3 cannot sign or seal SASL traffic, and a DC that requires signing refuses the bind in clear."""
    outcome = run_task({"m365.photos.ad_thumbnail_photo_info": dict(identities=[USERS[0]])},
                       module_defaults=kerberos(tls="none"), env=ticket)
    assert outcome.failed
    assert "tls: ldaps or tls: starttls" in outcome.msg, outcome.msg
