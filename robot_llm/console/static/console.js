// The robot-llm operator console page: one WebSocket (/ws) per docs/console.md.
//
// This module is also started as a dedicated Worker (same URL) whose only job is the heartbeat
// clock: browsers throttle timers in background tabs to about one a second, which would let the
// console's hold_after_ms watchdog hold the arm whenever the operator switched tabs. A worker's
// timers are not throttled that way; the page keeps its own setInterval as well, so a worker
// that cannot start changes nothing but the background-tab case.

import { Recorder, describeMicError, hasMicrophone, microphoneProblem } from "./speech.js";

/** Worker side: post "tick" every N ms after the page posts N; 0 stops. */
function runTickerWorker() {
  let timer = null;
  self.addEventListener("message", (e) => {
    clearInterval(timer);
    timer = null;
    const ms = Number(e.data);
    if (ms > 0) timer = setInterval(() => self.postMessage("tick"), ms);
  });
}

// ---------------------------------------------------------------------------------------------
// constants and page state

const TOKEN_KEY = "robot-llm-console-token"; // sessionStorage: survives a reload, not the tab
const HISTORY_KEY = "robot-llm-console-history"; // localStorage
const HISTORY_MAX = 50;
const LOG_MAX = 200;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 5000;
const OPEN_TIMEOUT_MS = 5000; // a socket without a welcome after this is retried
const SILENT_MS = 3000; // no message at all (state comes ~5/s) for this long: the link is dead
const STOP_FALLBACK_MS = 1000; // STOP also goes over HTTP when the socket was quiet this long
const PENDING_STOP_MS = 60000; // a STOP that reached nothing is sent on reconnecting within this
const FRAME_STALE_MS = 2000;
const HOLD_MODES = new Set(["estopped", "holding", "fault"]);
const TEXT_INPUT_TYPES = new Set(["text", "search", "email", "url", "tel", "password", "number"]);
const MSG_4401 = "token required or wrong: open the address the console printed";

const page = {
  token: null,
  wantRole: "drive", // what the hello asks for ("drive" or "watch")
  role: null, // what the console granted ("driver" or "watcher")
  ws: null,
  connected: false, // true from the welcome until the socket is lost
  everConnected: false,
  authFailed: false,
  retryDelay: RETRY_FIRST_MS,
  retryTimer: null,
  retryAt: 0,
  lastMessageAt: 0,
  lastPingAt: 0,
  heartbeatMs: 100,
  heartbeatTimer: null,
  ticker: null,
  state: null, // the latest state message
  cameras: ["main", "wrist"],
  frameUrls: new Map(),
  frameAt: new Map(),
  noticeTimer: null,
  logFollows: true,
  serverLines: [], // the console's log lines this page has shown, oldest first
  micProblem: "",
  pendingStop: 0, // when a STOP reached the console by neither path (sent on reconnecting)
  ptt: { recorder: null, phase: "idle", pressed: false },
  history: { items: [], pos: 0, draft: "" },
};

const el = {}; // id -> element, filled by boot()

function $(id) {
  return document.getElementById(id);
}

// ---------------------------------------------------------------------------------------------
// boot

function boot() {
  for (const id of [
    "stop", "robot", "source", "role", "take", "mode", "link", "fps", "gripper", "watchers",
    "banner", "pane-main", "pane-wrist", "cam-main", "cam-wrist", "fps-main", "fps-wrist",
    "reset", "download-video", "download-log", "objects", "objects-count", "command-form",
    "command", "send", "ptt", "ptt-status", "queued", "notice", "heard", "turn-command",
    "turn-status", "question-box", "question", "candidates", "plan", "log",
  ]) {
    el[id] = $(id);
  }
  setFavicon();
  readFragment();
  page.history.items = loadHistory();
  page.history.pos = page.history.items.length;
  wireControls();
  followLog();
  startTicker();
  setInterval(watchdog, 500);
  setupMicrophone();
  renderConnection();
  connect();
}

/** A small icon made here: the CSP allows blob: images, and the page asks for no other file
 * (without a declared icon the browser would fetch /favicon.ico and log a 404). */
function setFavicon() {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
    '<rect width="32" height="32" rx="7" fill="#1b1f26"/>' +
    '<circle cx="16" cy="16" r="10" fill="#d10f0f"/></svg>';
  const link = document.createElement("link");
  link.rel = "icon";
  link.type = "image/svg+xml";
  link.href = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
  document.head.append(link);
}

function wireControls() {
  el.stop.addEventListener("click", () => pressStop("button"));
  document.addEventListener("keydown", onKeyDown, true);
  document.addEventListener("keyup", onKeyUp, true);
  el.reset.addEventListener("click", pressReset);
  el.take.addEventListener("click", () => sendJson({ type: "take" }));
  el["command-form"].addEventListener("submit", (e) => {
    e.preventDefault();
    sendCommand(el.command.value);
  });
  el.command.addEventListener("keydown", onCommandKey);
  el["download-video"].addEventListener("click", (e) =>
    download("/api/episode/video", "mp4", e.currentTarget));
  el["download-log"].addEventListener("click", (e) =>
    download("/api/episode/log", "jsonl", e.currentTarget));
  el.ptt.addEventListener("pointerdown", onPttDown);
  el.ptt.addEventListener("pointerup", onPttUp);
  el.ptt.addEventListener("pointercancel", onPttUp);
  el.ptt.addEventListener("lostpointercapture", onPttUp);
  el.ptt.addEventListener("contextmenu", (e) => e.preventDefault());
  window.addEventListener("hashchange", onHashChange);
}

// ---------------------------------------------------------------------------------------------
// token (URL fragment -> sessionStorage; never a cookie)

function parseFragment() {
  const out = new Map();
  for (const part of location.hash.replace(/^#/, "").split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? "" : part.slice(eq + 1);
    try {
      out.set(decodeURIComponent(key), decodeURIComponent(value));
    } catch {
      out.set(key, value);
    }
  }
  return out;
}

/** Take the token (and an optional role=watch) from the fragment, then drop the token from the
 * address bar so it is not bookmarked or shown on screen; a reload finds it in sessionStorage. */
function readFragment() {
  const frag = parseFragment();
  if (frag.get("role") === "watch") page.wantRole = "watch";
  if (frag.has("token") && frag.get("token")) {
    page.token = frag.get("token");
    storeToken(page.token);
    frag.delete("token");
    const rest = [...frag].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
    const hash = rest.length ? "#" + rest.join("&") : "";
    history.replaceState(null, "", location.pathname + location.search + hash);
  } else {
    page.token = loadToken();
  }
}

function storeToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: the token lives in memory only
  }
}

function loadToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || null;
  } catch {
    return null;
  }
}

function onHashChange() {
  const before = page.token;
  readFragment();
  if (page.token !== before || page.authFailed) {
    page.authFailed = false;
    page.retryDelay = RETRY_FIRST_MS;
    dropSocket("new address");
    connect();
  }
}

function authHeaders(extra = {}) {
  return page.token ? { ...extra, Authorization: `Bearer ${page.token}` } : { ...extra };
}

// ---------------------------------------------------------------------------------------------
// the socket

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

function connect() {
  clearTimeout(page.retryTimer);
  page.retryTimer = null;
  if (page.ws) return;
  let ws;
  try {
    ws = new WebSocket(socketUrl());
  } catch (err) {
    appendLog(`cannot open the socket: ${err.message}`, "error");
    scheduleReconnect();
    return;
  }
  ws.binaryType = "arraybuffer";
  page.ws = ws;
  const openTimer = setTimeout(() => {
    if (page.ws === ws && !page.connected) dropSocket("no welcome from the console");
  }, OPEN_TIMEOUT_MS);
  ws.addEventListener("open", () => {
    if (page.ws !== ws) return;
    page.lastMessageAt = performance.now();
    ws.send(JSON.stringify({ type: "hello", token: page.token, role: page.wantRole }));
  });
  ws.addEventListener("message", (e) => {
    if (page.ws !== ws) return;
    page.lastMessageAt = performance.now();
    if (typeof e.data === "string") onText(e.data);
    else onFrame(e.data);
  });
  ws.addEventListener("close", (e) => {
    clearTimeout(openTimer);
    if (page.ws === ws) onClosed(e.code, e.reason);
  });
}

/** Forget the current socket now (a dead link may take long to report its close). */
function dropSocket(why) {
  const ws = page.ws;
  if (!ws) return;
  page.ws = null;
  try {
    ws.close(4000, why.slice(0, 100));
  } catch {
    // already closing
  }
  onClosed(0, why);
}

function onClosed(code, reason) {
  page.ws = null;
  const wasConnected = page.connected;
  page.connected = false;
  setHeartbeat(0);
  renderFacts(null);
  if (code === 4401) {
    page.authFailed = true;
    page.token = null;
    storeToken(null);
    appendLog(MSG_4401, "error");
  } else if (code === 4400) {
    appendLog(`the console refused this page's hello (4400${reason ? `: ${reason}` : ""})`, "error");
    scheduleReconnect();
  } else if (code === 4403) {
    appendLog("the console refused this page's address (4403): open the address it printed", "error");
    scheduleReconnect();
  } else {
    if (wasConnected) {
      appendLog(`connection lost${reason ? ` (${reason})` : code ? ` (code ${code})` : ""}`, "page");
    }
    scheduleReconnect();
  }
  renderConnection();
  applyControls();
}

function scheduleReconnect() {
  if (page.retryTimer || page.authFailed) return;
  const delay = page.retryDelay;
  page.retryDelay = Math.min(delay * 2, RETRY_MAX_MS);
  page.retryAt = performance.now() + delay;
  page.retryTimer = setTimeout(connect, delay);
}

function sendJson(msg) {
  const ws = page.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  try {
    ws.send(JSON.stringify(msg));
    return true;
  } catch {
    return false;
  }
}

/** Every 500 ms: a silent socket is dead; frames that stopped coming are marked stale. */
function watchdog() {
  const now = performance.now();
  if (page.ws && page.connected && now - page.lastMessageAt > SILENT_MS) {
    dropSocket("no word from the console");
  }
  for (const name of ["main", "wrist"]) {
    const pane = el[`pane-${name}`];
    const at = page.frameAt.get(name);
    pane.classList.toggle("stale", at === undefined || now - at > FRAME_STALE_MS);
  }
  if (!page.connected) renderConnection();
}

// ---------------------------------------------------------------------------------------------
// heartbeat: {"type": "ping", "t": performance.now()} every heartbeat_ms

function startTicker() {
  if (typeof Worker !== "function") return;
  try {
    const worker = new Worker(import.meta.url, { type: "module" });
    worker.addEventListener("message", beat);
    worker.addEventListener("error", (e) => {
      e.preventDefault();
      worker.terminate();
      page.ticker = null;
    });
    page.ticker = worker;
  } catch {
    page.ticker = null;
  }
}

/** Start (ms > 0) or stop (0) the heartbeat: the worker's clock and the page's own interval. */
function setHeartbeat(ms) {
  clearInterval(page.heartbeatTimer);
  page.heartbeatTimer = null;
  if (page.ticker) page.ticker.postMessage(ms);
  if (ms > 0) {
    page.heartbeatMs = ms;
    page.heartbeatTimer = setInterval(beat, ms);
    beat();
  }
}

/** Send one ping unless one went out less than 80% of a period ago (two clocks drive this). */
function beat() {
  if (!page.connected) return;
  const now = performance.now();
  if (now - page.lastPingAt < page.heartbeatMs * 0.8) return;
  if (sendJson({ type: "ping", t: now })) page.lastPingAt = now;
}

// ---------------------------------------------------------------------------------------------
// incoming messages

const HANDLERS = {
  welcome: onWelcome,
  role: onRole,
  state: onState,
  turn: onTurn,
  plan: onPlan,
  subgoal: onSubgoal,
  replanned: onReplanned,
  done: onDone,
  heard: showHeard,
  log: (m) => serverLog(String(m.text ?? "")),
  error: (m) => {
    appendLog(String(m.text ?? "error"), "error");
    setNotice(String(m.text ?? "error"), "error");
  },
};

function onText(text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    return; // not JSON: ignore
  }
  if (!msg || typeof msg !== "object") return;
  const handler = Object.prototype.hasOwnProperty.call(HANDLERS, msg.type) && HANDLERS[msg.type];
  if (!handler) return; // an unknown message type: ignore
  try {
    handler(msg);
  } catch (err) {
    appendLog(`could not show a "${msg.type}" message: ${err.message}`, "error");
  }
}

function onWelcome(m) {
  page.connected = true;
  page.state = null; // the next state message (within ~200 ms) tells the mode
  page.everConnected = true;
  page.retryDelay = RETRY_FIRST_MS;
  page.role = m.role;
  page.key = typeof m.page_key === "string" ? m.page_key : null; // names this page to the API
  el.robot.textContent = m.robot || "robot";
  el.source.textContent = m.source || "";
  el.source.title = m.source || "";
  page.cameras = Array.isArray(m.cameras) ? m.cameras.map(String) : ["main", "wrist"];
  for (const name of ["main", "wrist"]) {
    el[`pane-${name}`].hidden = !page.cameras.includes(name);
  }
  for (const line of newLines(Array.isArray(m.log) ? m.log.map(String) : [])) serverLog(line);
  appendLog(`connected as ${m.role}`, "page");
  if (el.notice.classList.contains("notice-error")) setNotice("");
  sendPendingStop();
  setHeartbeat(Number(m.heartbeat_ms) > 0 ? Number(m.heartbeat_ms) : 100);
  el.stop.title = `Stop the arm now — Escape, or Space outside text boxes (the arm also holds ` +
    `when this page goes quiet for ${Number(m.hold_after_ms) || 300} ms during a command)`;
  renderConnection();
  applyControls();
}

function onRole(m) {
  if (m.role === page.role) return;
  page.role = m.role;
  appendLog(m.role === "driver" ? "this page now drives the arm" : "this page now watches", "page");
  applyControls();
}

function onState(m) {
  page.state = m;
  renderMode();
  renderFacts(m);
  applyControls();
}

/** The header's facts and the busy/queued line; `m` null (no connection) blanks them. */
function renderFacts(m) {
  el.link.textContent = m ? String(m.link ?? "—") : "—";
  el.link.className = !m ? "" : m.link === "up" ? "good" : "bad";
  el.gripper.textContent = m && typeof m.gripper === "number"
    ? `${(m.gripper * 1000).toFixed(0)} mm` : "—";
  el.watchers.textContent = m ? String(m.watchers ?? "—") : "—";
  renderFps(m ? m.fps || {} : {});
  const busy = !m ? "" : m.busy ? "busy" : "idle";
  el.queued.textContent = m && m.queued > 0 ? `${busy} · ${m.queued} queued` : busy;
  el.queued.classList.toggle("busy", Boolean(m && m.busy));
}

function renderFps(fps) {
  const parts = [];
  for (const name of page.cameras) {
    const v = Number(fps[name]);
    const text = Number.isFinite(v) ? v.toFixed(1) : "—";
    parts.push(text);
    const out = el[`fps-${name}`];
    if (out) out.textContent = `${text} fps`;
  }
  el.fps.textContent = parts.join(" / ") || "—";
  el.fps.title = page.cameras.join(" / ");
}

// ---------------------------------------------------------------------------------------------
// header: connection, mode badge, controls

function renderConnection() {
  const banner = el.banner;
  if (page.connected) {
    banner.hidden = true;
    return;
  }
  banner.hidden = false;
  banner.classList.toggle("neutral", !page.everConnected && !page.authFailed);
  let text = "connection lost — the arm holds";
  let after = "";
  if (page.authFailed) {
    text = MSG_4401;
  } else if (!page.everConnected) {
    text = "connecting to the console…";
  } else {
    const wait = page.retryTimer ? Math.ceil((page.retryAt - performance.now()) / 1000) : 0;
    after = wait > 0 ? ` · reconnecting in ${wait} s` : " · reconnecting…";
  }
  if (banner.dataset.text !== text) {
    banner.dataset.text = text;
    const countdown = document.createElement("span");
    countdown.setAttribute("aria-hidden", "true"); // the alert is read once, not every second
    banner.replaceChildren(text, countdown);
  }
  banner.lastChild.textContent = after;
  renderMode();
}

function renderMode() {
  const m = page.state;
  if (!page.connected || !m) {
    setBadge("mode-unknown", "NO CONNECTION", m ? `last known: ${m.mode}` : "");
    el.mode.dataset.mode = "unknown";
    document.title = "NO CONNECTION · robot-llm console";
    return;
  }
  const words = { ok: "OK", holding: "HOLDING", estopped: "E-STOPPED", fault: "FAULT" };
  const known = Object.prototype.hasOwnProperty.call(words, m.mode);
  const word = known ? words[m.mode] : String(m.mode).toUpperCase();
  const reason = m.mode === "ok" ? "" : String(m.hold_reason || "");
  setBadge(known ? `mode-${m.mode}` : "mode-other", word, reason);
  el.mode.dataset.mode = String(m.mode);
  document.title = `${word} · robot-llm console`;
}

/** The mode badge: the word, big, and under it the reason (hold_reason), small. */
function setBadge(cls, word, reason) {
  const badge = el.mode;
  const key = `${cls}|${word}|${reason}`;
  if (badge.dataset.key === key) return; // unchanged: no churn for screen readers
  badge.dataset.key = key;
  badge.className = `mode ${cls}`;
  const big = document.createElement("span");
  big.className = "mode-word";
  big.textContent = word;
  const small = document.createElement("span");
  small.className = "mode-reason";
  small.textContent = reason;
  if (reason) {
    const sep = document.createElement("span"); // hidden: keeps textContent "WORD — reason"
    sep.className = "mode-sep";
    sep.textContent = " — ";
    badge.replaceChildren(big, sep, small);
  } else {
    badge.replaceChildren(big);
  }
  badge.title = reason ? `${word}: ${reason}` : word;
}

function isDriver() {
  return page.connected && page.role === "driver";
}

function applyControls() {
  const drive = isDriver();
  el.role.textContent = !page.connected ? "—" : page.role === "driver" ? "driver" : "watcher";
  el.role.className = `role role-${page.connected ? page.role : "none"}`;
  el.command.disabled = !drive;
  el.send.disabled = !drive;
  el.command.placeholder = drive
    ? "put the red block in the green bowl"
    : page.connected ? "watching: another page drives" : "not connected";
  el.ptt.disabled = !drive || Boolean(page.micProblem);
  const mode = page.state && page.state.mode;
  el.reset.disabled = !(drive && HOLD_MODES.has(mode));
  const watcher = page.connected && page.role === "watcher";
  el.take.hidden = !watcher;
  el.take.disabled = !(watcher && page.state && page.state.driver === false);
  for (const b of el.candidates.querySelectorAll("button")) b.disabled = !drive;
  el.stop.disabled = false; // STOP is never disabled
}

function setNotice(text, kind = "info", ms = 6000) {
  clearTimeout(page.noticeTimer);
  el.notice.textContent = text;
  el.notice.className = `notice notice-${kind}`;
  if (ms > 0) page.noticeTimer = setTimeout(() => (el.notice.textContent = ""), ms);
}

// ---------------------------------------------------------------------------------------------
// camera frames: "<name>\n<jpeg>"

function onFrame(data) {
  const bytes = new Uint8Array(data);
  const nl = bytes.indexOf(0x0a);
  if (nl <= 0 || nl > 64) return;
  const name = String.fromCharCode(...bytes.subarray(0, nl));
  const img = el[`cam-${name}`];
  if (!img || img.tagName !== "IMG") return; // a camera this page has no pane for
  const url = URL.createObjectURL(new Blob([bytes.subarray(nl + 1)], { type: "image/jpeg" }));
  const old = page.frameUrls.get(name);
  page.frameUrls.set(name, url);
  page.frameAt.set(name, performance.now());
  img.src = url;
  if (old) URL.revokeObjectURL(old);
  el[`pane-${name}`].classList.remove("stale");
}

// ---------------------------------------------------------------------------------------------
// the turn: plan, subgoals, question, result

const SUBGOAL_STATUSES = new Set(["pending", "running", "verified", "retried", "failed", "stopped"]);

function cssWord(word) {
  return String(word).toLowerCase().replace(/[^a-z0-9_-]/g, "-");
}

/** Show the turn's status: `label` (plus the reason), classed and data-status'd by `word`. */
function setTurnStatus(label, reason = "", word = label) {
  const t = el["turn-status"];
  t.textContent = reason ? `${label}: ${reason}` : label;
  t.dataset.status = word;
  t.className = `turn-status turn-${cssWord(word)}`;
}

function onTurn(m) {
  el["turn-command"].textContent = `“${m.command ?? ""}”`;
  el["turn-command"].title = m.command ?? "";
  setTurnStatus("planning…", "", "planning");
  el.plan.replaceChildren();
  hideQuestion();
}

function onPlan(m) {
  if (m.command !== undefined) el["turn-command"].textContent = `“${m.command}”`;
  if (m.kind === "plan") {
    hideQuestion();
    renderPlan(m.subgoals);
    const notes = Array.isArray(m.notes) ? m.notes : [];
    setTurnStatus("running", notes.join(" "), "running");
    for (const note of notes) appendLog(note, "plan");
  } else if (m.kind === "clarify") {
    el.plan.replaceChildren();
    showQuestion(m.question, m.candidates);
    setTurnStatus("question");
  } else if (m.kind === "refused") {
    hideQuestion();
    el.plan.replaceChildren();
    setTurnStatus("refused", m.reason || "");
  } else {
    appendLog(`a plan of kind "${m.kind}" (not shown)`, "page");
  }
}

function renderPlan(subgoals) {
  const items = (Array.isArray(subgoals) ? subgoals : []).map((sg, i) => subgoalItem(sg, i));
  el.plan.replaceChildren(...items);
}

function subgoalItem(sg, position) {
  const li = document.createElement("li");
  li.dataset.index = String(Number.isInteger(sg.index) ? sg.index : position);
  const text = document.createElement("span");
  text.className = "sg-text";
  text.textContent = sg.text ?? "";
  const status = document.createElement("span");
  status.className = "sg-status";
  const detail = document.createElement("span");
  detail.className = "sg-detail";
  li.append(text, status, detail);
  setSubgoalStatus(li, sg.status || "pending", sg.attempt, sg.reason);
  return li;
}

function setSubgoalStatus(li, status, attempt, reason) {
  const word = String(status);
  li.dataset.status = word;
  li.className = `status-${SUBGOAL_STATUSES.has(word) ? word : cssWord(word)}`;
  const retry = Number(attempt) > 1 ? ` · attempt ${attempt}` : "";
  li.querySelector(".sg-status").textContent = word + retry;
  li.querySelector(".sg-detail").textContent = reason || "";
  if (word === "running") li.setAttribute("aria-current", "step");
  else li.removeAttribute("aria-current");
}

function onSubgoal(m) {
  const li = el.plan.querySelector(`li[data-index="${Number(m.index)}"]`);
  if (!li) return;
  setSubgoalStatus(li, m.status, m.attempt, m.reason);
  if (m.status === "running") li.scrollIntoView({ block: "nearest" });
}

function onReplanned(m) {
  renderPlan(m.subgoals);
  appendLog(`replanned${m.reason ? `: ${m.reason}` : ""}`, "page");
  setTurnStatus("running", m.reason ? `replanned (${m.reason})` : "replanned");
}

function onDone(m) {
  // a clarifying question stays up (answerable) until the next turn starts
  setTurnStatus(String(m.status ?? "done"), m.reason || "");
  if (Array.isArray(m.objects)) renderObjects(m.objects);
}

function showQuestion(question, candidates) {
  el.question.textContent = question || "which one?";
  const buttons = (Array.isArray(candidates) ? candidates : []).map((c) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = String(c);
    b.setAttribute("aria-label", `answer: ${c}`);
    b.addEventListener("click", () => sendCommand(String(c), { remember: false }));
    return b;
  });
  el.candidates.replaceChildren(...buttons);
  el["question-box"].hidden = false;
  applyControls();
}

function hideQuestion() {
  el["question-box"].hidden = true;
  el.question.textContent = "";
  el.candidates.replaceChildren();
}

function renderObjects(objects) {
  const fmt = (p) => (Array.isArray(p) ? `(${p.map((v) => Number(v).toFixed(2)).join(", ")})` : "");
  el.objects.replaceChildren(
    ...objects.map((o) => {
      const li = document.createElement("li");
      const what = [o.color, o.kind].filter(Boolean).join(" ");
      li.textContent = `${o.id}${what ? ` — ${what}` : ""} ${fmt(o.position)}`;
      return li;
    }),
  );
  el["objects-count"].textContent = `(${objects.length})`;
}

// ---------------------------------------------------------------------------------------------
// log

/** The log follows its newest line unless the operator scrolled up to read. */
function followLog() {
  const box = el.log;
  box.addEventListener("scroll", () => {
    page.logFollows = box.scrollHeight - box.scrollTop - box.clientHeight < 24;
  });
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(() => {
      if (page.logFollows) box.scrollTop = box.scrollHeight;
    }).observe(box);
  }
}

/** A log line from the console (a log message, or the welcome's history). */
function serverLog(text) {
  page.serverLines.push(text);
  if (page.serverLines.length > LOG_MAX) page.serverLines.shift();
  appendLog(text, "log");
}

/** The lines of a welcome's history this page has not shown yet: on reconnecting, those after
 * the last few lines it saw before the connection dropped (all of them when none match). */
function newLines(history) {
  const tail = page.serverLines.slice(-3);
  if (tail.length === 0) return history;
  for (let end = history.length - 1; end >= tail.length - 1; end--) {
    const start = end - tail.length + 1;
    if (tail.every((t, j) => history[start + j] === t)) return history.slice(end + 1);
  }
  return history;
}

function appendLog(text, kind = "log") {
  const box = el.log;
  const li = document.createElement("li");
  li.className = `log-${kind}`;
  li.textContent = text;
  box.append(li);
  while (box.childElementCount > LOG_MAX) box.firstElementChild.remove();
  if (page.logFollows) box.scrollTop = box.scrollHeight;
}

// ---------------------------------------------------------------------------------------------
// commands and their history

function loadHistory() {
  try {
    const items = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]");
    return Array.isArray(items) ? items.filter((s) => typeof s === "string").slice(-HISTORY_MAX) : [];
  } catch {
    return [];
  }
}

function remember(text) {
  const h = page.history;
  if (h.items[h.items.length - 1] !== text) h.items.push(text);
  h.items = h.items.slice(-HISTORY_MAX);
  h.pos = h.items.length;
  h.draft = "";
  try {
    localStorage.setItem(HISTORY_KEY, JSON.stringify(h.items));
  } catch {
    // storage full or disabled: history lives for this page only
  }
}

function onCommandKey(e) {
  const h = page.history;
  if (e.key === "ArrowUp") {
    if (h.pos === 0 || h.items.length === 0) return;
    if (h.pos === h.items.length) h.draft = el.command.value;
    h.pos -= 1;
  } else if (e.key === "ArrowDown") {
    if (h.pos >= h.items.length) return;
    h.pos += 1;
  } else {
    return;
  }
  e.preventDefault();
  el.command.value = h.pos === h.items.length ? h.draft : h.items[h.pos];
  const end = el.command.value.length;
  el.command.setSelectionRange(end, end);
}

function sendCommand(raw, { remember: keep = true } = {}) {
  const text = String(raw).trim();
  if (!text) return;
  if (!isDriver()) {
    setNotice(page.connected ? "only the driving page can send commands" : "not connected", "error");
    return;
  }
  if (!sendJson({ type: "command", text })) {
    setNotice("not sent: the connection is down", "error");
    return;
  }
  if (keep) remember(text);
  el.command.value = "";
  setNotice(`sent: ${text}`, "info", 3000);
}

// ---------------------------------------------------------------------------------------------
// STOP and reset

function isTextEntry(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable || target.tagName === "TEXTAREA") return true;
  return target.tagName === "INPUT" && TEXT_INPUT_TYPES.has(target.type);
}

function isSpace(e) {
  return e.key === " " || e.code === "Space";
}

function onKeyDown(e) {
  if (e.key === "Escape") {
    e.preventDefault();
    if (!e.repeat) pressStop("Escape");
  } else if (isSpace(e) && !isTextEntry(e.target)) {
    e.preventDefault(); // no scrolling, and no activating a focused button
    if (!e.repeat) pressStop("Space");
  }
}

function onKeyUp(e) {
  if (isSpace(e) && !isTextEntry(e.target)) e.preventDefault();
}

/** STOP: on the socket, and over HTTP when the socket is not open or has gone quiet. */
function pressStop(how) {
  const quiet = performance.now() - page.lastMessageAt > STOP_FALLBACK_MS;
  const sent = sendJson({ type: "stop" });
  if (!sent || quiet || !page.connected) postStop(sent);
  el.stop.classList.remove("pressed");
  void el.stop.offsetWidth; // restart the flash animation
  el.stop.classList.add("pressed");
  appendLog(`STOP (${how})${sent ? "" : " — sent over HTTP"}`, "page");
  setNotice("STOP sent", "stop", 4000);
}

/** STOP over HTTP. When neither path got through, the STOP is kept and sent again the moment
 * the socket is back (within PENDING_STOP_MS): the operator's last word was STOP. */
async function postStop(sentOnSocket) {
  try {
    const res = await fetch("/api/stop", { method: "POST", headers: authHeaders(), keepalive: true });
    if (!res.ok) throw new Error(await errorText(res));
    page.pendingStop = 0;
  } catch (err) {
    if (!sentOnSocket) page.pendingStop = performance.now();
    const why = `STOP could not reach the console: ${err.message}` +
      (sentOnSocket ? "" : " — it is sent again when the connection is back");
    appendLog(why, "error");
    setNotice(why, "error", 0);
  }
}

function sendPendingStop() {
  const at = page.pendingStop;
  page.pendingStop = 0;
  if (!at || performance.now() - at > PENDING_STOP_MS) return;
  if (sendJson({ type: "stop" })) {
    appendLog("STOP (pressed while the connection was down) sent now", "page");
    setNotice("STOP sent", "stop", 4000);
  }
}

function pressReset() {
  if (!isDriver()) return;
  if (!confirm("Clear the e-stop? The arm may move on the next command.")) return;
  if (!sendJson({ type: "reset" })) setNotice("not sent: the connection is down", "error");
}

// ---------------------------------------------------------------------------------------------
// push-to-talk

async function setupMicrophone() {
  page.micProblem = microphoneProblem();
  if (!page.micProblem && !(await hasMicrophone())) page.micProblem = "no microphone found";
  setPtt("idle");
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener && !microphoneProblem()) {
    navigator.mediaDevices.addEventListener("devicechange", async () => {
      page.micProblem = (await hasMicrophone()) ? "" : "no microphone found";
      setPtt(page.ptt.phase);
    });
  }
}

function setPtt(phase, status) {
  page.ptt.phase = phase;
  const b = el.ptt;
  b.classList.toggle("recording", phase === "recording");
  b.classList.toggle("busy", phase === "starting" || phase === "sending");
  b.setAttribute("aria-pressed", phase === "recording" ? "true" : "false");
  const labels = {
    idle: "hold to talk", starting: "starting…", recording: "● recording", sending: "sending…",
  };
  b.textContent = labels[phase] || labels.idle;
  b.title = page.micProblem || "hold to talk; release to send";
  const line = status ?? (page.micProblem ? `push-to-talk off: ${page.micProblem}` : "");
  el["ptt-status"].textContent = line;
  applyControls();
}

function onPttDown(e) {
  if (e.button !== 0 || el.ptt.disabled || page.ptt.phase !== "idle") return;
  e.preventDefault();
  try {
    el.ptt.setPointerCapture(e.pointerId);
  } catch {
    // not capturable: pointerup on the button still ends it
  }
  const recorder = new Recorder();
  recorder.onlimit = () => finishRecording();
  page.ptt.recorder = recorder;
  page.ptt.pressed = true;
  setPtt("starting", "starting the microphone…");
  recorder.start().then(
    (ok) => {
      if (!ok || page.ptt.recorder !== recorder) return;
      if (page.ptt.pressed) setPtt("recording", "speak now; release to send");
      else finishRecording();
    },
    (err) => {
      page.ptt.recorder = null;
      setPtt("idle", describeMicError(err));
    },
  );
}

function onPttUp() {
  if (!page.ptt.pressed) return;
  page.ptt.pressed = false;
  if (page.ptt.phase === "recording") finishRecording();
  // still starting: the start() callback finishes (or was cancelled) once the mic is open
}

async function finishRecording() {
  const recorder = page.ptt.recorder;
  if (!recorder || page.ptt.phase === "sending") return;
  page.ptt.recorder = null;
  page.ptt.pressed = false;
  setPtt("sending", "…");
  try {
    const { wav, seconds } = await recorder.stop();
    if (seconds < 0.4) {
      setPtt("idle", "too short: hold the button while you speak");
      return;
    }
    await postSpeech(wav);
    setPtt("idle");
  } catch (err) {
    setPtt("idle", `push-to-talk failed: ${err.message}`);
  }
}

async function postSpeech(wav) {
  const res = await fetch("/api/speech?run=1", {
    method: "POST",
    headers: authHeaders({
      "Content-Type": "audio/wav",
      ...(page.key ? { "X-Console-Page": page.key } : {}),
    }),
    body: wav,
  });
  if (!res.ok) throw new Error(await errorText(res));
  showHeard(await res.json());
}

function showHeard(m) {
  const box = el.heard;
  box.hidden = false;
  box.replaceChildren();
  const main = document.createElement("span");
  const extra = document.createElement("span");
  extra.className = "alternatives";
  if (m.understood === false) {
    main.textContent = "didn't understand — say it again";
    extra.textContent = [m.transcript ? `heard: “${m.transcript}”` : "", m.message || ""]
      .filter(Boolean).join(" · ");
  } else {
    main.textContent = `heard: ${m.transcript ?? ""}`;
    if (m.command && m.command !== m.transcript) extra.textContent = `→ ${m.command}`;
  }
  box.append(main);
  if (extra.textContent) box.append(extra);
  const alts = (Array.isArray(m.alternatives) ? m.alternatives : []).filter((a) => a && a !== m.transcript);
  if (alts.length) {
    const small = document.createElement("span");
    small.className = "alternatives";
    small.textContent = `or: ${alts.join(" · ")}`;
    small.title = alts.join("\n");
    box.append(small);
  }
  box.className = `heard ${m.understood === false ? "heard-bad" : "heard-ok"}`;
}

// ---------------------------------------------------------------------------------------------
// downloads (the token goes in a header, so no plain links)

async function errorText(res) {
  if (res.status === 401) return MSG_4401;
  let detail = "";
  try {
    const body = await res.text();
    try {
      const j = JSON.parse(body);
      const said = j.error ?? j.detail ?? j;
      detail = typeof said === "string" ? said : JSON.stringify(said);
    } catch {
      detail = body;
    }
  } catch {
    // no body
  }
  return `${res.status} ${res.statusText}${detail ? `: ${detail.slice(0, 200)}` : ""}`;
}

function filenameFrom(res) {
  const cd = res.headers.get("Content-Disposition") || "";
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  return m ? decodeURIComponent(m[1]) : "";
}

function stamp() {
  const d = new Date();
  const two = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}-` +
    `${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;
}

async function download(path, ext, button) {
  button.disabled = true;
  try {
    const res = await fetch(path, { headers: authHeaders() });
    if (!res.ok) throw new Error(await errorText(res));
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = filenameFrom(res) || `episode-${stamp()}.${ext}`;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30000);
  } catch (err) {
    setNotice(`download failed: ${err.message}`, "error");
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// start (last, so every binding above is initialized): the page, or the heartbeat worker

if (typeof document === "undefined") {
  runTickerWorker();
} else if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", boot);
} else {
  boot();
}
