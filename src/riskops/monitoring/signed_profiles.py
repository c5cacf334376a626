"""The reference profiles of the versions that served a window, read only through the
signed manifest.

    profiles = load_profiles(ws, current.served_versions())   # current: a LogWindow
    profiles[("fraud", 3)]      # a Profile, or a str: why there is none

The manifest's signature is verified once; each profile is read with
``registry.loader.read_artifact`` (confinement, size and SHA-256 against the
signed manifest, checked again as read), then parsed and validated by
``riskops.profiles.profile.read_profile``. Nothing unverified is parsed, the
model is not loaded and the training data is never read. Every failure is a
reason string, so the ``training_skew`` check of that version is skipped
saying why and the other checks still run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from riskops.config import Workspace
from riskops.errors import InputError, IntegrityError
from riskops.monitoring.skew import NO_PROFILE
from riskops.profiles.profile import FILE, Profile, read_profile


def load_profiles(ws: Workspace, served: Iterable[tuple[str, int]],
                  ) -> dict[tuple[str, int], Profile | str]:
    """The verified reference profile of every served (model, version), or why not.

    ``served`` is what the current window reports (``LogWindow.served_versions()``:
    the pairs, with their row counts, which are not needed here).
    """
    from riskops.registry.loader import read_artifact
    from riskops.registry.store import version_folder
    from riskops.registry.trust import read_workspace_manifest

    pairs = sorted({(str(model), int(version)) for model, version in served})
    if not pairs:
        return {}
    try:
        verified = read_workspace_manifest(ws)
    except (IntegrityError, InputError) as exc:
        return {pair: f"the signed manifest cannot be verified ({exc}); skew not checked"
                for pair in pairs}
    out: dict[tuple[str, int], Profile | str] = {}
    for model, version in pairs:
        source = f"{version_folder(model, version)}/{FILE}"
        try:
            entry: Any = verified.manifest.version(model, version)
        except InputError as exc:  # UnknownModel, UnknownVersion
            out[(model, version)] = f"{str(exc).rstrip('.')}; skew not checked"
            continue
        if source not in {a.path for a in entry.artifacts}:
            out[(model, version)] = NO_PROFILE.format(version=version)
            continue
        try:
            data = read_artifact(verified, model, version, FILE, action="used for skew")
            out[(model, version)] = read_profile(data, source=source)
        except IntegrityError as exc:
            out[(model, version)] = f"{exc} The profile failed verification; skew not checked."
        except InputError as exc:
            out[(model, version)] = str(exc)
    return out
