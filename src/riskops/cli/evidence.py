"""``riskops evidence``: write a version's signed evidence bundle, or check one offline.

    riskops evidence fraud 3 --out fraud-3-evidence [--security-scan security-scan.json]
    riskops evidence verify fraud-3-evidence [--public-key public.pem] [--json]

One command whose first argument is either ``verify`` or a model name (Click
cannot mix a group of subcommands with a positional MODEL).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskops.cli.common import HomeOption, JsonFlag, err, open_ws, out, plural, print_json
from riskops.errors import InputError

USAGE = ("riskops evidence MODEL VERSION --out DIR, or riskops evidence verify DIR "
         "[--public-key FILE]")


def evidence(
    target: Annotated[str, typer.Argument(
        metavar="MODEL", help="The model to bundle, or the word verify to check a bundle.")],
    second: Annotated[str, typer.Argument(
        metavar="VERSION", help="The version to bundle; after verify, the bundle folder DIR.")],
    out_dir: Annotated[Path | None, typer.Option(
        "--out", metavar="DIR", help="New or empty folder for the bundle (MODEL VERSION).")
    ] = None,
    security_scan: Annotated[Path | None, typer.Option(
        "--security-scan", metavar="FILE",
        help="JSON from riskops audit security --json-out, copied into the bundle.")] = None,
    public_key: Annotated[Path | None, typer.Option(
        "--public-key", metavar="FILE",
        help="verify: the workspace public key you trust; the bundle's public.pem must be "
             "it. Without it a forger could re-sign a bundle with a key of their own.")
    ] = None,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Write the signed evidence bundle of MODEL VERSION, or verify one offline.

    riskops evidence MODEL VERSION --out DIR writes manifest, key, reports,
    approvals, gates, audit chain, summary.md, SHA256SUMS and its signature.
    riskops evidence verify DIR checks a bundle with nothing but its files
    (and --public-key), one line per check; exit 1 when any check fails.
    """
    if target == "verify":
        if out_dir is not None or security_scan is not None:
            raise InputError(f"--out and --security-scan make a bundle; usage: {USAGE}.")
        _verify(Path(second), public_key=public_key, as_json=as_json)
        return
    if public_key is not None:
        raise InputError(f"--public-key is for riskops evidence verify DIR; usage: {USAGE}.")
    try:
        version = int(second)
    except ValueError:
        raise InputError(f"VERSION {second!r} is not a version number; usage: {USAGE}.") from None
    if out_dir is None:
        raise InputError(f"--out DIR is required: riskops evidence {target} {version} --out "
                         f"{target}-{version}-evidence.")
    _build(target, version, out_dir, security_scan=security_scan, home=home, as_json=as_json)


def _build(model: str, version: int, out_dir: Path, *, security_scan: Path | None,
           home: Path | None, as_json: bool) -> None:
    from riskops.governance.evidence import build_bundle
    from riskops.registry.service import check_model_name
    from riskops.serving.smoke import smoke_test
    from riskops.tokens import authorize, current_identity

    check_model_name(model)
    ws = open_ws(home)
    who = authorize(current_identity(ws), "read")
    result = build_bundle(ws, model, version, out_dir, actor=who.actor,
                          security_scan=security_scan, smoke_test=smoke_test)
    if as_json:
        print_json(result)
        return
    out.print(f"wrote the evidence bundle of {model} v{version} to {out_dir} "
              f"({plural(len(result['files']), 'file')}, manifest v{result['manifest_version']})."
              f"\n  next: riskops evidence verify {out_dir} --public-key PUBLIC.pem",
              markup=False)


def _verify(folder: Path, *, public_key: Path | None, as_json: bool) -> None:
    from riskops.governance.evidence_check import verify_bundle

    result = verify_bundle(folder, public_key=public_key)
    if as_json:
        print_json(result.as_dict())
    else:
        for check in result.checks:
            word = "ok" if check.passed else "FAIL"
            out.print(f"{word} {check.name}: {check.detail}", markup=False)
    if not result.ok:
        if not as_json:
            err.print(f"error: evidence bundle {folder} fails "
                      f"{plural(len(result.failing), 'check')}: "
                      f"{', '.join(c.name for c in result.failing)}.", markup=False)
        raise typer.Exit(1)
