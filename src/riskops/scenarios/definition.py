"""A custom scenario's definition, stored and signed with every version of its model.

A reference scenario (``fraud``, ``deal``, ...) is code in this package; a
custom one is the user's config file. So that a server can serve a custom
model without that file (and without trusting whatever file is lying around),
each version carries the definition it was trained or brought with as the
artifact ``scenario.json``, listed by digest in the signed manifest like the
model itself::

    {"format": "riskops.scenario/v1",
     "config": {"scenario": {...}, "columns": {...}, "features": {...}, ...}}

``config`` is the config file's tables as given (same keys as the TOML, see
``riskops.scenarios.custom``), with the label values the version was trained
on filled in (``columns.positive_label`` / ``negative_label``). Reading it
back goes through the same ``parse_config`` as the TOML file, so a stored
definition is checked by exactly the rules a new config is, and a tampered one
is refused by its digest before it is parsed.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from riskops.errors import InputError
from riskops.scenarios.custom import CustomScenario, parse_config

DEFINITION_FILE = "scenario.json"
#: The file a user puts beside a model trained elsewhere (``models register --from``).
OWN_MODEL_CONFIG = "scenario.toml"
FORMAT = "riskops.scenario/v1"
#: A definition is a few kilobytes; the cap keeps a hostile file from costing memory.
MAX_DEFINITION_BYTES = 1024 * 1024


def definition_bytes(scenario: CustomScenario) -> bytes:
    """The ``scenario.json`` bytes of ``scenario``: its config plus its final labels."""
    config = copy.deepcopy(dict(scenario.config.document))
    columns = config.setdefault("columns", {})
    columns["negative_label"], columns["positive_label"] = scenario.schema.labels[:2]
    document = {"format": FORMAT, "config": config}
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False,
                       allow_nan=False) + "\n").encode("utf-8")


def scenario_from_definition(raw: bytes, *, model: str, where: str) -> CustomScenario:
    """The scenario ``model`` defined by ``raw`` (a ``scenario.json``); ``where`` names the
    file in errors (``"claims v3 scenario.json"``).

    Raises
    ------
    InputError
        Too large, not UTF-8 JSON, another format, or a config that breaks a rule of
        ``parse_config`` (naming the key).
    """
    if len(raw) > MAX_DEFINITION_BYTES:
        raise InputError(f"{where}: {len(raw)} bytes is too large for a scenario definition "
                         f"(at most {MAX_DEFINITION_BYTES}).")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{where}: not a JSON scenario definition "
                         f"({type(exc).__name__}).") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputError(f"{where}: not a scenario definition (format must be {FORMAT!r}).")
    config = document.get("config")
    if not isinstance(config, dict):
        raise InputError(f"{where}: 'config' must be an object of the config's tables.")
    return CustomScenario(parse_config(config, source=Path(where), name=model))
