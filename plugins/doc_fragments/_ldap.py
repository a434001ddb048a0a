# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  server:
    description:
      - Host name or IP address of the domain controller (or any LDAP server holding the users).
      - With O(validate_certs=true) the name must be one the server's certificate lists.
    type: str
    required: true
  port:
    description:
      - TCP port. Defaults to V(636) for O(tls=ldaps) and V(389) otherwise.
    type: int
  tls:
    description:
      - How the connection is encrypted.
      - V(ldaps) speaks TLS from the first byte, V(starttls) upgrades a plain connection, V(none) sends
        everything in clear text.
    type: str
    choices: [ldaps, starttls, none]
    default: ldaps
  validate_certs:
    description:
      - Check the server's certificate and that it names O(server).
      - Set to V(false) only in a test lab; the module then warns on every run.
    type: bool
    default: true
  ca_file:
    description:
      - PEM file with the CA certificate(s) that signed the server's certificate, when the system's
        trust store does not hold them (an enterprise CA, for example).
    type: path
  auth:
    description:
      - V(simple) binds with O(bind_dn) and O(bind_password) (anonymous when both are omitted).
      - V(kerberos) binds through SASL GSSAPI with the Kerberos ticket of the user running the module
        (run C(kinit) first, for example C(kinit -kt KEYTAB PRINCIPAL) in CI, and give the task
        C(KRB5CCNAME) in its environment when the ticket is not in the default cache); it needs the Python
        package C(gssapi). O(bind_dn) and O(bind_password) are not used.
      - The ticket is for C(ldap/) followed by O(server), so give the domain controller's DNS name (the name
        its service principals use), not an alias.
      - A Kerberos bind needs O(tls=ldaps) or O(tls=starttls). ldap3 cannot sign or seal the connection
        itself, so a domain controller that requires LDAP signing refuses the bind in clear text; over
        TLS it counts as signed.
    type: str
    choices: [simple, kerberos]
    default: simple
  bind_dn:
    description:
      - Distinguished name (or userPrincipalName) to bind as with O(auth=simple).
    type: str
  bind_password:
    description:
      - Password of O(bind_dn).
    type: str
  allow_unencrypted_bind:
    description:
      - Allow a simple bind with a password over O(tls=none). The password then crosses the network in
        clear text (the module warns on every run); most domain controllers refuse it anyway.
    type: bool
    default: false
  base_dn:
    description:
      - Where user searches start. Defaults to the server's default naming context (the domain).
    type: str
  timeout:
    description:
      - Seconds to wait for the connection and for each answer.
    type: int
    default: 10
notes:
  - Set the connection options once for all LDAP modules of this collection with
    C(module_defaults) and the action group C(group/m365.photos.ldap).
  - A connection that breaks (a domain controller restarting, a firewall cutting an idle connection) is
    opened again; the search or write it carried is sent again after 5, 10 and 20 seconds (4 attempts
    in all), then that user fails with the reason and the others go on. A write replaces the whole
    attribute in one LDAP modify, so every user keeps either the old photo or the new one, also when the
    module process is killed; the next run converges.
  - A bind that fails (a password changed during the run, say) is not retried, so an account is not
    locked out by repeated attempts; each user it would have written fails with the reason.
requirements:
  - ldap3 >= 2.9.1
"""
