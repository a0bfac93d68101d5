// recode_magic call-tree widget: header, Tree / Graph / Code tabs, details pane.
// Plain ESM, no build step. The state arrives once (the "snapshot" trait) and then as
// patches (custom messages with sequence numbers, see recode_magic/notebook/widget.py); a view
// that sees a gap asks for a snapshot. The status icons come from Python ("statuses").

const KEYWORDS = new Set(("False None True and as assert async await break class continue " +
  "def del elif else except finally for from global if import in is lambda nonlocal not or " +
  "pass raise return try while with yield match case").split(" "));
const TOKEN = /(#[^\n]*)|([rbfuRBFU]{0,2}(?:"""[\s\S]*?"""|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))|\b(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\b|\b([A-Za-z_]\w*)\b(?=(\s*\()?)/g;

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function highlight(code, placeholders, primitives) {
  let out = "", last = 0;
  code = String(code ?? "");
  for (const m of code.matchAll(TOKEN)) {
    out += esc(code.slice(last, m.index));
    last = m.index + m[0].length;
    let cls = null;
    if (m[1]) cls = "rc-tk-comment";
    else if (m[2]) cls = "rc-tk-string";
    else if (m[3]) cls = "rc-tk-number";
    else if (m[4]) {
      if (KEYWORDS.has(m[4])) cls = "rc-tk-keyword";
      else if (m[5] && placeholders.has(m[4])) cls = "rc-tk-placeholder";
      else if (m[5] && primitives.has(m[4])) cls = "rc-tk-primitive";
      else if (m[5]) cls = "rc-tk-call";
    }
    out += cls ? `<span class="${cls}">${esc(m[0])}</span>` : esc(m[0]);
  }
  return out + esc(code.slice(last));
}

function fmtSeconds(s) {
  if (s == null || !isFinite(s)) return "";
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function fmtTokens(usage) {
  const u = usage || {};
  const inp = (u.input_tokens || 0) + (u.cache_read_input_tokens || 0) +
    (u.cache_creation_input_tokens || 0);
  const outp = u.output_tokens || 0;
  return inp || outp ? `${inp.toLocaleString()} in / ${outp.toLocaleString()} out` : "";
}

function section(title, body, cls = "") {
  return body ? `<div class="rc-sec ${cls}"><div class="rc-sec-title">${esc(title)}</div>${body}</div>` : "";
}

// -- the state of one model, shared by its views ---------------------------------------
const STORES = new WeakMap();

// Apply one node/run delta: "k": value, "+k": appended text, "@k": [i, items], "-": [keys].
function apply(obj, d) {
  const out = { ...obj };
  for (const [k, v] of Object.entries(d || {})) {
    if (k === "-") for (const gone of v) delete out[gone];
    else if (k[0] === "+") out[k.slice(1)] = String(out[k.slice(1)] ?? "") + v;
    else if (k[0] === "@") out[k.slice(1)] = [...(out[k.slice(1)] || []).slice(0, v[0]), ...v[1]];
    else out[k] = v;
  }
  return out;
}

function storeOf(model) {
  let s = STORES.get(model);
  if (s) return s;
  // at: when run.elapsed arrived (this page's clock): the header counts on from it
  s = { seq: -1, run: {}, byId: new Map(), listeners: new Set(), asked: 0, patches: 0, gaps: 0,
    at: performance.now() };
  const emit = (info) => { for (const f of s.listeners) f(info); };
  const load = (snap) => {
    if (typeof snap === "string") snap = snap ? JSON.parse(snap) : null;  // the trait is text
    if (!snap || snap.seq == null || snap.seq < s.seq) return false;
    s.seq = snap.seq;
    s.run = snap.run || {};
    s.byId = new Map((snap.nodes || []).map((n) => [n.id, n]));
    s.asked = 0;
    s.at = performance.now();
    return true;
  };
  const onMsg = (msg) => {
    if (!msg || typeof msg !== "object") return;
    if (msg.kind === "snapshot") { if (load(msg)) emit({}); return; }
    if (msg.kind === "action_result") { emit({ result: msg }); return; }
    if (msg.kind !== "patch" || msg.seq <= s.seq) return;
    if (msg.reset) { s.byId = new Map(); s.run = {}; s.asked = 0; }
    else if (msg.seq !== s.seq + 1) {   // missed patches: ask for the whole state (once a second)
      s.gaps++;
      if (Date.now() - s.asked > 1000) { s.asked = Date.now(); model.send({ type: "snapshot" }); }
      return;
    }
    s.seq = msg.seq;
    s.patches++;
    s.run = apply(s.run, msg.run);
    s.at = performance.now();  // every patch is the state as of now: run.elapsed too
    for (const [id, d] of Object.entries(msg.nodes || {})) s.byId.set(id, apply(s.byId.get(id), d));
    for (const id of msg.drop || []) s.byId.delete(id);
    emit({});
  };
  load(model.get("snapshot"));
  model.on("msg:custom", onMsg);
  // Patches sent while this code was loading are lost: say where we are; the kernel answers
  // with a snapshot if it is further on (once it is free: a keyframe covers a busy kernel).
  model.send({ type: "snapshot", seq: s.seq });
  model.on("change:snapshot", () => { if (load(model.get("snapshot"))) emit({}); });
  STORES.set(model, s);
  return s;
}

const stateOf = (n) => String(n?.state || n?.status || "pending");

// States the kernel marks beyond the engine's statuses (--confirm): icon and what it means.
const MARKED = {
  waiting: ["?", "waiting for you: the --confirm box below asks whether this code may run"],
  rejected: ["✘", "rejected: you did not let this code run (the run stopped; %recode resume asks again)"],
  interrupted: ["■", "interrupted: the run stopped here before this code ran to its end"],
};
const STATE_TIPS = {
  pending: "pending: not started", running: "running", expanded: "expanded: its code is running",
  done: "done", error: "error", skipped: "skipped", stub: "stub: not written (limit)",
};
const stateTip = (st) => (MARKED[st] || [])[1] || STATE_TIPS[st] || st;

// Line diff (LCS) of two texts: [{op: " " | "-" | "+", line}].
function diffLines(a, b) {
  const x = String(a ?? "").split("\n"), y = String(b ?? "").split("\n");
  const m = x.length, n = y.length;
  const L = Array.from({ length: m + 1 }, () => new Uint16Array(n + 1));
  for (let i = m - 1; i >= 0; i--) for (let j = n - 1; j >= 0; j--) {
    L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  }
  const out = [];
  let i = 0, j = 0;
  while (i < m && j < n) {
    if (x[i] === y[j]) { out.push({ op: " ", line: x[i] }); i++; j++; }
    else if (L[i + 1][j] >= L[i][j + 1]) out.push({ op: "-", line: x[i++] });
    else out.push({ op: "+", line: y[j++] });
  }
  while (i < m) out.push({ op: "-", line: x[i++] });
  while (j < n) out.push({ op: "+", line: y[j++] });
  return out;
}

// The tree pane draws only the rows near its scroll view once a tree has more than
// WINDOW_FROM rows; every row is ROW_H pixels high (tree.css reads --rc-row-h), so a row's
// place is its index times ROW_H and scrolling needs no layout of the rows off screen.
const ROW_H = 18, OVERSCAN = 30, WINDOW_FROM = 300, VIEW_PX = 480;

const RERUN_NOTE = "Re-running this step calls its primitives again: their side effects " +
  "(moves, writes, requests) happen a second time.";

function initialize({ model }) {
  storeOf(model);
}

function render({ model, el }) {
  el.classList.add("recode-widget");
  el.innerHTML = `
    <div class="rc-head">
      <span class="rc-run-status"></span>
      <span class="rc-task"></span>
      <span class="rc-meta"></span>
    </div>
    <div class="rc-progress"><div class="rc-progress-bar"></div></div>
    <div class="rc-tabs" role="tablist">
      <button role="tab" data-tab="tree" aria-selected="true">Tree</button>
      <button role="tab" data-tab="graph" aria-selected="false">Graph</button>
      <button role="tab" data-tab="code" aria-selected="false">Code</button>
    </div>
    <div class="rc-pane rc-pane-tree" role="tabpanel">
      <div class="rc-tree" role="tree" tabindex="0" aria-label="ReCode call tree"></div>
      <div class="rc-details" aria-live="polite"></div>
    </div>
    <div class="rc-legend" aria-hidden="true">ƒ n primitive calls · dn depth · ⎇ alternatives · ? waiting for you</div>
    <div class="rc-pane rc-pane-graph" role="tabpanel" hidden><div class="rc-graph"></div></div>
    <div class="rc-pane rc-pane-code" role="tabpanel" hidden>
      <div class="rc-code-bar">
        <button data-style="functions" aria-pressed="true">functions</button>
        <button data-style="inline" aria-pressed="false">inline</button>
        <button class="rc-copy" aria-live="polite">copy</button>
      </div>
      <pre class="rc-export"></pre>
    </div>`;
  const $ = (sel) => el.querySelector(sel);
  const treeEl = $(".rc-tree"), detailsEl = $(".rc-details");
  const toggled = new Map();      // node id -> expanded (user choice overrides the default)
  const store = storeOf(model);
  let byId = store.byId, rows = [], focusKey = null, tab = "tree", graphFor = null;
  let drawn = [0, 0];             // rows[drawn[0]:drawn[1]] are in the DOM
  let paneH = 300;                // the tree pane's height (px), see drawRows
  // row ids (for aria-activedescendant) unique in the page: every widget may load its own
  // copy of this module, so no module-level counter
  const uid = `rc-${Math.random().toString(36).slice(2, 10)}`;
  el.style.setProperty("--rc-row-h", `${ROW_H}px`);
  let lastDetails = null;  // null: nothing drawn yet (the hint must be drawn once)
  // The details pane's forms: which one is open, what was typed, the last action's outcome.
  let form = { node: null, kind: null, hint: "", code: "" }, actionMsg = null;
  let compare = { node: null, picked: [], shown: false };
  const table = () => model.get("statuses") || {};
  const icon = (st) => (table().icons || {})[st] || (MARKED[st] || [])[0] || "?";
  const runIcon = (st) => (table().run_icons || {})[st] || "?";
  const tree = () => ({ run: store.run });
  const applyColors = () => {
    for (const [st, c] of Object.entries(table().colors || {})) el.style.setProperty(`--rc-c-${st}`, c);
  };
  applyColors();

  function index() {
    byId = store.byId;
  }

  // Display children: steps in order (code steps are leaves), then children not in steps yet.
  function kids(n) {
    const out = [], seen = new Set();
    (n.steps || []).forEach((s, i) => {
      if (s.kind === "placeholder" && byId.has(s.child)) {
        out.push({ node: byId.get(s.child) }); seen.add(s.child);
      } else if (s.kind !== "placeholder") {
        out.push({ step: s, owner: n, i });
      }
    });
    for (const c of n.children || []) if (!seen.has(c) && byId.has(c)) out.push({ node: byId.get(c) });
    return out;
  }

  function activePath() {
    const path = new Set();
    for (const n of byId.values()) {
      if (stateOf(n) === "running" || stateOf(n) === "error") {
        let p = n.parent;
        while (p != null && !path.has(p)) { path.add(p); p = byId.get(p)?.parent; }
      }
    }
    return path;
  }

  function isOpen(n, path) {
    if (toggled.has(n.id)) return toggled.get(n.id);
    return n.depth < model.get("expand_depth") || path.has(n.id);
  }

  function drawHeader() {
    const run = tree().run || {};
    const c = run.counts || {};
    const status = run.status || "pending";
    const st = $(".rc-run-status");
    // a --confirm box holds the run: say who it waits for (and stop the clock's ticking)
    const waiting = status === "running" && [...byId.values()].some((x) => stateOf(x) === "waiting");
    st.className = `rc-run-status rc-s-${waiting ? "waiting" : status}`;
    st.textContent = waiting ? `${icon("waiting")} waiting for you` : `${runIcon(status)} ${status}`;
    const task = String(run.task || "").split("\n")[0];
    $(".rc-task").textContent = task;
    $(".rc-task").title = run.task || "";
    const n = run.n || 0, finished = (c.done || 0) + (c.error || 0) + (c.skipped || 0) + (c.stub || 0);
    // the kernel's busy time (no idle time, no wait for a --confirm decision), counted on
    // since it arrived; while a box waits for you the clock stands still
    let elapsed = run.elapsed;
    if (status === "running" && elapsed != null && !waiting) elapsed += (performance.now() - store.at) / 1000;
    const live = status === "running" || status === "pending";
    const progress = live ? [`${c.expanded || 0} expanded`, `${(c.pending || 0) + (c.running || 0)} pending`]
      : [`${c.done || 0} done`];
    const parts = [`${n} node${n === 1 ? "" : "s"}`, ...progress,
      `${run.llm_calls || 0} model calls`, fmtSeconds(elapsed)];
    const tok = fmtTokens(run.usage);
    if (tok) parts.push(tok);
    if (c.error) parts.push(`${c.error} error${c.error === 1 ? "" : "s"}`);
    $(".rc-meta").textContent = parts.filter(Boolean).join(" · ");
    const bar = $(".rc-progress-bar");
    bar.style.width = n ? `${Math.round((100 * finished) / n)}%` : "0%";
    bar.className = `rc-progress-bar rc-bg-${status}`;
    el.dataset.status = status;
    el.dataset.seq = String(store.seq);  // for tests and the curious: patches applied so far
    el.dataset.gaps = String(store.gaps);
  }

  // All rows of the open tree, in display order: plain objects, no DOM (cheap for 10,000).
  function buildRows() {
    const path = activePath();
    const root = byId.get((tree().run || {}).root) || [...byId.values()][0];
    rows = [];
    if (!root) return;
    const stack = [{ node: root, level: 1, pos: 1, size: 1 }];
    while (stack.length) {
      const item = stack.pop();
      const { level, pos, size } = item;
      if (item.node) {
        const n = item.node, ks = kids(n), open = ks.length > 0 && isOpen(n, path);
        rows.push({ key: n.id, id: n.id, node: n, open, hasKids: ks.length > 0, level, pos, size });
        if (open) {
          for (let i = ks.length - 1; i >= 0; i--) {
            stack.push({ ...ks[i], level: level + 1, pos: i + 1, size: ks.length });
          }
        }
      } else {
        rows.push({ key: `s:${item.owner.id}:${item.i}`, id: item.owner.id, step: item.step,
          level, pos, size });
      }
    }
  }

  function rowHtml(r, i, selected) {
    const common = `role="treeitem" id="${uid}-${i}" aria-level="${r.level}" aria-setsize="${r.size}" ` +
      `aria-posinset="${r.pos}" data-i="${i}" data-key="${esc(r.key)}" data-id="${esc(r.id)}" ` +
      `style="--rc-level:${r.level - 1}"`;
    // the indent guides sit in their own box left of the text (not behind it: a gradient
    // behind text hides its contrast from checkers such as axe-core)
    const guides = r.level > 1 ? `<span class="rc-guides" aria-hidden="true"></span>` : "";
    if (r.step) {
      const s = r.step;
      return `<div class="rc-row rc-step${s.error ? " rc-step-error" : ""}${r.key === focusKey ? " rc-focus" : ""}" ` +
        `${common} title="${esc(s.code)}">${guides}<span class="rc-caret"></span>` +
        `<span class="rc-icon rc-prim">${s.error ? "✘" : "ƒ"}</span>` +
        `<span class="rc-call">${esc(String(s.code).split("\n")[0])}</span>` +
        (s.stdout ? `<span class="rc-badge" title="out: this step printed output">out</span>` : "") + `</div>`;
    }
    const n = r.node;
    const prims = (n.steps || []).reduce((a, s) => a + (s.primitives || []).length, 0);
    const dur = n.started && n.ended ? fmtSeconds(n.ended - n.started) : "";
    const st = esc(stateOf(n)), sel = n.id === selected;
    const focus = r.key === focusKey || (focusKey == null && sel);
    return `<div class="rc-row rc-node${focus ? " rc-focus" : ""}${sel ? " rc-selected" : ""}" ` +
      `${common}${r.hasKids ? ` aria-expanded="${r.open}"` : ""} aria-selected="${sel}">${guides}` +
      `<span class="rc-caret">${r.hasKids ? (r.open ? "▾" : "▸") : ""}</span>` +
      `<span class="rc-icon rc-s-${st}" title="${esc(stateTip(stateOf(n)))}">${icon(stateOf(n))}</span>` +
      `<span class="rc-name">${esc(n.name)}</span><span class="rc-call">${esc(n.call)}</span>` +
      `<span class="rc-badges">` +
      (n.alternatives?.length ? `<span class="rc-badge" title="${n.alternatives.length} alternatives (select the node to switch or compare)">⎇ ${n.alternatives.length}</span>` : "") +
      (n.error ? `<span class="rc-badge rc-badge-error">${esc(String(n.error).trim().split("\n").pop().slice(0, 60))}</span>` : "") +
      (prims ? `<span class="rc-badge" title="ƒ ${prims}: ${prims} primitive call${prims === 1 ? "" : "s"} in its steps">ƒ ${prims}</span>` : "") +
      (dur ? `<span class="rc-badge" title="time it ran">${esc(dur)}</span>` : "") +
      `<span class="rc-badge rc-depth" title="d${n.depth}: depth ${n.depth} (the task is depth 0)">d${n.depth}</span></span></div>`;
  }

  // Rows [a, b) that should be in the DOM: all of a small tree, else the scroll view and
  // OVERSCAN rows either side (a 5,000-node tree is 10,000 rows: the DOM holds ~90).
  function windowRange() {
    const total = rows.length;
    if (total <= WINDOW_FROM) return [0, total];
    const top = treeEl.scrollTop, view = treeEl.clientHeight || VIEW_PX;
    return [Math.max(0, Math.floor(top / ROW_H) - OVERSCAN),
      Math.min(total, Math.ceil((top + view) / ROW_H) + OVERSCAN)];
  }

  function drawRows() {
    if (!rows.length) {
      treeEl.innerHTML = `<div class="rc-empty">waiting for the run…</div>`;
      drawn = [0, 0];
      treeEl.dataset.rows = "0";
      treeEl.removeAttribute("aria-activedescendant");
      return;
    }
    // the pane's height: 300 px, 480 px once the tree has more rows than that shows; it
    // never shrinks, so selecting a node or folding a branch does not move the page
    if (rows.length > 15 && paneH < 480) { paneH = 480; el.style.setProperty("--rc-pane-h", "480px"); }
    const [a, b] = drawn = windowRange();
    const selected = model.get("selected");
    const html = [a ? `<div class="rc-pad" aria-hidden="true" style="height:${a * ROW_H}px"></div>` : ""];
    for (let i = a; i < b; i++) html.push(rowHtml(rows[i], i, selected));
    if (b < rows.length) html.push(`<div class="rc-pad" aria-hidden="true" style="height:${(rows.length - b) * ROW_H}px"></div>`);
    treeEl.innerHTML = html.join("");
    treeEl.dataset.rows = String(rows.length);
    const f = focusIndex();
    if (f >= a && f < b) treeEl.setAttribute("aria-activedescendant", `${uid}-${f}`);
    else treeEl.removeAttribute("aria-activedescendant");
  }

  function drawTree() {
    buildRows();
    drawRows();
  }

  function focusIndex() {
    const key = focusKey ?? model.get("selected");
    return rows.findIndex((r) => r.key === key);
  }

  // Scroll the tree pane so that row i shows (rows have a fixed height: no layout needed).
  function reveal(i) {
    if (i < 0) return;
    const top = i * ROW_H, view = treeEl.clientHeight || VIEW_PX;
    if (top < treeEl.scrollTop) treeEl.scrollTop = top;
    else if (top + ROW_H > treeEl.scrollTop + view) treeEl.scrollTop = top + ROW_H - view;
  }

  let scrollQueued = false;
  const onScroll = () => {
    if (scrollQueued || rows.length <= WINDOW_FROM) return;
    scrollQueued = true;
    requestAnimationFrame(() => {
      scrollQueued = false;
      const [a, b] = windowRange();
      // redraw when the view nears an edge of the drawn rows (half the overscan left)
      const margin = OVERSCAN >> 1;
      if (Math.abs(a - drawn[0]) > margin || Math.abs(b - drawn[1]) > margin) drawRows();
    });
  };

  function actionsHtml(n) {
    const live = ["running", "pending"].includes(store.run.status);
    const st = stateOf(n);
    const dis = live ? ` disabled title="wait for the run to end"` : "";
    // Promote writes a finished expansion as a def: only a node that ended done has one
    const pdis = dis || (st !== "done" ? ` disabled title="only a node that ended done can be promoted (this one is ${esc(st)})"` : "");
    const open = form.node === n.id ? form.kind : null;
    const warn = `<p class="rc-warn" role="note">⚠ ${esc(RERUN_NOTE)}</p>`;
    let body = "";
    if (open === "regenerate") {
      body = `<div class="rc-form" data-form="regenerate" data-lm-suppress-shortcuts="true">
        <label>Hint for the model (one line, optional)
          <input class="rc-hint" type="text" value="${esc(form.hint)}" placeholder="e.g. check the drawer first"></label>
        ${warn}
        <button class="rc-go" data-go="regenerate"${dis}>Regenerate and run again</button>
        <button class="rc-cancel">Cancel</button></div>`;
    } else if (open === "edit") {
      body = `<div class="rc-form" data-form="edit" data-lm-suppress-shortcuts="true">
        <label>Code of ${esc(n.name)}
          <textarea class="rc-edit" rows="${Math.min(14, String(form.code).split("\n").length + 1)}" spellcheck="false">${esc(form.code)}</textarea></label>
        ${warn}
        <button class="rc-go" data-go="edit"${dis}>Run</button>
        <button class="rc-cancel">Cancel</button></div>`;
    }
    const msg = actionMsg && actionMsg.node === n.id
      ? `<div class="rc-action-msg ${actionMsg.ok === false ? "rc-err" : ""}" role="status">${esc(actionMsg.text)}</div>` : "";
    return `<div class="rc-actions" role="toolbar" aria-label="Steer this node">
        <button class="rc-act" data-act="regenerate" aria-expanded="${open === "regenerate"}"${dis}>Regenerate…</button>
        <button class="rc-act" data-act="edit" aria-expanded="${open === "edit"}"${dis}>Edit code…</button>
        <button class="rc-promote"${pdis || ` title="write this expansion as a def (shown in the Code tab)"`}>Promote to function</button>
      </div>${body}${msg}`;
  }

  function alternativesHtml(n) {
    const alts = n.alternatives || [];
    if (!alts.length) return "";
    if (compare.node !== n.id) compare = { node: n.id, picked: [], shown: false };
    const rowsHtml = alts.map((a) => {
      const cur = a.id === n.current;
      return `<tr data-alt="${esc(a.id)}" class="${cur ? "rc-alt-current" : ""}">
        <td><input type="checkbox" class="rc-cmp" data-alt="${esc(a.id)}" aria-label="compare ${esc(a.label)}"
          ${compare.picked.includes(a.id) ? "checked" : ""}></td>
        <td><code>${esc(a.label)}</code>${cur ? ` <span class="rc-badge">current</span>` : ""}</td>
        <td><span class="rc-s-${esc(a.status)}">${icon(a.status)} ${esc(a.status)}</span></td>
        <td>${a.llm_calls ?? 0}</td><td>${(a.tokens ?? 0).toLocaleString()}</td>
        <td><button class="rc-switch" data-alt="${esc(a.id)}" ${cur ? "disabled" : ""}
          aria-label="switch to ${esc(a.label)}">${cur ? "shown" : "Switch"}</button></td></tr>`;
    }).join("");
    const two = compare.picked.length === 2;
    return section("Alternatives", `<table class="rc-alts"><thead><tr><th><abbr title="cmp: tick two alternatives to compare them">cmp</abbr></th><th>alternative</th>
        <th>status</th><th>calls</th><th>tokens</th><th></th></tr></thead><tbody>${rowsHtml}</tbody></table>
      <button class="rc-compare" ${two ? "" : "disabled"}>Compare the two ticked</button>
      ${two && compare.shown ? compareHtml(alts) : ""}`, "rc-sec-alts");
  }

  function compareHtml(alts) {
    const [a, b] = compare.picked.map((id) => alts.find((x) => x.id === id));
    if (!a || !b) return "";
    // line-aligned: a line only one side has faces an empty filler row on the other side
    const left = [], right = [];
    const line = (cls, text) => `<div class="rc-dl ${cls}">${esc(text) || " "}</div>`;
    const fill = `<div class="rc-dl rc-fill" aria-hidden="true"> </div>`;
    const ops = diffLines(a.code, b.code);
    for (let i = 0; i < ops.length;) {
      if (ops[i].op === " ") { left.push(line("", ops[i].line)); right.push(line("", ops[i].line)); i++; continue; }
      const dels = [], adds = [];
      while (i < ops.length && ops[i].op !== " ") (ops[i].op === "-" ? dels : adds).push(ops[i++].line);
      for (let k = 0; k < Math.max(dels.length, adds.length); k++) {
        left.push(k < dels.length ? line("rc-del", dels[k]) : fill);
        right.push(k < adds.length ? line("rc-add", adds[k]) : fill);
      }
    }
    const head = (x) => `<div class="rc-cmp-head"><code>${esc(x.label)}</code>
      <span class="rc-s-${esc(x.status)}">${icon(x.status)} ${esc(x.status)}</span>
      · ${x.llm_calls ?? 0} call${x.llm_calls === 1 ? "" : "s"} · ${(x.tokens ?? 0).toLocaleString()} tokens</div>`;
    return `<div class="rc-compare-view" role="region" aria-label="comparison">
      <div class="rc-cmp-col">${head(a)}<pre class="rc-diff">${left.join("")}</pre></div>
      <div class="rc-cmp-col">${head(b)}<pre class="rc-diff">${right.join("")}</pre></div></div>`;
  }

  // "1 re-ask · 2 re-plans": unused replies by kind (rewrite, repair, replan)
  const ATTEMPT_WORDS = {rewrite: ["re-ask", "re-asks"], repair: ["repair", "repairs"],
    replan: ["re-plan", "re-plans"], retry: ["re-ask", "re-asks"]};
  function attemptsText(attempts) {
    if (!Array.isArray(attempts)) return attempts ? `${attempts} unused repl${attempts === 1 ? "y" : "ies"}` : "";
    const counts = new Map();
    for (const a of attempts) counts.set(a.kind || "retry", (counts.get(a.kind || "retry") || 0) + 1);
    return [...counts].map(([k, c]) => `${c} ${(ATTEMPT_WORDS[k] || [k, k + "s"])[c === 1 ? 0 : 1]}`).join(" · ");
  }

  function drawDetails(force = false) {
    const id = model.get("selected");
    const n = byId.get(id);
    const sig = n ? JSON.stringify([n, store.run.status, form, actionMsg, compare]) : "";
    if (sig === lastDetails && !force) return;
    lastDetails = sig;
    if (!n) {
      detailsEl.innerHTML = `<div class="rc-empty">Click a node to see its thought, code and output.</div>`;
      return;
    }
    const placeholders = new Set((n.children || []).map((c) => byId.get(c)?.name).filter(Boolean));
    const primitives = new Set((n.steps || []).flatMap((s) => s.primitives || []));
    const st = stateOf(n), marked = MARKED[st];
    const meta = [`depth ${n.depth}`, n.llm_calls ? `${n.llm_calls} model call${n.llm_calls === 1 ? "" : "s"}` : "",
      attemptsText(n.attempts), fmtTokens(n.usage),
      n.started && n.ended ? fmtSeconds(n.ended - n.started) : ""].filter(Boolean).join(" · ");
    const steps = (n.steps || []).map((s) => `<li class="rc-step-item ${s.error ? "rc-step-error" : ""}">
        <span class="rc-icon ${s.kind === "placeholder" ? "" : "rc-prim"}">${s.kind === "placeholder" ? "↳" : (s.error ? "✘" : "ƒ")}</span>
        <code>${highlight(s.code, placeholders, primitives)}</code>
        ${s.stdout ? `<pre class="rc-out">${esc(s.stdout)}</pre>` : ""}
        ${s.error ? `<pre class="rc-err">${esc(s.error)}</pre>` : ""}</li>`).join("");
    const active = document.activeElement && detailsEl.contains(document.activeElement)
      ? document.activeElement.className : null;
    detailsEl.innerHTML = `
      <div class="rc-d-title"><span class="rc-icon rc-s-${esc(st)}" aria-hidden="true">${icon(st)}</span>
        <b>${esc(n.name)}</b> <span class="rc-pill rc-bg-${esc(st)}" title="${esc(stateTip(st))}">${esc(st === "waiting" ? "waiting for you" : st)}</span>
        ${n.alternatives?.length ? `<span class="rc-badge" title="alternatives">⎇ ${n.alternatives.length}</span>` : ""}</div>
      <div class="rc-d-call"><code>${esc(n.call)}</code></div>
      <div class="rc-d-meta">${esc(meta)}</div>
      ${marked ? `<div class="rc-note" role="note">${esc(marked[1])}</div>` : ""}
      ${n.note ? `<pre class="rc-err rc-cause">${esc(n.note)}</pre>` : ""}
      ${actionsHtml(n)}
      ${section("Thought", n.thought ? `<div class="rc-thought">${esc(n.thought)}</div>` : "")}
      ${section(st === "waiting" ? "Code (waiting for your decision)"
        : n.unrun ? "Code (shown to you, not run)" : "Code", n.code ? `<pre class="rc-code">${highlight(n.code, placeholders, primitives)}</pre>` : "")}
      ${alternativesHtml(n)}
      ${section("Model is writing…", n.partial ? `<pre class="rc-partial">${esc(n.partial)}</pre>` : "")}
      ${section("Steps that ran", steps ? `<ol class="rc-steps">${steps}</ol>` : "")}
      ${section("Output", n.stdout ? `<pre class="rc-out">${esc(n.stdout)}</pre>` : "")}
      ${section("Error", n.error ? `<pre class="rc-err">${esc(n.error)}</pre>` : "", "rc-sec-error")}`;
    if (active) {  // a redraw must not steal the keyboard focus from the pane's controls
      const again = detailsEl.getElementsByClassName(active.split(" ")[0])[0];
      again?.focus();
    }
  }

  function sendAction(msg) {
    actionMsg = { node: msg.node, ok: null, text: `${msg.action}: sent to the kernel…` };
    model.send(msg);
    drawDetails();
  }

  const onDetailsClick = (e) => {
    const n = byId.get(model.get("selected"));
    const b = e.target.closest("button, input[type=checkbox]");
    if (!n || !b || b.disabled) return;
    if (b.dataset.act) {
      const kind = form.node === n.id && form.kind === b.dataset.act ? null : b.dataset.act;
      form = { node: n.id, kind, hint: "", code: n.code || "" };
      drawDetails();
      detailsEl.querySelector(kind === "edit" ? ".rc-edit" : ".rc-hint")?.focus();
    } else if (b.classList.contains("rc-cancel")) {
      form = { node: null, kind: null, hint: "", code: "" };
      drawDetails();
      detailsEl.querySelector(".rc-act")?.focus();
    } else if (b.dataset.go === "regenerate") {
      sendAction({ action: "regenerate", node: n.id, hint: form.hint });
    } else if (b.dataset.go === "edit") {
      sendAction({ action: "edit", node: n.id, code: form.code });
    } else if (b.classList.contains("rc-promote")) {
      sendAction({ action: "promote", node: n.id });
    } else if (b.classList.contains("rc-switch")) {
      sendAction({ action: "switch", node: n.id, alternative: b.dataset.alt });
    } else if (b.classList.contains("rc-cmp")) {
      const id = b.dataset.alt;
      const picked = compare.picked.filter((x) => x !== id);
      if (b.checked) picked.push(id);
      compare = { node: n.id, picked: picked.slice(-2), shown: false };
      drawDetails();
    } else if (b.classList.contains("rc-compare")) {
      compare.shown = true;
      sendAction({ action: "compare", node: n.id, alternatives: [...compare.picked] });
    }
  };
  const onDetailsInput = (e) => {
    if (e.target.classList.contains("rc-hint")) form.hint = e.target.value;
    if (e.target.classList.contains("rc-edit")) form.code = e.target.value;
  };
  const onDetailsKey = (e) => {
    const t = e.target;
    if (e.key === "Escape" && form.kind) { detailsEl.querySelector(".rc-cancel")?.click(); e.preventDefault(); }
    else if (e.key === "Enter" && t.classList.contains("rc-hint")) { detailsEl.querySelector('[data-go="regenerate"]')?.click(); e.preventDefault(); }
    else if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && t.classList.contains("rc-edit")) { detailsEl.querySelector('[data-go="edit"]')?.click(); e.preventDefault(); }
    else if (e.key === "Enter" && t.classList.contains("rc-edit")) {
      // JupyterLab cancels line breaks typed inside an output area: insert it ourselves
      t.setRangeText("\n", t.selectionStart, t.selectionEnd, "end");
      form.code = t.value;
      e.preventDefault();
    }
  };
  const onStore = (info) => {
    if (info.result) {
      const r = info.result;
      const more = r.action === "promote" ? " The function is in the Code tab." : "";
      if (r.ok && r.action === "promote") {  // the Code tab now shows the promoted def
        for (const x of el.querySelectorAll("[data-style]")) x.setAttribute("aria-pressed", "false");
      }
      actionMsg = { node: r.node, ok: r.ok, text: r.ok ? `${r.action}: done by the kernel.${more}` : `${r.action} failed: ${r.error}` };
      if (r.ok && (r.action === "regenerate" || r.action === "edit")) form = { node: null, kind: null, hint: "", code: "" };
      drawDetails();
      return;
    }
    drawAll();
  };

  function drawGraph() {
    const box = $(".rc-graph");
    const err = model.get("graph_error"), svg = model.get("graph_svg");
    const run = tree().run || {};
    const want = `${run.n}:${run.status}:${run.llm_calls}`;
    if (err) box.innerHTML = `<div class="rc-err">${esc(err)}</div>`;
    else if (svg && graphFor === want) box.innerHTML = svg;
    else {
      box.innerHTML = svg || `<div class="rc-empty">Rendering the graph with graphviz…</div>`;
      if (graphFor !== want && !["running", "pending"].includes(run.status)) {
        graphFor = want;
        model.send({ type: "graph" });
      } else if (["running", "pending"].includes(run.status)) {
        box.insertAdjacentHTML("afterbegin", `<div class="rc-empty">The graph is drawn when the run ends.</div>`);
      }
    }
  }

  function drawCode() {
    const code = model.get("code");
    $(".rc-export").innerHTML = code ? highlight(code, new Set(), new Set())
      : `<span class="rc-empty">The program is exported when the run ends.</span>`;
  }

  function drawAll() {
    index();
    drawHeader();
    drawTree();
    drawDetails();
    if (tab === "graph") drawGraph();
  }

  function select(row) {
    if (!row) return;
    focusKey = row.key;
    if (model.get("selected") !== row.id) {
      model.set("selected", row.id);
      model.save_changes();
    }
    reveal(focusIndex());
    drawRows(); drawDetails();
    treeEl.querySelector(".rc-focus")?.scrollIntoView({ block: "nearest" });
  }

  function toggle(row, open) {
    if (!row || !row.hasKids) return;
    toggled.set(row.id, open ?? !row.open);
    drawTree();
  }

  // One listener on the tree for every row (rows come and go as the pane scrolls).
  const rowOf = (rowEl) => {
    const r = rowEl && rows[Number(rowEl.dataset.i)];
    return r && r.key === rowEl.dataset.key ? r : rows.find((x) => x.key === rowEl?.dataset.key);
  };
  const onClick = (e) => {
    const rowEl = e.target.closest(".rc-row");
    if (!rowEl) return;
    const row = rowOf(rowEl);
    if (e.target.closest(".rc-caret")) toggle(row);
    else select(row);
  };
  const onDblClick = (e) => {
    const rowEl = e.target.closest(".rc-row");
    if (rowEl) toggle(rowOf(rowEl));
  };
  const onKey = (e) => {
    const i = focusIndex(), row = rows[i];
    const page = Math.max(1, Math.floor((treeEl.clientHeight || VIEW_PX) / ROW_H) - 1);
    switch (e.key) {
      case "ArrowDown": select(rows[Math.min(rows.length - 1, i + 1)]); break;
      case "ArrowUp": select(rows[Math.max(0, i - 1)]); break;
      case "Home": select(rows[0]); break;
      case "End": select(rows[rows.length - 1]); break;
      case "PageDown": select(rows[Math.min(rows.length - 1, i + page)]); break;
      case "PageUp": select(rows[Math.max(0, i - page)]); break;
      case "ArrowRight":
        if (row?.hasKids && !row.open) toggle(row, true); else select(rows[i + 1]);
        break;
      case "ArrowLeft":
        if (row?.hasKids && row.open) toggle(row, false);
        else if (row) {
          const parent = row.step ? row.id : byId.get(row.id)?.parent;
          select(rows.find((r) => r.key === parent));
        }
        break;
      case "Enter": case " ": toggle(row); break;
      default: return;
    }
    e.preventDefault();
  };
  const onTab = (e) => {
    const b = e.target.closest("[data-tab]");
    if (!b) return;
    tab = b.dataset.tab;
    for (const t of el.querySelectorAll("[data-tab]")) t.setAttribute("aria-selected", String(t === b));
    for (const name of ["tree", "graph", "code"]) $(`.rc-pane-${name}`).hidden = name !== tab;
    if (tab === "graph") drawGraph();
    if (tab === "code") {
      drawCode();
      if (!model.get("code") && !["running", "pending"].includes((tree().run || {}).status)) {
        model.send({ type: "export", style: "functions" });
      }
    }
  };
  const onCodeBar = (e) => {
    const b = e.target.closest("button");
    if (!b) return;
    if (b.classList.contains("rc-copy")) {
      const said = (text) => { b.textContent = text; setTimeout(() => { b.textContent = "copy"; }, 1500); };
      const copied = navigator.clipboard?.writeText(model.get("code") || "");
      if (copied) copied.then(() => said("copied ✓"), () => said("copy failed"));
      else said("copy unavailable");
      return;
    }
    for (const x of el.querySelectorAll("[data-style]")) x.setAttribute("aria-pressed", String(x === b));
    model.send({ type: "export", style: b.dataset.style });
  };
  const onGraphClick = (e) => {
    const g = e.target.closest("g.node");
    const m = g && /^recode_node_(.+)$/.exec(g.id);
    if (!m) return;
    $('[data-tab="tree"]').click();
    model.set("selected", m[1]); model.save_changes();
    focusKey = m[1];
    reveal(focusIndex());
    drawRows(); drawDetails();
  };

  treeEl.addEventListener("click", onClick);
  detailsEl.addEventListener("click", onDetailsClick);
  detailsEl.addEventListener("input", onDetailsInput);
  detailsEl.addEventListener("keydown", onDetailsKey);
  store.listeners.add(onStore);
  treeEl.addEventListener("dblclick", onDblClick);
  treeEl.addEventListener("keydown", onKey);
  treeEl.addEventListener("scroll", onScroll, { passive: true });
  $(".rc-tabs").addEventListener("click", onTab);
  $(".rc-code-bar").addEventListener("click", onCodeBar);
  $(".rc-graph").addEventListener("click", onGraphClick);
  const onSelected = () => { drawRows(); drawDetails(); };
  const onGraph = () => { if (tab === "graph") drawGraph(); };
  const onCode = () => drawCode();
  const onStatuses = () => { applyColors(); drawAll(); };
  const handlers = [["change:statuses", onStatuses], ["change:selected", onSelected],
    ["change:expand_depth", drawTree], ["change:graph_svg", onGraph],
    ["change:graph_error", onGraph], ["change:code", onCode]];
  for (const [event, handler] of handlers) model.on(event, handler);
  const ticker = setInterval(() => {
    if ((tree().run || {}).status === "running") drawHeader();
  }, 500);
  drawAll();
  drawCode();

  return () => {
    clearInterval(ticker);
    store.listeners.delete(onStore);
    for (const [event, handler] of handlers) model.off(event, handler);
  };
}

export default { initialize, render };
