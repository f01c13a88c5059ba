"""Write the fuzz run's schemathesis configuration: every operation called as the role that owns it.

A single token for the whole run fuzzes little: the registrar cannot reach a holder's documents,
a reviewer's queue or Tamkeen's decisions, so those handlers only ever answered 401/403; and the
first `POST /auth/logout` revoked the token, after which every operation answered 401. Here each
secured operation gets the bearer token of the demo account whose role it serves (`ROLE_RULES`),
logout gets a token of its own, and an operation that no rule names stops the run: a new endpoint
must say who calls it. The configuration also makes schemathesis fail on `missing_auth` (an
operation that answered nothing but 401/403), so a wrong role shows as a failure, not a warning.
Path identifiers (an application, a review, a licence, a customer, a document, a support
application) are drawn half the time from what the owning account can see in the demo data
(`IDENTIFIERS`), so the handlers behind the lookup are fuzzed too, not only their 404.

Usage: fuzz_auth.py BASE_URL PASSWORD OUT.toml
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request

# (method, path pattern under /api/v1) -> demo account; the first rule that matches wins.
ROLE_RULES: list[tuple[str, str, str]] = [
    ("POST", r"/auth/logout", "logout"),
    ("*", r"/me(/.*)?", "holder"),
    ("POST", r"/applications/\{application_id\}/(screening|accept|return|bodies|licence)", "registrar"),
    ("*", r"/applications(/.*)?", "applicant"),
    ("*", r"/reviews(/.*)?", "reviewer-health"),
    ("POST", r"/licences/\{number\}/(suspend|reinstate|cancel)", "registrar"),
    ("POST", r"/licences/\{number\}/(vat|renew|amend)", "holder"),
    ("*", r"/(customers|documents|statements)(/.*)?", "holder"),
    ("*", r"/webhooks(/.*)?", "holder"),
    ("*", r"/support/payout-batches(/.*)?", "tamkeen-finance"),
    ("GET", r"/support/enterprises", "tamkeen-officer"),
    ("POST", r"/support/(enterprises|applications|claims)/\{[a-z_]+\}/decision", "tamkeen-officer"),
    ("PUT", r"/support/enterprise", "holder"),
    ("*", r"/support/.*", "customer"),
]
PREFIX = "/api/v1"

# path parameter -> (list endpoint, field of its items): read with the owning account's token.
IDENTIFIERS: dict[str, tuple[str, str]] = {
    "application_id": ("/applications", "id"),
    "review_id": ("/reviews", "id"),
    "customer_id": ("/customers", "id"),
    "public_id": ("/documents", "public_id"),
}
SUPPORT_APPLICATIONS = ("/support/applications", "id")


def role_of(method: str, path: str) -> str | None:
    local = path.removeprefix(PREFIX)
    for rule_method, pattern, username in ROLE_RULES:
        if rule_method in ("*", method) and re.fullmatch(pattern, local):
            return username
    return None


def call(base: str, path: str, *, token: str = "", body: dict | None = None) -> dict:
    """One JSON call to the local server under test (only http://127.0.0.1)."""
    if not base.startswith("http://127.0.0.1:"):
        raise SystemExit(f"fuzz: refusing to call {base}: the fuzz run talks to 127.0.0.1 only")
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{path}", data=data, headers=headers)  # noqa: S310 (checked above)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.load(response)


def token_of(base: str, username: str, password: str) -> str:
    return call(base, f"{PREFIX}/auth/token", body={"username": username, "password": password})["token"]


def get(base: str, path: str, token: str) -> dict:
    return call(base, f"{PREFIX}{path}", token=token)


def known_values(base: str, path: str, parameter: str, token: str) -> list[str | int]:
    """What the account behind `token` can reach for `parameter` in `path`, from the demo data."""
    if parameter == "number":
        licence = get(base, "/me", token).get("licence")
        return [licence] if licence else []
    support = path.startswith(f"{PREFIX}/support/") and parameter == "application_id"
    source = SUPPORT_APPLICATIONS if support else IDENTIFIERS.get(parameter)
    if source is None:
        return []
    items = get(base, f"{source[0]}?limit=5", token).get("items", [])
    return [item[source[1]] for item in items if source[1] in item]


def main(base: str, password: str, out: str) -> int:
    schema = call(base, f"{PREFIX}/openapi.json")
    owners: dict[str, str] = {}
    unowned = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if not operation.get("security"):
                continue
            label = f"{method.upper()} {path}"
            username = role_of(method.upper(), path)
            if username is None:
                unowned.append(label)
            else:
                owners[label] = username
    if unowned:
        print("fuzz: no role rule in scripts/fuzz_auth.py for: " + ", ".join(unowned), file=sys.stderr)
        return 2
    tokens = {}
    for username in sorted(set(owners.values())):
        # Logout revokes what it is given: it gets a token of the applicant's that nothing else uses.
        tokens[username] = token_of(base, "applicant" if username == "logout" else username, password)
    lines = ['warnings = { fail-on = ["missing_auth"] }', ""]
    dictionaries: dict[str, list[str | int]] = {}
    blocks = []
    for label, username in sorted(owners.items()):
        path = label.split(" ", 1)[1]
        block = [
            "[[operations]]",
            f"include-name = {json.dumps(label)}",
            f'headers = {{ Authorization = "Bearer {tokens[username]}" }}',
        ]
        bindings = []
        for parameter in re.findall(r"\{([a-z_]+)\}", path):
            if username == "logout" or not (values := known_values(base, path, parameter, tokens[username])):
                continue
            name = f"{username}-{parameter}-{'support' if '/support/' in path else 'main'}"
            dictionaries[name] = values
            bindings.append(f'"path.{parameter}" = {{ dictionary = "{name}", probability = 0.5 }}')
        if bindings:
            block.append(f"parameters = {{ {', '.join(bindings)} }}")
        blocks += [*block, ""]
    for name, values in sorted(dictionaries.items()):
        lines += [f"[dictionaries.{json.dumps(name)}]", f"values = {json.dumps(values)}", ""]
    lines += blocks
    with open(out, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    by_role: dict[str, int] = {}
    for username in owners.values():
        by_role[username] = by_role.get(username, 0) + 1
    print("fuzz: secured operations by role: " + ", ".join(f"{u} {n}" for u, n in sorted(by_role.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
