"""Why a version is not on a model's production history, told from its pointer changes.

The production history is a stack: a promotion pushes, a rollback pops (``--to V``
pops back to V), a retirement empties it. A rollback only returns to a version on
it; anything else is a promotion, with its gates.
"""

from __future__ import annotations

from collections.abc import Sequence

from riskops.storage.tables import PointerChangeRow


def rollback_refusal(model: str, version: int, history: list[int],
                     changes: Sequence[PointerChangeRow]) -> str:
    """Why ``rollback --to version`` is refused when ``version`` is not on ``history``.

    ``changes`` are the model's pointer changes, oldest first. The answer says
    whether the version was rolled back off production (and by which rollback),
    was live only before the model was retired, or was never in production.

    Examples
    --------
    v1 promoted, v2 promoted, ``rollback --to 1``: history ``[1]``, and for v2
    ``"fraud v2 was in production until the rollback to v1 by ana at 2026-05-01
    09:30 UTC took it off the production history [1]; ..."``.
    """
    production = [c for c in changes if c.stage == "production"]
    retired = [i for i, c in enumerate(production) if c.action == "retire"]
    since = retired[-1] + 1 if retired else 0
    live = [i for i, c in enumerate(production) if i >= since and c.to_version == version]
    gated = f"riskops gates {model} {version}, then riskops promote {model} {version}"
    if live:
        off = next((c for c in production[live[-1] + 1:] if c.action == "rollback"
                    and c.to_version is not None and c.to_version != version), None)
        how = ("a later rollback" if off is None else
               f"the rollback to v{off.to_version} by {off.actor} at {_when(off)}")
        return (f"{model} v{version} was in production until {how} took it off the production "
                f"history {history}; a rollback only goes back down that history, so putting "
                f"v{version} back is a promotion, with its gates: {gated}.")
    if any(c.to_version == version for c in production[:since]):
        return (f"{model} v{version} was in production before {model} was retired "
                f"({_when(production[since - 1])}); its production history started again "
                f"{history}, so a rollback cannot reach v{version}. Promote it, with its gates: "
                f"{gated}.")
    return (f"{model} v{version} was never in production (production history {history}); a "
            f"rollback only returns to a version on that history. Promote it instead, with its "
            f"gates: {gated}.")


def _when(change: PointerChangeRow) -> str:
    return f"{change.changed_at:%Y-%m-%d %H:%M} UTC"
