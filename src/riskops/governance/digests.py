"""Digests that tie a governance record (a bias audit, an approval) to exact artifacts.

    artifacts_digest([("models/fraud/3/model.skops", "ab12…", 48213), ...])

The digest changes when any artifact of the version is added, removed,
renamed, resized or altered, so a record made for one set of bytes cannot be
reused for another.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

__all__ = ["artifacts_digest"]


def artifacts_digest(artifacts: Iterable[tuple[str, str, int]]) -> str:
    """SHA-256 (hex) of a version's artifact list in canonical JSON.

    The list of ``{"path", "sha256", "size"}`` objects, sorted by path, is
    written as JSON with sorted keys and separators ``(",", ":")``, UTF-8.

    Parameters
    ----------
    artifacts : iterable of (path, sha256, size)
        One entry per artifact of the version, in any order.

    Returns
    -------
    digest : str
        64 lowercase hex digits.

    Raises
    ------
    ValueError
        If a path is listed twice.

    Examples
    --------
    >>> artifacts_digest([]) == hashlib.sha256(b"[]").hexdigest()
    True
    """
    entries = sorted(({"path": str(path), "sha256": str(sha256), "size": int(size)}
                      for path, sha256, size in artifacts), key=lambda e: e["path"])
    paths = [e["path"] for e in entries]
    doubled = sorted({p for p in paths if paths.count(p) > 1})
    if doubled:
        raise ValueError(f"artifact paths listed twice: {', '.join(doubled)}")
    text = json.dumps(entries, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
