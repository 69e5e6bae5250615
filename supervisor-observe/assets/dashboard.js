"use strict";
// The dashboard: renders /api/tree, follows /api/events, and refreshes the
// tree whenever something happens. Text from the server is only ever set
// with textContent.

const control = document.body.dataset.control === "true";
const FAILING = new Set(["failed", "backing_off", "quarantined"]);
const ABNORMAL = new Set(["failed", "panicked", "liveness_missed", "readiness_timed_out"]);
const RUNNING = new Set(["ready", "running_not_ready"]);
const COMMANDS = ["restart", "terminate", "quarantine", "release"];
const MAX_EVENTS = 300;

let tree = null;
let fetchedAt = 0;
let refreshTimer = null;
let ended = false;
let source = null;

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function duration(secs) {
  if (secs === null || secs === undefined) return "—";
  if (secs < 60) return secs.toFixed(1) + "s";
  const s = Math.floor(secs);
  if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
}

function setConn(state, text) {
  const c = $("conn");
  c.className = "conn " + state;
  c.textContent = text;
}

function toast(text, bad) {
  const t = $("toast");
  t.textContent = text;
  t.className = bad ? "bad" : "";
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

// ---- tree ----

function scheduleRefresh() {
  if (refreshTimer === null) refreshTimer = setTimeout(refresh, 150);
}

async function refresh() {
  refreshTimer = null;
  probes();
  try {
    const res = await fetch("api/tree", { cache: "no-store" });
    if (!res.ok) return;
    tree = await res.json();
    fetchedAt = performance.now();
    render();
  } catch (_) {
    setConn("down", "server unreachable");
  }
}

async function probes() {
  for (const name of ["livez", "readyz", "startupz"]) {
    const p = $("probe-" + name);
    try {
      const res = await fetch(name, { cache: "no-store" });
      p.className = "probe " + (res.ok ? "ok" : "bad");
      p.title = (await res.text()).trim();
    } catch (_) {
      p.className = "probe";
    }
  }
}

function walk(node, depth, out) {
  out.push([node, depth]);
  for (const child of node.children || []) walk(child, depth + 1, out);
}

function render() {
  const nodes = [];
  walk(tree, 0, nodes);
  $("root-name").textContent = tree.id;
  $("nodes").replaceChildren(...nodes.flatMap(([n, depth]) => rows(n, depth)));
  const failing = nodes.filter(([n]) => FAILING.has(n.state)).map(([n]) => n);
  const ready = nodes.filter(([n]) => n.state === "ready").length;
  $("summary").textContent = nodes.length + " nodes · " + ready + " ready · " + failing.length + " failing";
  const alert = $("alert");
  if (ended) return;
  if (failing.length > 0) {
    alert.className = "";
    alert.textContent = "⚠ " + failing.map((n) =>
      n.path + " " + n.state.replace(/_/g, " ") + (n.last_error ? ": " + n.last_error : "")).join(" · ");
    alert.hidden = false;
  } else {
    alert.hidden = true;
  }
  tickUptimes();
}

// A node's row, and a row with its last error under it when that matters.
function rows(n, depth) {
  const failing = FAILING.has(n.state);
  const showError = n.last_error && (failing || ABNORMAL.has(n.last_exit));
  const tr = el("tr", "node state-" + n.state + (failing ? " failing" : "") + (showError ? " has-error" : ""));
  tr.dataset.path = n.path;
  tr.dataset.state = n.state;

  const name = el("td", "name");
  name.style.paddingLeft = (0.5 + depth * 1.4) + "rem";
  if (depth > 0) name.append(el("span", "tree-line", "└"));
  const label = el("span", "id", n.id);
  label.title = n.path;
  name.append(label, el("span", "kind", n.kind));

  let stateText = n.state.replace(/_/g, " ");
  if (n.state === "backing_off" && n.backoff_remaining !== null) {
    stateText += " " + duration(n.backoff_remaining);
  }
  const state = el("td", "state");
  state.append(el("span", "badge", stateText));

  const exit = el("td", "exit" + (n.last_exit ? " exit-" + n.last_exit : ""), n.last_exit || "—");
  const uptime = el("td", "uptime num", duration(n.uptime));
  if (n.uptime !== null && (RUNNING.has(n.state) || depth === 0)) uptime.dataset.base = n.uptime;

  tr.append(
    name,
    state,
    el("td", "gen num", n.generation === null ? "—" : n.generation),
    el("td", "restarts num", n.restarts),
    exit,
    uptime,
    actions(n, depth),
  );
  if (!showError) return [tr];
  const error = el("tr", "error-row" + (failing ? " failing" : ""));
  error.dataset.errorFor = n.path;
  const cell = el("td", "error", n.last_error);
  cell.colSpan = 7;
  cell.style.paddingLeft = (1.6 + depth * 1.4) + "rem";
  error.append(cell);
  return [tr, error];
}

function actions(n, depth) {
  const td = el("td", "actions");
  if (!control || depth === 0) return td;
  for (const command of COMMANDS) {
    const b = el("button", "cmd-" + command, command);
    b.type = "button";
    b.disabled = command === "release" ? n.state !== "quarantined" : false;
    b.addEventListener("click", () => send(command, n.path));
    td.append(b);
  }
  return td;
}

function tickUptimes() {
  const since = (performance.now() - fetchedAt) / 1000;
  for (const td of document.querySelectorAll("td.uptime[data-base]")) {
    td.textContent = duration(Number(td.dataset.base) + since);
  }
}

// ---- control ----

async function send(command, path) {
  const token = $("token").value.trim();
  if (!token) {
    toast("Enter the control token first.", true);
    $("token").focus();
    return;
  }
  const reason = $("reason").value.trim() || "from the dashboard";
  const url = "api/" + command + "/" + path.split("/").map(encodeURIComponent).join("/");
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
      body: JSON.stringify({ reason }),
    });
    const body = await res.json().catch(() => ({}));
    if (res.ok) toast(command + " " + path + ": done");
    else toast(command + " " + path + ": " + (body.error || res.status), true);
  } catch (e) {
    toast(command + " " + path + ": " + e, true);
  }
  scheduleRefresh();
}

// ---- events ----

function addEvent(ev, history) {
  const li = el("li", "k-" + ev.kind + (history ? " history" : ""));
  li.dataset.kind = ev.kind;
  li.append(el("span", "t", ev.elapsed.toFixed(3) + "s"));
  li.append(document.createTextNode(ev.text.replace(/^\[\s*[\d.]+s\]\s*/, "")));
  const list = $("events");
  list.prepend(li);
  while (list.childElementCount > MAX_EVENTS) list.lastElementChild.remove();
}

function connect() {
  source = new EventSource("api/events");
  source.onopen = () => setConn("live", "live");
  source.addEventListener("history", (m) => addEvent(JSON.parse(m.data), true));
  source.addEventListener("live", (m) => {
    addEvent(JSON.parse(m.data), false);
    scheduleRefresh();
  });
  source.addEventListener("lagged", (m) => {
    const missed = JSON.parse(m.data).missed;
    addEvent({ kind: "lagged", elapsed: 0, text: "… " + missed + " events missed" }, false);
    scheduleRefresh();
  });
  source.addEventListener("end", (m) => {
    const end = JSON.parse(m.data);
    ended = true;
    source.close();
    setConn("down", "tree ended");
    const alert = $("alert");
    alert.className = "ended";
    alert.textContent = "The tree has ended (" + end.end + (end.reason ? ": " + end.reason : "") + ").";
    alert.hidden = false;
    probes();
  });
  source.onerror = () => {
    if (ended) return;
    setConn("down", "reconnecting…");
    // A refused stream (503 before the tree is attached) is not retried
    // by the browser itself.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
  };
}

// ---- start ----

if (control) {
  $("controls").hidden = false;
  const saved = sessionStorage.getItem("supervisor-token");
  if (saved) $("token").value = saved;
  $("token").addEventListener("change", () => sessionStorage.setItem("supervisor-token", $("token").value));
}
$("controls").addEventListener("submit", (e) => e.preventDefault());
setInterval(tickUptimes, 1000);
// A slow safety net for countdowns and anything an event did not announce.
setInterval(() => { if (!ended) refresh(); }, 5000);
refresh();
connect();
