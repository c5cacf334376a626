"""``riskops keys list|rotate|revoke|reset-floor``: the signing-key chain and the replay floor."""

from __future__ import annotations

from typing import Annotated

import typer

from riskops.cli.common import HomeOption, JsonFlag, open_ws, out, print_json

app = typer.Typer(no_args_is_help=True, help=(
    "Signing keys: which keys verifiers trust, rotation and revocation as signed acts, "
    "and the replay floor."))

ReasonOption = Annotated[str, typer.Option(
    "--reason", metavar="TEXT", help="Why (kept in the audit log).")]


@app.command("list")
def list_keys(home: HomeOption = None, as_json: JsonFlag = False) -> None:
    """The key chain as this host trusts it: pins, each key's status, the key files, the floor."""
    from riskops.registry.key_admin import key_listing

    listing = key_listing(open_ws(home))
    if as_json:
        print_json(listing)
        return
    out.print(f"trusted from: {listing['trusted_from']}", markup=False)
    for statement in listing["statements"]:
        extra = f" (from {statement['previous']})" if statement.get("previous") else ""
        out.print(f"  {statement['seq']:>3}  {statement['kind']:<6}  {statement['key']}  "
                  f"{statement['status']}{extra}  {statement['at']} by {statement['by']}",
                  markup=False)
    out.print(f"keys/signing.pem  {listing['signing_pem'] or 'missing or unreadable'}",
              markup=False)
    out.print(f"keys/public.pem   {listing['public_pem'] or 'missing or unreadable'}",
              markup=False)
    floor = listing["floor"]
    out.print(f"replay floor: high-water mark v{floor['high_water_mark']}, database "
              f"v{floor['database']}, archive v{floor['archive']}", markup=False)
    for problem in listing["problems"]:
        out.print(f"PROBLEM {problem}", markup=False)
    for retired in listing["retired_private_keys"]:
        remedy = (f"riskops keys revoke {retired['key']} deletes it"
                  if retired["status"] == "superseded" else "move it off this host or delete it")
        out.print(f"WARNING {retired['path']} is a retired private key "
                  f"({retired['key'] or 'unreadable'}) inside the workspace: whoever reads the "
                  f"folder can sign with it; {remedy}", markup=False)
    if listing["current"]:
        out.print(f"pin on every replica: RISKOPS_TRUSTED_KEYS={','.join(listing['current'])}",
                  markup=False)


@app.command("rotate")
def rotate(
    home: HomeOption = None,
    retire_to: Annotated[str | None, typer.Option(
        "--retire-to", metavar="DIR", help="Move the old private key into DIR, a folder "
        "outside the workspace (an offline medium, a vault mount); without it the old "
        "private key is deleted.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Introduce a new signing key, signed by the current one; re-sign every version.

    Replicas pinned to the current key follow the rotation without restart. The old
    private key does not stay in the workspace: it is deleted, or moved to --retire-to.
    """
    from riskops.cli.common import actor
    from riskops.workspace import rotate_keys

    ws = open_ws(home)
    who = actor(ws, "manage_keys")
    result = rotate_keys(ws, actor=who, retire_to=retire_to)
    if as_json:
        print_json({"key": result.anchor, "notes": result.notes})
        return
    for note in result.notes:
        out.print(note, markup=False)


@app.command("revoke")
def revoke(
    key: Annotated[str, typer.Argument(metavar="FINGERPRINT", help="sha256:… of the key.")],
    reason: ReasonOption,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Revoke a key that is no longer current: nothing it signs is trusted again."""
    from riskops.cli.common import actor
    from riskops.registry.key_admin import revoke_key

    ws = open_ws(home)
    result = revoke_key(ws, key, reason=reason, actor=actor(ws, "manage_keys"))
    if as_json:
        print_json(result)
        return
    out.print(f"revoked {result['revoked']} (key statement {result['seq']}); manifest "
              f"v{result['manifest_version']} published. Servers that loaded a manifest with "
              "it drop those models.", markup=False)
    for path in result["deleted_private_keys"]:
        out.print(f"deleted its retired private key {path}", markup=False)


@app.command("reset-floor")
def reset_floor(
    reason: ReasonOption,
    above: Annotated[int, typer.Option(
        "--above", metavar="N", help="Also go above manifest vN (a replica's high-water mark "
        "this host has not seen).")] = 0,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """After restoring a backup on purpose: sign the restored state above every floor.

    Publishes the database's state as a manifest newer than this host's
    high-water mark, the database and the archive; the manifests the backup
    lost are moved to manifests/orphaned-TIMESTAMP/ and named in the audit log.
    """
    from riskops.cli.common import actor
    from riskops.registry.key_admin import reset_floor as reset

    ws = open_ws(home)
    result = reset(ws, reason=reason, actor=actor(ws, "manage_keys"), above=above)
    if as_json:
        print_json({"manifest_version": result.manifest_version,
                    "floor": {"high_water_mark": result.floor.mark.manifest_version,
                              "database": result.floor.database,
                              "archive": result.floor.archive},
                    "orphaned": list(result.orphaned)})
        return
    out.print(f"published manifest v{result.manifest_version} above the floor "
              f"({result.floor.describe()}); {len(result.orphaned)} archived file(s) set aside.",
              markup=False)
