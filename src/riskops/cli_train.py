"""`riskops train ...` commands (wired into the app by `riskops.cli`)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `riskops` app."""
