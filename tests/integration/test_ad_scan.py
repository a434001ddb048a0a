"""A run that names many users and looks them up through cache_dir's memory finds them in one pass over the users
under base_dn (LdapBackend.prepare): against the sandbox DC, it gives every name the answer the searches by name give,
and gives up the pass where the subtree holds far more users than the run names. (Two users of one name cannot be
made here: Samba refuses a userPrincipalName already in use; tests/unit's test_ldap covers that answer.)"""

from __future__ import annotations

import asyncio
import uuid

import ldap3
import pytest

from ansible_collections.m365.photos.plugins.module_utils import _converge, _ldap, _ldap_backend, _photo_memory
from ansible_collections.m365.photos.plugins.module_utils._source_cache import SourceCache

from ad_users import OwnUsers
from playbook_runner import sandbox_setting

DOMAIN = "scan.example"
USERS = ["user%04d@%s" % (number, DOMAIN) for number in range(1, 13)]
LATE_USER = "late@%s" % DOMAIN


@pytest.fixture(name="directory", scope="module")
def own_users():
    directory = OwnUsers("ScanTest", USERS)
    directory.create()
    directory.names[LATE_USER] = "scanlate"  # created by the test that needs it, after the scan
    yield directory
    directory.remove()


def params(base_dn: str) -> dict:
    """The module's LDAP options as its argument spec defaults them, for the sandbox DC and base_dn."""
    defaults = {name: spec.get("default") for name, spec in _ldap.ldap_argument_spec().items()}
    return dict(defaults, server=sandbox_setting("SANDBOX_LDAP_HOST"), port=int(sandbox_setting("SANDBOX_LDAP_PORT")),
                ca_file=sandbox_setting("SANDBOX_LDAP_CA_FILE"), bind_dn=sandbox_setting("SANDBOX_LDAP_BIND_DN"),
                bind_password=sandbox_setting("SANDBOX_LDAP_BIND_PASSWORD"), base_dn=base_dn, concurrency=None)


def names_in_every_form(directory: OwnUsers) -> list:
    """sAMAccountNames, UPNs, a DN in other spacing and case, an objectGUID, a name no user has, and the late user."""
    directory.connection.search(directory.dn(USERS[7]), "(objectClass=user)", search_scope=ldap3.BASE,
                                attributes=["objectGUID"])
    guid = str(uuid.UUID(bytes_le=directory.connection.response[0]["raw_attributes"]["objectGUID"][0]))
    return ([directory.names[user] for user in USERS[:4]] + USERS[4:7] + [guid, directory.dn(USERS[8]).lower().replace(",", ", "),
            "ghost@%s" % DOMAIN, LATE_USER])


def look_up(directory: OwnUsers, names: list, cache_dir: str, add_late_user: bool = False) -> tuple:
    """(what each name was found as: (dn, stamp, error, unknown_user), whether the backend found them in one pass)."""
    jobs = [_converge.Job(_converge.Entry(name=name)) for name in names]

    async def run() -> bool:
        async with _ldap_backend.opened(params(directory.ou)) as backend:
            memory = _photo_memory.PhotoMemory(SourceCache(cache_dir), backend.key, backend.realm)
            await backend.prepare(names, memory)
            if add_late_user:
                directory.connection.add(directory.dn(LATE_USER), ["top", "person", "organizationalPerson", "user"], {
                    "sAMAccountName": directory.names[LATE_USER], "userPrincipalName": LATE_USER,
                    "userAccountControl": 514})
                assert directory.connection.result["result"] == 0, directory.connection.result
            await backend.look_up(jobs, memory)
            for job in jobs:  # as the engine keeps what it learnt of photos it leaves alone
                memory.keep(job.ref, job.stamp, job.current, job.recalled)
            return backend._scanned is not None  # pylint: disable=protected-access

    scanned = asyncio.run(run())
    return [(job.ref, job.stamp, job.error, job.unknown_user, job.recalled is not None) for job in jobs], scanned


def test_one_pass_finds_every_name_as_the_searches_by_name_do(directory, tmp_path, monkeypatch):
    names = names_in_every_form(directory)
    try:
        monkeypatch.setattr(_ldap_backend, "SCAN_MIN_NAMES", 10 ** 9)
        by_name, scanned = look_up(directory, names, str(tmp_path / "by-name"))
        assert not scanned
        monkeypatch.setattr(_ldap_backend, "SCAN_MIN_NAMES", 1)
        in_one_pass, scanned = look_up(directory, names, str(tmp_path / "one-pass"), add_late_user=True)
        assert scanned
    finally:
        directory.connection.delete(directory.dn(LATE_USER))
    assert in_one_pass[:-1] == by_name[:-1] and not any(found[4] for found in in_one_pass)
    # Created after the scan, the late user is still found (searched for by name, like every name the scan missed).
    assert by_name[-1][0] is None and in_one_pass[-1][0] == directory.dn(LATE_USER) and in_one_pass[-1][1]
    expected_dns = [directory.dn(user) for user in USERS[:9]]
    assert [found[0] for found in in_one_pass[:9]] == expected_dns and all(found[1] for found in in_one_pass[:9])
    ghost = in_one_pass[9]
    assert ghost[0] is None and ghost[3] and "No user matches identity 'ghost@%s'" % DOMAIN in ghost[2]
    # The next run finds each user at the stamp the memory kept it under: no photo is read again.
    again, scanned = look_up(directory, names, str(tmp_path / "one-pass"))
    assert scanned and [found[4] for found in again] == [True] * 9 + [False, False]  # the late user is gone again


def test_a_subtree_of_far_more_users_than_names_is_not_listed(directory, tmp_path, monkeypatch):
    monkeypatch.setattr(_ldap_backend, "SCAN_MIN_NAMES", 1)
    names = [directory.names[USERS[0]], USERS[1], "ghost@%s" % DOMAIN]
    assert len(USERS) > _ldap_backend.SCAN_MAX_USERS_PER_NAME * len(names)
    found, scanned = look_up(directory, names, str(tmp_path))
    assert not scanned
    assert [entry[0] for entry in found] == [directory.dn(USERS[0]), directory.dn(USERS[1]), None] and found[2][3]
