"""Frozen models: ``riskops freeze MODEL --reason R`` and ``riskops unfreeze MODEL --reason R``.

    riskops freeze fraud --reason "chargebacks spiking; investigating"   # risk_lead, owner
    riskops unfreeze fraud --reason "v3 fixes the issue, see INC-42"     # admin only

A frozen model's canary is out of traffic and its promotions are refused; an
automatic rollback freezes its model too. Both commands are audited.
"""

from __future__ import annotations

from typing import Annotated

import typer

from riskops.cli.common import HomeOption, JsonFlag, open_ws, out, print_json

ModelArg = Annotated[str, typer.Argument(metavar="MODEL", help="Model name, e.g. fraud.")]


def freeze(
    model: ModelArg,
    reason: Annotated[str, typer.Option(
        "--reason", metavar="TEXT", help="Why promotions halt (kept in the audit log).")],
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Freeze MODEL: canary out of traffic, promotions refused until an admin unfreezes it."""
    from riskops.governance.freeze import freeze as freeze_model
    from riskops.tokens import current_identity

    ws = open_ws(home)
    result = freeze_model(ws, current_identity(ws), model, reason=reason)
    if as_json:
        print_json(result)
        return
    if not result["changed"]:
        out.print(f"{model} was already frozen by {result['frozen_by']} at "
                  f"{result['frozen_at']}: {result['reason']}", markup=False)
        return
    canary = result["canary_removed"]
    off = f" canary v{canary['version']} ({canary['percent']}%) is off;" if canary else ""
    out.print(f"froze {model}:{off} promotions are refused until an admin runs riskops "
              f"unfreeze {model}. Manifest v{result['manifest_version']}.", markup=False)


def unfreeze(
    model: ModelArg,
    reason: Annotated[str, typer.Option(
        "--reason", metavar="TEXT", help="Why the freeze is lifted (kept in the audit log).")],
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Lift MODEL's freeze (admin): promotions through the gates are possible again."""
    from riskops.governance.freeze import unfreeze as unfreeze_model
    from riskops.tokens import current_identity

    ws = open_ws(home)
    result = unfreeze_model(ws, current_identity(ws), model, reason=reason)
    if as_json:
        print_json(result)
        return
    out.print(f"unfroze {model} (frozen by {result['was']['frozen_by']}: "
              f"{result['was']['reason']}); promote a fixed version through its gates: "
              f"riskops gates {model} VERSION. Manifest v{result['manifest_version']}.",
              markup=False)
