// The medsettle staff console: plain DOM, the admin API with the operator's bearer token (kept in
// this tab's sessionStorage), text only ever set as textContent (nothing from the API is parsed
// as HTML). docs/admin-api.yaml describes every call made here.
"use strict";

const KINDS = ["pharmacy", "hospital", "window", "hotline", "online", "agency"];
const SVG = "http://www.w3.org/2000/svg";
const state = { token: sessionStorage.getItem("medsettle.token"), cardNext: null, terminalsNext: null };

const $ = (id) => document.getElementById(id);

function say(text, isError) {
  $("message").textContent = text;
  $("message").className = isError ? "error" : "";
}

// One API call; throws an Error with the server's message on anything but 2xx.
async function api(path, options = {}) {
  const response = await fetch(path, {
    method: options.method || "GET",
    headers: { Authorization: "Bearer " + state.token },
    cache: "no-store",
  });
  if (response.status === 401) {
    signOut("Your token was refused: sign in again.");
    throw new Error("signed out");
  }
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try { message = (await response.json()).error || message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return options.raw ? response : response.json();
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

// Fen as yuan, with integer arithmetic (amounts are integers of fen).
function yuan(fen) {
  const negative = fen < 0;
  const abs = Math.abs(fen);
  const whole = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const cents = String(abs % 100).padStart(2, "0");
  return (negative ? "-" : "") + "¥" + whole + "." + cents;
}

async function signIn(token) {
  state.token = token;
  try {
    const me = await api("/api/v1/whoami");
    sessionStorage.setItem("medsettle.token", token);
    $("operator-name").textContent = me.operator;
    $("session").hidden = false;
    $("signin-panel").hidden = true;
    $("app").hidden = false;
    say("Signed in as " + me.operator + ".");
    await Promise.all([loadFigures(), loadTerminals(false)]);
  } catch (error) {
    if (error.message !== "signed out") signOut("Sign-in failed: " + error.message);
  }
}

function signOut(text) {
  state.token = null;
  sessionStorage.removeItem("medsettle.token");
  $("session").hidden = true;
  $("app").hidden = true;
  $("signin-panel").hidden = false;
  $("token").value = "";
  say(text || "Signed out.", Boolean(text));
}

async function loadFigures() {
  const figures = await api("/api/v1/figures");
  const report = await api("/api/v1/reports/daily?date=" + figures.date);
  $("figures-date").textContent = figures.date.slice(0, 4) + "-" + figures.date.slice(4, 6) + "-" + figures.date.slice(6);
  $("total-count").textContent = figures.totals.count;
  for (const key of ["total", "fund", "account", "aid", "cash"]) $("total-" + key).textContent = yuan(figures.totals[key]);
  drawChart(figures.perMinute);

  const refusals = $("refusals");
  refusals.replaceChildren();
  const codes = Object.keys(figures.refusals).sort((a, b) => figures.refusals[b] - figures.refusals[a]);
  for (const code of codes) {
    const row = refusals.insertRow();
    cell(row, code);
    cell(row, figures.refusals[code]);
  }
  if (codes.length === 0) cell(refusals.insertRow(), "none today");

  const institutions = $("institutions");
  institutions.replaceChildren();
  for (const line of report.institutions) {
    const row = institutions.insertRow();
    cell(row, line.institution);
    cell(row, line.name);
    cell(row, line.count);
    for (const key of ["total", "fund", "account", "cash"]) cell(row, yuan(line[key]));
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "CSV";
    button.addEventListener("click", () => downloadRecon(line.institution, figures.date));
    cell(row, "").appendChild(button);
  }
  if (report.institutions.length === 0) cell(institutions.insertRow(), "no settlements today");
}

// Settlements per minute as stacked bars, one colour per institution kind, over the day's minutes
// from the first with any (at least the hour up to the last).
function drawChart(perMinute) {
  const width = 1000, height = 220, left = 40, right = 10, bottom = 24, top = 10;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 " + width + " " + height);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "settlements per minute by institution kind");
  const toMinute = (hhmm) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  const byMinute = new Map();
  const totalsByKind = new Map();
  for (const p of perMinute) {
    const m = toMinute(p.minute);
    if (!byMinute.has(m)) byMinute.set(m, new Map());
    byMinute.get(m).set(p.kind, p.count);
    totalsByKind.set(p.kind, (totalsByKind.get(p.kind) || 0) + p.count);
  }
  const minutes = [...byMinute.keys()];
  const last = minutes.length ? Math.max(...minutes) : 0;
  const first = minutes.length ? Math.max(0, Math.min(Math.min(...minutes), last - 59)) : 0;
  const slots = last - first + 1;
  const peak = Math.max(1, ...[...byMinute.values()].map((kinds) => [...kinds.values()].reduce((a, b) => a + b, 0)));
  const slot = (width - left - right) / slots;
  const scale = (height - bottom - top) / peak;

  const add = (name, attributes, text) => {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    if (text !== undefined) element.textContent = text;
    svg.appendChild(element);
    return element;
  };
  const hhmm = (m) => String(Math.floor(m / 60)).padStart(2, "0") + ":" + String(m % 60).padStart(2, "0");
  for (const [m, kinds] of byMinute) {
    let y = height - bottom;
    for (const kind of KINDS) {
      const count = kinds.get(kind);
      if (!count) continue;
      y -= count * scale;
      const bar = add("rect", { x: (left + (m - first) * slot).toFixed(2), y: y.toFixed(2), width: Math.max(slot * 0.8, 1).toFixed(2),
                                height: (count * scale).toFixed(2), class: "bar kind-" + kind });
      bar.appendChild(document.createElementNS(SVG, "title")).textContent = hhmm(m) + " " + kind + ": " + count;
    }
  }
  add("line", { x1: left, y1: height - bottom, x2: width - right, y2: height - bottom, class: "axis" });
  add("line", { x1: left, y1: top, x2: left, y2: height - bottom, class: "axis" });
  add("text", { x: left - 4, y: top + 10, class: "tick", "text-anchor": "end" }, String(peak));
  add("text", { x: left - 4, y: height - bottom, class: "tick", "text-anchor": "end" }, "0");
  add("text", { x: left, y: height - 6, class: "tick", "text-anchor": "start" }, hhmm(first));
  add("text", { x: width - right, y: height - 6, class: "tick", "text-anchor": "end" }, hhmm(last));
  if (perMinute.length === 0) add("text", { x: width / 2, y: height / 2, class: "tick", "text-anchor": "middle" }, "no settlements yet today");

  const legend = $("chart-legend");
  legend.replaceChildren();
  for (const kind of KINDS) {
    if (!totalsByKind.has(kind)) continue;
    const entry = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.className = "kind-" + kind;
    entry.appendChild(swatch);
    entry.appendChild(document.createTextNode(kind + " " + totalsByKind.get(kind)));
    legend.appendChild(entry);
  }
  $("chart").replaceChildren(svg);
}

// The reconciliation file comes with the token in a header, so it is fetched and handed to the
// browser as a file rather than linked.
async function downloadRecon(institution, date) {
  try {
    const query = "institution=" + encodeURIComponent(institution) + (date ? "&date=" + date : "");
    const response = await api("/api/v1/reconciliation?" + query, { raw: true });
    const blob = await response.blob();
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = /filename="([^"]+)"/.exec(disposition);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = match ? match[1] : "recon.csv";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    say("Downloaded " + link.download + ".");
  } catch (error) {
    say("Reconciliation file: " + error.message, true);
  }
}

async function lookUpCard(card, more) {
  try {
    const after = more && state.cardNext ? "&after=" + state.cardNext : "";
    const page = await api("/api/v1/cards/" + encodeURIComponent(card) + "/history?limit=100" + after);
    const body = $("card-events");
    if (!more) body.replaceChildren();
    for (const event of page.items) {
      const row = body.insertRow();
      for (const value of [event.time, event.card, event.event, event.channel, event.terminal, event.agent, event.detail]) cell(row, value);
    }
    state.cardNext = page.next;
    $("card-more").hidden = !page.next;
    say(card + ": " + body.rows.length + " events.");
  } catch (error) {
    $("card-events").replaceChildren();
    $("card-more").hidden = true;
    say("Card " + card + ": " + error.message, true);
  }
}

async function loadTerminals(more) {
  const after = more && state.terminalsNext ? "&after=" + encodeURIComponent(state.terminalsNext) : "";
  const page = await api("/api/v1/terminals?limit=200" + after);
  const body = $("terminals");
  if (!more) body.replaceChildren();
  for (const terminal of page.items) body.appendChild(terminalRow(terminal));
  state.terminalsNext = page.next;
  $("terminals-more").hidden = !page.next;
}

function terminalRow(terminal) {
  const row = document.createElement("tr");
  row.dataset.terminal = terminal.terminal;
  cell(row, terminal.terminal);
  cell(row, terminal.institution);
  cell(row, terminal.kind);
  cell(row, terminal.enabled ? "enabled" : "disabled", terminal.enabled ? "state-enabled" : "state-disabled");
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.action = terminal.enabled ? "disable" : "enable";
  button.dataset.terminal = terminal.terminal;
  button.textContent = terminal.enabled ? "Disable" : "Enable";
  button.addEventListener("click", () => setEnabled(terminal, !terminal.enabled, row));
  cell(row, "").appendChild(button);
  return row;
}

async function setEnabled(terminal, enabled, row) {
  const verb = enabled ? "enable" : "disable";
  if (!enabled && !window.confirm("Disable terminal " + terminal.terminal + "? Its sessions end within seconds.")) return;
  try {
    const result = await api("/api/v1/terminals/" + encodeURIComponent(terminal.terminal) + "/" + verb, { method: "POST" });
    const updated = Object.assign({}, terminal, { enabled: result.enabled });
    row.replaceWith(terminalRow(updated));
    say("Terminal " + terminal.terminal + " " + (result.enabled ? "enabled" : "disabled") + ".");
  } catch (error) {
    say("Terminal " + terminal.terminal + ": " + error.message, true);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("token").value.trim());
  });
  $("signout").addEventListener("click", () => signOut());
  $("refresh").addEventListener("click", () => loadFigures().catch((e) => say(e.message, true)));
  $("terminals-reload").addEventListener("click", () => loadTerminals(false).catch((e) => say(e.message, true)));
  $("terminals-more").addEventListener("click", () => loadTerminals(true).catch((e) => say(e.message, true)));
  $("card-form").addEventListener("submit", (event) => {
    event.preventDefault();
    lookUpCard($("card-input").value.trim().toUpperCase(), false);
  });
  $("card-more").addEventListener("click", () => lookUpCard($("card-input").value.trim().toUpperCase(), true));
  $("recon-form").addEventListener("submit", (event) => {
    event.preventDefault();
    downloadRecon($("recon-institution").value.trim().toUpperCase(), null);
  });
  // Today's figures move: refreshed every 30 s while signed in.
  setInterval(() => { if (state.token && !$("app").hidden) loadFigures().catch(() => {}); }, 30000);
  if (state.token) signIn(state.token);
});
