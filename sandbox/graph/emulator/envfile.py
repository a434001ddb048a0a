"""Writes the shell env file (`export NAME=value` lines) that tests and the collection source."""
import os
import shlex

from . import credentials
from .directory import FEDERATION_SUBJECT


def sandbox_variables(directory, specs, authority_url, ca_file):
    variables = {
        "SANDBOX_GRAPH_URL": f"{authority_url}/v1.0",
        "SANDBOX_GRAPH_BETA_URL": f"{authority_url}/beta",
        "SANDBOX_AUTHORITY_URL": authority_url,
        "SANDBOX_GRAPH_ADMIN_URL": f"{authority_url}/_sandbox",
        "SANDBOX_GRAPH_SCOPE": "https://graph.microsoft.com/.default",
        "SANDBOX_CA_FILE": os.path.abspath(ca_file),
        "SANDBOX_FEDERATION_ISSUER": directory.federation_issuer,
        "SANDBOX_FEDERATION_SUBJECT": FEDERATION_SUBJECT,
    }
    for spec in specs:
        suffix = "" if spec.name == "contoso" else f"_{spec.name.upper()}"
        tenant = directory.tenants[spec.name]
        main = directory.registration(spec.name, "main")
        certificate = main["certificates"][0]
        variables.update({
            f"SANDBOX_TENANT_ID{suffix}": tenant.id,
            f"SANDBOX_TENANT_DOMAIN{suffix}": tenant.domain,
            f"SANDBOX_TENANT_NAME{suffix}": spec.name,
            f"SANDBOX_CLIENT_ID{suffix}": main["client_id"],
            f"SANDBOX_CLIENT_SECRET{suffix}": main["secrets"][0]["value"],
            f"SANDBOX_CLIENT_CERTIFICATE_PATH{suffix}": os.path.abspath(certificate["pem"]),
            f"SANDBOX_CLIENT_CERTIFICATE_PFX_PATH{suffix}": os.path.abspath(certificate["pfx"]),
            f"SANDBOX_CLIENT_CERTIFICATE_PASSWORD{suffix}": certificate["password"],
            f"SANDBOX_FEDERATED_TOKEN_FILE{suffix}": os.path.abspath(main["federated_token_file"]),
            f"SANDBOX_GRAPH_USERS{suffix}": str(spec.user_count),
            f"SANDBOX_GRAPH_USER_PREFIX{suffix}": spec.user_prefix,
            f"SANDBOX_GRAPH_FIRST_USER{suffix}": f"{spec.user_prefix}0001@{spec.domain}",
        })
    for app_name in ("readonly", "expired"):
        registration = directory.registration("contoso", app_name)
        variables[f"SANDBOX_{app_name.upper()}_CLIENT_ID"] = registration["client_id"]
        variables[f"SANDBOX_{app_name.upper()}_CLIENT_SECRET"] = registration["secrets"][0]["value"]
    return variables


def write_env_file(path, variables):
    lines = ["# Written by the Graph sandbox (sandbox/graph); contains secrets."]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in variables.items()]
    tmp = f"{path}.tmp"
    credentials.write_private(tmp, "\n".join(lines) + "\n")
    os.replace(tmp, path)


def read_env_file(path):
    """KEY=VALUE lines (optionally `export`, shell-quoted) into a dict; unreadable lines are skipped."""
    values = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            line = line.removeprefix("export ").strip()
            name, sep, value = line.partition("=")
            if not sep:
                continue
            try:
                parsed = shlex.split(value)
            except ValueError:
                continue
            values[name.strip()] = parsed[0] if parsed else ""
    return values
