"""OpenSSF model-signing signatures of each version's artifact folder.

Each registered version folder gets ``model.sig``: a Sigstore bundle whose
DSSE payload is an in-toto statement listing the SHA-256 of every file,
signed with the workspace's P-256 key. Anyone can check a version with the
standard tool and the same ``public.pem``::

    model_signing verify key artifacts/models/fraud/3 \
        --signature artifacts/models/fraud/3/model.sig --public_key keys/public.pem

This is the interoperable twin of riskops' own manifest check; serving relies
on the manifest (one signature covering every model), not on these bundles.
"""

from __future__ import annotations

from pathlib import Path

from riskops.errors import IntegrityError

SIGNATURE_NAME = "model.sig"
STAGED_SIGNATURE_NAME = "model.sig.next"


def _hashing_config(signature: Path):  # type: ignore[no-untyped-def]
    from model_signing import hashing

    # The signature lives inside the folder it signs, so it must be left out of
    # the hash, exactly as the model_signing CLI does for --signature.
    return hashing.Config().set_ignored_paths(paths=[signature], ignore_git_paths=False)


def sign_folder(folder: Path, private_key: Path, *, staged: bool = False) -> Path:
    """Sign ``folder`` with ``private_key``; return the path of the bundle written.

    With ``staged`` the bundle goes to ``model.sig.next`` (a key rotation
    renames it over ``model.sig`` once the rotation has committed); the live
    ``model.sig`` is left out of the hash either way.
    """
    from model_signing import hashing, signing

    signature = folder / (STAGED_SIGNATURE_NAME if staged else SIGNATURE_NAME)
    ignored = {folder / SIGNATURE_NAME, signature}
    (
        signing.Config()
        .use_elliptic_key_signer(private_key=private_key)
        .set_hashing_config(
            hashing.Config().set_ignored_paths(paths=sorted(ignored), ignore_git_paths=False)
        )
        .sign(folder, signature)
    )
    return signature


def verify_folder(folder: Path, public_key: Path, *, name: str | None = None) -> None:
    """Verify ``folder`` against its ``model.sig``; ``IntegrityError`` names the cause.

    ``name`` is how the folder is called in messages (default: its path).
    """
    from model_signing import verifying

    signature = folder / SIGNATURE_NAME
    subject = f"{name or folder}/{SIGNATURE_NAME}"
    if not signature.is_file():
        raise IntegrityError(f"{subject}: missing.", [(subject, "missing OpenSSF signature")])
    try:
        (
            verifying.Config()
            .use_elliptic_key_verifier(public_key=public_key)
            .set_hashing_config(_hashing_config(signature))
            .verify(folder, signature)
        )
    except Exception as exc:  # model_signing raises ValueError and protobuf/JSON errors
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise IntegrityError(
            f"{subject}: OpenSSF signature check failed: {reason}",
            [(subject, f"OpenSSF signature check failed: {reason}")],
        ) from None
