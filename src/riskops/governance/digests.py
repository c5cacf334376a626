"""The digest that ties an approval or an audit to one version's exact bytes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable


def artifacts_digest(artifacts: Iterable[tuple[str, str, int]]) -> str:
    """SHA-256 of the canonical JSON list of ``{path, sha256, size}``, sorted by path.

    Any change to any file of the version (or a file added or removed) changes it,
    so an approval given to one set of bytes never carries over to another.
    """
    listed = sorted(({"path": p, "sha256": d, "size": int(s)} for p, d, s in artifacts),
                    key=lambda a: a["path"])
    text = json.dumps(listed, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
