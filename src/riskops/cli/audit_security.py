"""``riskops audit security``: vulnerable packages, the artifact store, keys and tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from riskops.cli.common import (
    HomeOption,
    JsonFlag,
    err,
    open_ws,
    out,
    plural,
    print_json,
    writable_folder,
    write_report,
)

_SECTIONS = (("dependencies", "dependencies"), ("artifacts", "artifact store"),
             ("keys", "signing keys"), ("tokens", "API tokens"))


def security(
    json_out: Annotated[Path | None, typer.Option(
        "--json-out", metavar="FILE", help="Also write the report to this JSON file.")] = None,
    offline: Annotated[bool, typer.Option(
        "--offline", help="Do not ask the advisory source; the dependency check is skipped.")
    ] = False,
    timeout: Annotated[float, typer.Option(
        "--timeout", metavar="SECONDS", min=1.0,
        help="How long pip-audit may take before its check counts as unavailable.")] = 120.0,
    home: HomeOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Scan for vulnerable packages, stray or unsafe artifacts, loose keys and old tokens.

    Exits 1 when a finding is at or above governance.security_fail_on (default high).
    """
    from riskops.governance.security_scan import scan_security
    from riskops.tokens import authorize, current_identity

    ws = open_ws(home)
    authorize(current_identity(ws), "audit")
    if json_out is not None:
        writable_folder(json_out, option="--json-out")
    report = scan_security(ws, offline=offline, timeout=timeout)
    document = report.as_dict()
    if json_out is not None:
        write_report(json_out, document)
    dependencies = document["dependencies"]
    if dependencies["status"] == "unavailable":
        err.print(f"warning: dependency check unavailable ({dependencies['reason']}); "
                  "the other checks ran.", markup=False)
    if as_json:
        print_json(document)
    else:
        _print_human(document)
    if report.status == "fail":
        raise typer.Exit(1)


def _print_human(document: dict[str, Any]) -> None:
    for key, title in _SECTIONS:
        findings = document[key]["findings"]
        if document[key].get("status") == "unavailable":
            out.print(f"{title}: unavailable ({document[key]['reason']})", markup=False)
            continue
        out.print(f"{title}: {plural(len(findings), 'finding')}", markup=False)
        for finding in findings:
            out.print(f"  {finding['severity']:<8} {finding['subject']}: {finding['detail']} "
                      f"-> next: {finding['next']}", markup=False)
    counts = ", ".join(f"{n} {severity}" for severity, n in document["counts"].items() if n)
    artifacts = document["artifacts"]
    out.print(f"{document['status']}: {counts or 'no findings'} "
              f"(fail on {document['fail_on']} or above; "
              f"{plural(document['dependencies']['packages_scanned'], 'package')}, "
              f"{plural(artifacts['versions_scanned'], 'version')}, "
              f"{plural(artifacts['files_scanned'], 'stored file')} scanned).", markup=False)
