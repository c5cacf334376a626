"""The page both HTML reports share: head, stylesheet, number formats, tables.

    page("Drift report", body_html)   # a whole self-contained document
    num(0.12345)                      # "0.123"; an en dash for None, NaN, infinity
    table(["column", "PSI"], rows)    # an escaped <table>; cells may be Raw markup

The page carries a Content-Security-Policy that forbids every fetch and
every script (styles inline, images only as ``data:``), so a report mailed
around or opened from a share can neither call out nor run code, even if
an escaping bug let markup through.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from html import escape

from riskops import __version__
from riskops.monitoring.charts import CHART_CSS, DASH

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STYLE = """
:root { color-scheme: light; --ink:#111827; --muted:#6b7280; --line:#e5e7eb;
  --stable:#166534; --stable-bg:#dcfce7; --monitor:#92400e; --monitor-bg:#fef3c7;
  --alert:#991b1b; --alert-bg:#fee2e2; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #f8fafc;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "Liberation Sans", sans-serif; }
header { background: #0f172a; color: #f8fafc; padding: 20px 32px 18px; }
header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 650; letter-spacing: .01em; }
header p { margin: 0; color: #cbd5e1; }
main { max-width: 1360px; margin: 0 auto; padding: 8px 32px 40px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 16px 20px; margin: 18px 0; }
h2 { font-size: 17px; margin: 0 0 10px; }
h3 { font-size: 15px; margin: 16px 0 6px; overflow-wrap: anywhere; }
.feature h3 { margin-top: 0; }
p.note, .muted { color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0;
  align-content: start; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 18px; }
.verdict { font-size: 15px; font-weight: 600; padding: 10px 14px; border-radius: 6px;
  margin: 0 0 12px; }
.verdict.drift { background: var(--alert-bg); color: var(--alert); }
.verdict.clean { background: var(--stable-bg); color: var(--stable); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { font-weight: 600; color: #374151; background: #f1f5f9; white-space: nowrap; }
th.group { text-align: center; border-bottom: 2px solid #fff; }
td.n, th.n { text-align: right; }
tbody tr:nth-child(even) { background: #fafafa; }
td.name { overflow-wrap: anywhere; max-width: 360px; }
.scroll { overflow-x: auto; }
.band { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px;
  font-weight: 600; white-space: nowrap; }
.band.stable { background: var(--stable-bg); color: var(--stable); }
.band.monitor { background: var(--monitor-bg); color: var(--monitor); }
.band.alert { background: var(--alert-bg); color: var(--alert); }
.band.skipped { background: #f3f4f6; color: var(--muted); }
table.heat td { text-align: center; padding: 3px 3px; font-size: 12px; min-width: 38px; }
table.heat th { padding: 5px 3px; font-size: 12px; }
table.heat td.name { text-align: left; }
table.heat td.stable { background: var(--stable-bg); color: var(--stable); }
table.heat td.monitor { background: var(--monitor-bg); color: var(--monitor); }
table.heat td.alert { background: var(--alert-bg); color: var(--alert); }
table.heat td.drifted { font-weight: 700; outline: 2px solid var(--alert); outline-offset: -2px; }
table.heat td.skipped { color: var(--muted); }
.feature { border-top: 1px solid var(--line); padding-top: 14px; margin-top: 14px; }
.feature:first-of-type { border-top: 0; margin-top: 0; padding-top: 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr));
  gap: 8px 24px; align-items: start; }
svg.chart { width: 100%; max-width: 640px; height: auto; display: block; }
svg.chart text { font-family: inherit; }
details > summary { cursor: pointer; color: #1d4ed8; margin: 6px 0; }
footer { color: var(--muted); text-align: center; padding: 0 0 24px; font-size: 12px; }
@media print { body { background: #fff; } section { break-inside: avoid; } }
"""


class Raw(str):
    """Markup built here (already escaped), passed through ``table`` as is."""


def esc(text: object) -> str:
    """``text`` as HTML text or attribute value: ``& < > " '`` escaped."""
    return escape(str(text), quote=True)


def finite(value: object) -> float | None:
    """``value`` as a float when it is a finite number, else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def num(value: object, digits: int = 3) -> str:
    """A number with ``digits`` decimals; an en dash when missing or not finite."""
    v = finite(value)
    if v is None:
        return DASH
    shown = f"{v:.{digits}f}"
    return shown[1:] if shown.startswith("-") and not shown.strip("-0.") else shown


def pvalue(value: object) -> str:
    """A p-value: three decimals, or scientific notation below 0.001."""
    v = finite(value)
    if v is None:
        return DASH
    return f"{v:.1e}" if 0 < v < 1e-3 else f"{v:.3f}"


def percent(value: object, digits: int = 1) -> str:
    v = finite(value)
    return DASH if v is None else f"{v * 100:.{digits}f}%"


def count(value: object) -> str:
    v = finite(value)
    return DASH if v is None else f"{int(v):,}"


def text(value: object) -> str:
    """A string as shown; an en dash for ``None`` or empty."""
    return DASH if value is None or value == "" else str(value)


def band(name: str | None, label: str | None = None) -> Raw:
    """A coloured pill holding the band's word (the word, not only the colour, carries it)."""
    known = name if name in ("stable", "monitor", "alert") else "skipped"
    return Raw(f'<span class="band {known}">{esc(label or name or DASH)}</span>')


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *,
          numeric: Iterable[int] = (), cls: str = "", name_column: int | None = 0,
          groups: Sequence[tuple[str, int]] = ()) -> str:
    """An HTML table; ``numeric`` column indexes are right-aligned; ``Raw`` cells kept.

    ``groups`` adds a header row above: (label, how many columns it spans).
    """
    right = set(numeric)

    def cell(tag: str, i: int, value: object) -> str:
        classes = ["n"] if i in right else (["name"] if i == name_column and tag == "td"
                                            else [])
        attr = f' class="{" ".join(classes)}"' if classes else ""
        body = value if isinstance(value, Raw) else esc(text(value))
        return f"<{tag}{attr}>{body}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    if groups:
        spans = "".join(f'<th colspan="{n}" class="group">{esc(label)}</th>'
                        for label, n in groups)
        head = f"{spans}</tr><tr>{head}"
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>"
                   for row in rows)
    attr = f' class="{cls}"' if cls else ""
    return (f'<div class="scroll"><table{attr}><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def facts(pairs: Iterable[tuple[str, object]]) -> str:
    """A definition list of (label, value) pairs; values escaped unless ``Raw``."""
    items = "".join(f"<dt>{esc(k)}</dt><dd>{v if isinstance(v, Raw) else esc(text(v))}</dd>"
                    for k, v in pairs)
    return f'<dl class="facts">{items}</dl>'


def page(title: str, subtitle: str, body: str) -> str:
    """A whole HTML document: strict CSP, inline styles, no script, no external reference."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}{CHART_CSS}</style></head>\n"
        f"<body><header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>\n"
        f"<main>{body}</main>\n"
        f"<footer>riskops {esc(__version__)} · a self-contained report: no script, "
        "no network access</footer></body></html>\n"
    )
