// riskops web console. No framework, no CDN: this file and console.css are all there is.
// The token lives in sessionStorage (this tab only) and travels as an Authorization header;
// every value is written with textContent, never parsed as HTML.
"use strict";

const TOKEN_KEY = "riskops.console.token";
const state = { me: null, view: "models", model: null };

function $(id) { return document.getElementById(id); }

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  return node;
}

class ApiError extends Error {
  constructor(status, message, body) { super(message); this.status = status; this.body = body; }
}

function detailText(body, status) {
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d) => [d.field || (d.loc || []).join("."), d.reason || d.msg]
      .filter(Boolean).join(": ")).join("; ");
  }
  if (detail && typeof detail === "object") {
    return detail.message || detail.reason || JSON.stringify(detail);
  }
  return `HTTP ${status}`;
}

async function api(path, options = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = { "Accept": "application/json", "Authorization": `Bearer ${token || ""}` };
  const init = { method: options.method || "GET", headers, credentials: "omit",
                 cache: "no-store", referrerPolicy: "no-referrer" };
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(path, init);
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (response.status === 401) {
    signOut("Your token was not accepted (expired, revoked or mistyped); sign in again.");
    throw new ApiError(401, detailText(body, 401), body);
  }
  if (!response.ok) throw new ApiError(response.status, detailText(body, response.status), body);
  return body;
}

function say(text, kind) {
  const status = $("status");
  status.textContent = text || "";
  status.className = kind || "";
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.me = null;
  $("nav").hidden = true;
  $("who").hidden = true;
  $("view").hidden = true;
  $("view").replaceChildren();
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message || "";
  say("");
}

async function signIn(event) {
  event.preventDefault();
  const input = $("token");
  const token = input.value.trim();
  input.value = "";
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    await start();
  } catch (error) {
    if (error.status !== 401) signOut(`Could not sign in: ${error.message}`);
  }
}

async function start() {
  state.me = await api("/console/api/me");
  $("sign-in").hidden = true;
  $("sign-in-error").textContent = "";
  $("nav").hidden = false;
  $("who").hidden = false;
  $("who-name").textContent = `${state.me.actor} (${state.me.roles.join(", ")})`;
  document.querySelector("#nav button[data-view=insights]").hidden = !state.me.may.insights;
  $("view").hidden = false;
  await show(state.view);
}

async function show(view, extra) {
  state.view = view;
  for (const button of document.querySelectorAll("#nav button")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  const target = $("view");
  target.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  try {
    const render = VIEWS[view];
    target.replaceChildren(...(await render(extra)));
  } catch (error) {
    if (error.status === 401) return;
    const why = error.status === 403 ? `Your roles may not see this: ${error.message}`
                                     : error.message;
    target.replaceChildren(el("p", { class: "error" }, why));
  }
}

function stageBadges(stages) {
  return (stages || []).map((s) => el("span", { class: `stage ${s}` }, s));
}

function stageCell(stages) {
  const parts = [];
  if (stages.production !== null) parts.push(`production v${stages.production}`);
  if (stages.canary) parts.push(`canary v${stages.canary.version} (${stages.canary.percent}%)`);
  if (stages.staging !== null) parts.push(`staging v${stages.staging}`);
  return parts.length ? parts.join(" · ") : "none live";
}

// --- models ------------------------------------------------------------------------------

async function modelsView() {
  const { models } = await api("/console/api/models");
  const filter = el("input", { type: "search", placeholder: "Filter models", id: "model-filter",
                               "aria-label": "Filter models" });
  const body = el("tbody");
  const draw = () => {
    const needle = filter.value.trim().toLowerCase();
    body.replaceChildren(...models.filter((m) => m.model.toLowerCase().includes(needle))
      .map((m) => el("tr", { class: "clickable", "data-model": m.model,
                              onclick: () => show("model", m.model) },
        el("td", {}, el("a", { href: "#", onclick: (e) => e.preventDefault() }, m.model)),
        el("td", {}, stageCell(m.stages)),
        el("td", {}, m.versions), el("td", {}, m.latest ?? "—"),
        el("td", {}, m.retired ? "retired" : ""))));
  };
  filter.addEventListener("input", draw);
  draw();
  return [el("h2", {}, `Models (${models.length})`), filter,
          el("table", { id: "models-table" },
             el("thead", {}, el("tr", {}, ["Model", "Live", "Versions", "Newest", ""]
                .map((h) => el("th", {}, h)))), body)];
}

async function modelView(name) {
  state.model = name;
  const board = await api(`/console/api/models/${encodeURIComponent(name)}`);
  const rows = board.versions.map((v) => versionRow(name, v));
  return [el("p", {}, el("a", { href: "#", onclick: (e) => { e.preventDefault(); show("models"); } },
                         "← all models")),
          el("h2", {}, `${name}`),
          el("p", {}, stageCell(board.stages), board.retired ? " · retired" : ""),
          el("table", { id: "versions-table" },
             el("thead", {}, el("tr", {}, ["Version", "Created", "Author", "Stage", "Sign-off", ""]
                .map((h) => el("th", {}, h)))),
             el("tbody", {}, rows))];
}

function versionRow(model, v) {
  const detail = el("tr", { hidden: true }, el("td", { colspan: 6 }));
  const gatesButton = el("button", { type: "button", onclick: () => showGates(model, v.version, detail) },
                         "Gates");
  const actions = el("div", { class: "actions" }, gatesButton);
  if (state.me.may.promote && !(v.stages || []).includes("production") && !v.rejected_by.length) {
    actions.append(el("button", { type: "button", class: "promote", "data-version": v.version,
                                  onclick: () => promote(model, v.version) }, "Promote"));
  }
  if (!v.complete && !v.rejected_by.length) actions.append(...decisionControls(model, v));
  const row = el("tr", { "data-version": v.version },
    el("td", {}, `v${v.version}`), el("td", {}, v.created_at.slice(0, 19).replace("T", " ")),
    el("td", {}, v.author), el("td", {}, stageBadges(v.stages)),
    el("td", { class: v.complete ? "ok signoff" : (v.rejected_by.length ? "bad signoff" : "signoff") },
       v.summary),
    el("td", {}, actions));
  return [row, detail];
}

async function showGates(model, version, detail) {
  const cell = detail.firstChild;
  detail.hidden = false;
  cell.replaceChildren(el("p", { class: "muted" }, "Evaluating every gate…"));
  try {
    const report = await api(`/models/${encodeURIComponent(model)}/versions/${version}/gates`);
    const download = el("button", { type: "button", onclick: () => saveJson(
      `gates-${model}-${version}.json`, report) }, "Download gates.json");
    cell.replaceChildren(
      el("table", { class: "gates" },
         el("tbody", {}, (report.gates || []).map((g) => el("tr", {},
           el("td", { class: g.status }, g.status.toUpperCase()),
           el("td", {}, g.name), el("td", {}, g.detail || ""),
           el("td", { class: "muted" }, evidenceText(g.evidence)))))),
      download);
  } catch (error) {
    if (error.status !== 401) cell.replaceChildren(el("p", { class: "error" }, error.message));
  }
}

function evidenceText(evidence) {
  if (evidence === null || evidence === undefined) return "";
  if (typeof evidence === "string") return evidence;
  const text = JSON.stringify(evidence);
  return text.length > 240 ? `${text.slice(0, 240)}…` : text;
}

function saveJson(filename, value) {
  const blob = new Blob([JSON.stringify(value, null, 2)], { type: "application/json" });
  const link = el("a", { href: URL.createObjectURL(blob), download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function decisionControls(model, v) {
  // Offer only what the server would accept: a role the user holds that is still missing,
  // and only to someone who has not signed this version off already (one approval per person).
  const open = state.me.signoff_roles.filter((r) => v.missing_roles.includes(r));
  const signed = Object.values(v.approved).includes(state.me.actor);
  const author = v.author === state.me.actor && !v.author_may_approve;
  if (!state.me.may.approve || !open.length || signed || author) return [];
  const role = el("select", { "aria-label": "Sign off as role", class: "role" },
                  open.map((r) => el("option", { value: r }, r)));
  const comment = el("input", { type: "text", placeholder: "comment", class: "comment",
                                "aria-label": "Comment", maxlength: 2000 });
  const decide = (decision) => async () => {
    try {
      const result = await api(
        `/models/${encodeURIComponent(model)}/versions/${v.version}/approvals`,
        { method: "POST", body: { decision, role: role.value, comment: comment.value } });
      const verdict = (result.approvals && result.approvals.summary) || "";
      say(`${model} v${v.version}: ${decision}d as ${role.value}. ${verdict}`, "ok");
    } catch (error) {
      if (error.status !== 401) say(`${model} v${v.version}: ${error.message}`, "error");
      return;
    }
    await show(state.view, state.view === "model" ? model : undefined);
  };
  return [role, comment,
          el("button", { type: "button", class: "approve", onclick: decide("approve") }, "Approve"),
          el("button", { type: "button", class: "reject", onclick: decide("reject") }, "Reject")];
}

async function promote(model, version) {
  try {
    await api(`/models/${encodeURIComponent(model)}/promote`,
              { method: "POST", body: { version, stage: "production" } });
    say(`${model} v${version} promoted to production.`, "ok");
  } catch (error) {
    if (error.status === 401) return;
    const failing = failingGates(error.body);
    say(`${model} v${version} not promoted: ${failing || error.message}`, "error");
    return;
  }
  await show("model", model);
}

function failingGates(body) {
  const gates = body && body.gates && body.gates.gates;
  if (!Array.isArray(gates)) return "";
  return gates.filter((g) => g.status !== "pass").map((g) => `${g.name}: ${g.detail}`).join("; ");
}

// --- approvals ---------------------------------------------------------------------------

async function approvalsView() {
  const { pending } = await api("/console/api/pending");
  const rows = pending.map((v) => el("tr", { "data-model": v.model, "data-version": v.version },
    el("td", {}, el("a", { href: "#", onclick: (e) => { e.preventDefault(); show("model", v.model); } },
                    v.model)),
    el("td", {}, `v${v.version}`), el("td", {}, v.author),
    el("td", {}, Object.entries(v.approved).map(([r, u]) => `${r} by ${u}`).join(", ") || "—"),
    el("td", { class: "missing" }, v.missing_roles.join(", ")),
    el("td", {}, el("div", { class: "actions" }, decisionControls(v.model, v)))));
  return [el("h2", {}, `Pending approvals (${pending.length})`),
          pending.length ? el("table", { id: "pending-table" },
            el("thead", {}, el("tr", {}, ["Model", "Version", "Author", "Approved", "Missing", ""]
               .map((h) => el("th", {}, h)))), el("tbody", {}, rows))
                         : el("p", { class: "muted" }, "Nothing waits for sign-off.")];
}

// --- monitoring --------------------------------------------------------------------------

async function monitoringView() {
  const first = await api("/console/api/monitoring");
  if (!first.models.length) {
    return [el("h2", {}, "Monitoring"),
            el("p", { class: "muted" }, "No monitoring history yet: run `riskops monitor run`.")];
  }
  const picker = el("select", { id: "monitor-model", "aria-label": "Model" },
                    first.models.map((m) => el("option", { value: m }, m)));
  if (state.model && first.models.includes(state.model)) picker.value = state.model;
  const holder = el("div", { class: "charts" });
  const draw = async () => {
    const data = await api(`/console/api/monitoring?model=${encodeURIComponent(picker.value)}`);
    const note = data.truncated ? [el("p", { class: "muted" }, `Showing the newest ${data.points.length} points of the last ${data.days} days.`)] : [];
    holder.replaceChildren(...note, ...charts(data.points));
  };
  picker.addEventListener("change", () => draw().catch((e) => say(e.message, "error")));
  await draw();
  return [el("h2", {}, "Drift and performance over time"), picker, holder];
}

function charts(points) {
  const series = new Map();
  for (const p of points) {
    if (p.value === null) continue;
    const key = p.check === "performance" ? `performance · ${p.metric}`
                                          : `${p.check.replace("_", " ")} · ${p.feature} · ${p.metric}`;
    if (!series.has(key)) series.set(key, new Map());
    const byTenant = series.get(key);
    if (!byTenant.has(p.tenant_id)) byTenant.set(p.tenant_id, []);
    byTenant.get(p.tenant_id).push(p);
  }
  const keys = [...series.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return keys.map((key) => lineChart(key, series.get(key)));
}

function rank(key) {
  if (key.startsWith("performance")) return 0;
  if (key.startsWith("prediction")) return 1;
  return key.endsWith("psi") ? 2 : 3;
}

const COLOURS = ["#0969da", "#8250df", "#bf3989", "#1a7f37", "#9a6700", "#57606a"];

function lineChart(title, byTenant) {
  const width = 360, height = 150, pad = 30;
  const all = [...byTenant.values()].flat();
  const times = all.map((p) => Date.parse(p.window_end));
  const values = all.map((p) => p.value);
  const t0 = Math.min(...times), t1 = Math.max(...times);
  const v0 = Math.min(0, ...values), v1 = Math.max(...values, title.endsWith("psi") ? 0.25 : 0);
  const x = (t) => pad + (t1 === t0 ? (width - 2 * pad) / 2 : (t - t0) / (t1 - t0) * (width - 2 * pad));
  const y = (v) => height - pad - (v1 === v0 ? 0.5 : (v - v0) / (v1 - v0)) * (height - 2 * pad);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
                             "aria-label": title });
  chart.append(svg("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: "axis" }));
  chart.append(svg("line", { x1: pad, y1: pad, x2: pad, y2: height - pad, class: "axis" }));
  for (const [v, label] of [[v0, v0], [v1, v1]]) {
    const text = svg("text", { x: 2, y: y(v) + 4, "font-size": 9, fill: "#57606a" });
    text.textContent = Number(label).toPrecision(2);
    chart.append(text);
  }
  if (title.endsWith("psi")) {
    chart.append(svg("line", { x1: pad, x2: width - pad, y1: y(0.2), y2: y(0.2), stroke: "#cf222e",
                               "stroke-dasharray": "4 3" }));
  }
  let i = 0;
  const legend = [];
  for (const [tenant, pts] of byTenant) {
    const colour = COLOURS[i++ % COLOURS.length];
    pts.sort((a, b) => Date.parse(a.window_end) - Date.parse(b.window_end));
    chart.append(svg("polyline", { fill: "none", stroke: colour, "stroke-width": 1.5,
      points: pts.map((p) => `${x(Date.parse(p.window_end)).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ") }));
    for (const p of pts) {
      const dot = svg("circle", { cx: x(Date.parse(p.window_end)), cy: y(p.value), r: p.breach ? 3.5 : 2,
                                  fill: p.breach ? "#cf222e" : colour });
      const tip = svg("title", {});
      tip.textContent = `${tenant} ${p.window_end.slice(0, 10)}: ${p.value}${p.breach ? " (breach)" : ""}`;
      dot.append(tip);
      chart.append(dot);
    }
    legend.push(el("span", { class: "muted" }, `● ${tenant} `));
  }
  const first = new Date(t0).toISOString().slice(0, 10), last = new Date(t1).toISOString().slice(0, 10);
  return el("figure", { class: "chart", "data-series": title },
            el("figcaption", {}, title), chart,
            el("div", { class: "muted" }, `${first} … ${last} · `, legend));
}

// --- insights ----------------------------------------------------------------------------

async function insightsView() {
  const data = await api("/risk/insights");
  const rows = (data.scenarios || []).map((s) => el("tr", {},
    el("td", {}, s.scenario), el("td", {}, s.tenant_id), el("td", {}, s.predictions),
    el("td", {}, s.feedback), el("td", {}, s.overrides),
    el("td", {}, s.override_rate === null ? "—" : `${(100 * s.override_rate).toFixed(1)}%`),
    el("td", {}, s.critical_feedback), el("td", {}, s.outcomes)));
  const budgets = Object.entries(data.error_budget_remaining || {}).map(([scenario, left]) =>
    el("tr", {}, el("td", {}, scenario),
       el("td", { class: left !== null && left < 0.05 ? "bad" : "" },
          left === null ? "no traffic" : `${(100 * left).toFixed(1)}%`)));
  return [el("h2", {}, "Overrides by scenario and tenant"),
          el("p", { class: "muted" }, `Last ${(data.scenarios[0] || {}).window_days || 7} days, generated ${data.generated_at}`),
          el("table", { id: "insights-table" },
             el("thead", {}, el("tr", {}, ["Scenario", "Tenant", "Predictions", "Feedback", "Overrides",
                                           "Override rate", "Critical", "Outcomes"].map((h) => el("th", {}, h)))),
             el("tbody", {}, rows)),
          el("h3", {}, "Error budget left"),
          el("table", {}, el("tbody", {}, budgets))];
}

// --- audit log ---------------------------------------------------------------------------

async function auditView() {
  const data = await api("/console/api/audit?limit=100");
  const v = data.verification;
  const banner = v.ok
    ? el("p", { class: "banner ok", id: "audit-verdict" },
         `Chain verifies: ${v.entries} ${v.entries === 1 ? "entry" : "entries"}, head ${String(v.head_hash).slice(0, 16)}…`,
         v.anchored_seq ? `, anchored in signed manifests up to #${v.anchored_seq}` : "")
    : el("p", { class: "banner bad", id: "audit-verdict" },
         `Chain does NOT verify at entry #${v.problem.seq}: ${v.problem.reason}`);
  const rows = data.entries.map((e) => el("tr", {},
    el("td", {}, e.seq), el("td", {}, e.ts.slice(0, 19).replace("T", " ")), el("td", {}, e.actor),
    el("td", {}, e.action), el("td", {}, e.subject)));
  return [el("h2", {}, "Audit log"), banner,
          el("table", { id: "audit-table" },
             el("thead", {}, el("tr", {}, ["#", "When (UTC)", "Actor", "Action", "Subject"]
                .map((h) => el("th", {}, h)))), el("tbody", {}, rows))];
}

const VIEWS = {
  models: modelsView, model: modelView, approvals: approvalsView,
  monitoring: monitoringView, insights: insightsView, audit: auditView,
};

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut("Signed out."));
  for (const button of document.querySelectorAll("#nav button")) {
    button.addEventListener("click", () => show(button.dataset.view));
  }
  if (sessionStorage.getItem(TOKEN_KEY)) start().catch(() => {});
});
