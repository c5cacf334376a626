"""A rotated-out private key never stays in the workspace: rotation deletes it (or moves it where
the operator says, outside the workspace), and revocation deletes copies earlier releases left."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from conftest import admin_token
from riskops.config import Workspace
from riskops.errors import InputError, IntegrityError
from riskops.registry.keychain import fingerprint
from riskops.registry.signing import load_private_key


def private_keys_in(ws: Workspace) -> dict[str, str]:
    """Every file under the workspace that is a private key: relative path -> fingerprint."""
    found = {}
    for path in ws.home.rglob("*"):
        if not path.is_file() or b"PRIVATE KEY" not in path.read_bytes()[:100]:
            continue
        try:
            found[str(path.relative_to(ws.home))] = fingerprint(
                load_private_key(path).public_key())
        except (InputError, IntegrityError):
            continue
    return found


def signer(ws: Workspace) -> str:
    return fingerprint(load_private_key(ws.private_key_path).public_key())


@pytest.mark.parametrize("command", [("keys", "rotate"), ("init", "--force")])
def test_a_rotation_leaves_only_the_new_private_key_in_the_workspace(
        workspace: Workspace, cli, command: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    old = signer(workspace)
    rotated = cli(*command, token=admin_token())
    assert rotated.code == 0, rotated.err
    assert private_keys_in(workspace) == {"keys/signing.pem": signer(workspace)}
    assert "old private key was deleted" in " ".join(rotated.out.split())
    assert signer(workspace) != old
    assert len(list(workspace.keys_dir.glob("retired-*/public.pem"))) == 1  # for the record
    assert cli("verify").code == 0


def test_a_rotation_moves_the_old_key_only_to_a_folder_outside_the_workspace(
        workspace: Workspace, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    old = signer(workspace)
    token = admin_token()
    for inside in (workspace.home, workspace.keys_dir):
        refused = cli("keys", "rotate", "--retire-to", inside, token=token)
        assert refused.code == 2 and "inside the workspace" in refused.err
    missing = cli("keys", "rotate", "--retire-to", tmp_path / "nowhere", token=token)
    assert missing.code == 2 and "not an existing folder" in missing.err
    assert signer(workspace) == old  # nothing was changed by the refusals
    vault = tmp_path / "vault"
    vault.mkdir()
    rotated = cli("keys", "rotate", "--retire-to", vault, token=token)
    assert rotated.code == 0, rotated.err
    kept = list(vault.iterdir())
    assert [fingerprint(load_private_key(p).public_key()) for p in kept] == [old]
    assert stat.S_IMODE(kept[0].stat().st_mode) == 0o600
    assert "old private key was moved to" in " ".join(rotated.out.split())
    assert kept[0].name in rotated.out
    assert private_keys_in(workspace) == {"keys/signing.pem": signer(workspace)}


def test_revoking_a_key_deletes_the_private_copy_an_earlier_release_kept(
        workspace: Workspace, cli) -> None:  # type: ignore[no-untyped-def]
    old = signer(workspace)
    old_pem = workspace.private_key_path.read_bytes()
    token = admin_token()
    assert cli("keys", "rotate", token=token).code == 0
    left = next(workspace.keys_dir.glob("retired-*")) / "signing.pem"  # as releases before did
    left.write_bytes(old_pem)
    left.chmod(0o600)
    listing = cli("keys", "list")
    assert f"WARNING {left} is a retired private key ({old})" in " ".join(listing.out.split())
    assert f"riskops keys revoke {old} deletes it" in " ".join(listing.out.split())
    revoked = cli("keys", "revoke", old, "--reason", "rotated out", "--json", token=token)
    assert revoked.code == 0, revoked.err
    assert revoked.json()["deleted_private_keys"] == [str(left)]
    assert private_keys_in(workspace) == {"keys/signing.pem": signer(workspace)}
    assert cli("keys", "list", "--json").json()["retired_private_keys"] == []
