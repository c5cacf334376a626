"""``riskops audit``: the group its audits are mounted in (see ``main.py``)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Audits: bias of a model or a scored file, security of the installation.",
                  no_args_is_help=True)
