// faxagent console: plain JavaScript, no build step. Live state comes from
// Server-Sent Events (/console/api/events); the page never polls. Every
// value from the server is set as text, never as HTML.
"use strict";

const state = { csrf: "", admin: false, view: "dashboard", folder: "inbox", search: "", selected: 0, events: null };

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else if (k === "onclick") e.addEventListener("click", v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  return e;
}

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (method !== "GET") opts.headers["X-CSRF-Token"] = state.csrf;
  if (body instanceof FormData || body instanceof Blob) opts.body = body;
  else if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  const resp = await fetch(path, opts);
  if (resp.status === 401) { showLogin(); throw new Error("not logged in"); }
  const text = await resp.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { error: text }; }
  if (!resp.ok) throw new Error(data.error || resp.statusText);
  return data;
}

function flash(msg) { $("#flash").textContent = msg; }

// ---- login ----
function showLogin() {
  if (state.events) { state.events.close(); state.events = null; }
  $("#app-view").hidden = true;
  $("#login-view").hidden = false;
  $("#login-user").focus();
}

async function login(ev) {
  ev.preventDefault();
  $("#login-error").textContent = "";
  try {
    const resp = await fetch("/console/login", { method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin",
      body: JSON.stringify({ username: $("#login-user").value, password: $("#login-pass").value }) });
    const data = await resp.json();
    if (!resp.ok) throw new Error(data.error || resp.statusText);
    $("#login-pass").value = "";
    start(data);
  } catch (e) { $("#login-error").textContent = e.message; }
}

async function logout() {
  try { await api("POST", "/console/logout"); } catch (e) { /* gone already */ }
  state.csrf = "";
  showLogin();
}

function start(sess) {
  state.csrf = sess.csrf;
  state.admin = sess.admin;
  $("#who").textContent = sess.user;
  document.querySelectorAll(".admin-only").forEach((e) => { e.hidden = !sess.admin; });
  $("#login-view").hidden = true;
  $("#app-view").hidden = false;
  show(state.view);
  connect();
}

// ---- live events ----
function connect() {
  if (state.events) state.events.close();
  const es = new EventSource("/console/api/events");
  state.events = es;
  es.addEventListener("open", () => $("#live").classList.add("on"));
  es.addEventListener("error", () => $("#live").classList.remove("on"));
  es.addEventListener("ports", (ev) => renderPorts(JSON.parse(ev.data)));
  es.addEventListener("messages", () => { if (state.view === "messages") loadMessages(); });
  es.addEventListener("logout", () => showLogin());
}

// ---- views ----
function show(view) {
  state.view = view;
  document.querySelectorAll(".view").forEach((v) => { v.hidden = v.id !== view; });
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.dataset.view === view));
  if (view === "dashboard") loadAgents();
  if (view === "messages") loadMessages();
  if (view === "admin") loadAdmin();
  if (view === "send") loadNotify();
}

function pct(x) { return (100 * (x || 0)).toFixed(1) + " %"; }

function renderPorts(ports) {
  const tb = $("#ports tbody");
  tb.replaceChildren();
  let util = 0;
  for (const p of ports) {
    util += p.utilisation || 0;
    let call = "";
    if (p.call) {
      if (p.call.direction === "inbound") call = "receiving, " + p.call.page + (p.call.page === 1 ? " page" : " pages") + " in";
      else call = "sending page " + Math.min(p.call.page + 1, p.call.pages || 1) + " of " + (p.call.pages || "?");
      if (p.call.rate) call += ", " + p.call.rate + " bit/s" + (p.call.modem ? " " + p.call.modem : "") + (p.call.ecm ? ", ECM" : ", no ECM");
    }
    const box = (field) => {
      const b = el("input", { type: "checkbox", checked: !!p[field], disabled: !state.admin, "data-field": field });
      b.addEventListener("change", () => setPort(p, { [field]: b.checked }));
      return b;
    };
    const toggle = state.admin ? el("button", { class: "port-toggle", onclick: () => setPort(p, { disabled: !p.disabled }) }, p.disabled ? "Enable" : "Disable") : "";
    tb.append(el("tr", { "data-port": p.id, "data-state": p.state },
      el("td", {}, p.id + " (#" + p.no + ")"), el("td", {}, p.driver), el("td", {}, (p.groups || []).join(", ")),
      el("td", {}, p.number), el("td", {}, el("span", { class: "state state-" + p.state }, p.state)), el("td", { class: "call" }, call),
      el("td", {}, box("send")), el("td", {}, box("receive")), el("td", {}, p.calls), el("td", {}, pct(p.utilisation)), el("td", {}, toggle)));
  }
  $("#util").textContent = ports.length ? ports.length + " ports, utilisation " + pct(util / ports.length) : "no ports";
}

async function setPort(p, change) {
  const body = { send: p.send, receive: p.receive, disabled: !!p.disabled, ...change };
  try { await api("POST", "/console/api/ports/" + encodeURIComponent(p.id), body); flash("Port " + p.id + " updated"); } catch (e) { flash(e.message); }
}

async function loadAgents() {
  try {
    const data = await api("GET", "/api/v1/ports");
    if (!state.events) renderPorts(data.ports || []);
    const tb = $("#agents tbody");
    tb.replaceChildren();
    for (const a of data.agents || []) {
      tb.append(el("tr", {}, el("td", {}, a.id), el("td", {}, a.host), el("td", {}, a.ports), el("td", {}, a.licensed), el("td", {}, a.busy),
        el("td", {}, new Date(a.heartbeat).toLocaleString())));
    }
  } catch (e) { flash(e.message); }
}

// ---- messages ----
async function loadMessages() {
  const q = new URLSearchParams({ folder: state.folder, limit: "100" });
  if (state.search) q.set("q", state.search);
  document.querySelectorAll(".folder").forEach((b) => b.classList.toggle("active", b.dataset.folder === state.folder));
  try {
    const data = await api("GET", "/api/v1/messages?" + q);
    const tb = $("#message-list tbody");
    tb.replaceChildren();
    for (const m of data.messages) {
      const tr = el("tr", { class: "clickable" + (m.id === state.selected ? " selected" : ""), "data-message": m.id, "data-status": m.status },
        el("td", {}, m.id), el("td", {}, m.direction), el("td", { class: "msg-status" }, m.status), el("td", {}, m.subject || ""),
        el("td", {}, m.direction === "outbound" ? m.jobs_complete + "/" + m.jobs_total : ""), el("td", {}, new Date(m.created).toLocaleString()));
      tr.addEventListener("click", () => openMessage(m.id));
      tb.append(tr);
    }
    if (state.selected) openMessage(state.selected, true);
  } catch (e) { flash(e.message); }
}

async function openMessage(id, refresh) {
  let m;
  try { m = await api("GET", "/api/v1/messages/" + id); } catch (e) { flash(e.message); return; }
  const changed = state.selected !== id || $("#detail-status").textContent !== m.status;
  state.selected = id;
  document.querySelectorAll("#message-list tr").forEach((tr) => tr.classList.toggle("selected", tr.dataset.message === String(id)));
  $("#message-detail").hidden = false;
  $("#detail-id").textContent = "#" + m.id;
  $("#detail-status").textContent = m.status;
  $("#detail-status").dataset.status = m.status;
  $("#download-pdf").href = "/api/v1/messages/" + m.id + "/document?format=pdf";
  $("#download-tiff").href = "/api/v1/messages/" + m.id + "/document?format=tiff";
  $("#cancel-message").hidden = m.direction !== "outbound";
  $("#retry-message").hidden = m.direction !== "outbound";
  $("#trash-message").hidden = m.folder === "trash";
  $("#restore-message").hidden = m.folder !== "trash";
  const tb = $("#attempts tbody");
  tb.replaceChildren();
  const row = (who, a) => el("tr", {}, el("td", {}, who), el("td", {}, a.attempt_no + "/" + a.max_attempt_no), el("td", {}, a.outcome + " " + a.transmit_status_def),
    el("td", {}, a.page_sent + "/" + a.page_count), el("td", {}, a.transmit_speed || ""), el("td", {}, a.fax_protocol), el("td", {}, a.remote_csid),
    el("td", {}, a.error_text || ""));
  for (const j of m.jobs || []) {
    if (!j.attempts.length) tb.append(el("tr", {}, el("td", {}, j.fax), el("td", {}, "0/" + j.max_attempts), el("td", {}, j.state),
      el("td", {}, j.progress && j.progress.in_call ? j.progress.pages_sent + "/" + j.progress.pages_total : ""), el("td", {}), el("td", {}), el("td", {}), el("td", {})));
    for (const a of j.attempts) tb.append(row(j.fax, a));
  }
  for (const a of m.received || []) tb.append(row(a.calling_number || a.caller_id || "", a));
  loadDeliveries(m.id);
  if (refresh && !changed) return;
  const pages = $("#pages");
  pages.replaceChildren();
  let n = 0;
  for (const d of m.documents || []) n += d.pages || 0;
  for (let i = 1; i <= n; i++) {
    pages.append(el("figure", {}, el("img", { src: "/console/api/messages/" + m.id + "/pages/" + i + "?v=" + encodeURIComponent(m.status), alt: "page " + i, "data-page": i }),
      el("figcaption", {}, "Page " + i + " of " + n)));
  }
}

async function loadDeliveries(id) {
  const tb = $("#deliveries tbody");
  try {
    const data = await api("GET", "/api/v1/messages/" + id + "/deliveries");
    tb.replaceChildren();
    for (const d of data.deliveries) {
      tb.append(el("tr", { "data-delivery": d.id, "data-state": d.state }, el("td", {}, d.event), el("td", {}, d.channel), el("td", {}, d.target),
        el("td", {}, d.state + (d.next_try ? ", next try " + new Date(d.next_try).toLocaleTimeString() : "")), el("td", {}, d.attempts),
        el("td", {}, (d.last_status ? "HTTP " + d.last_status + " " : "") + (d.last_error || "")), el("td", {}, new Date(d.updated).toLocaleString())));
    }
    if (!data.deliveries.length) tb.append(el("tr", {}, el("td", { colSpan: 7 }, "none")));
  } catch (e) { flash(e.message); }
}

async function loadNotify() {
  try {
    const n = await api("GET", "/console/api/me/notifications");
    $("#notify-url").value = n.webhook_url || "";
    $("#notify-email").checked = !!n.email_results;
    $("#notify-address").textContent = n.email ? "(" + n.email + ")" : "(no e-mail address on your account)";
  } catch (e) { flash(e.message); }
}

async function messageAction(action) {
  if (!state.selected) return;
  try {
    const r = await api("POST", "/api/v1/messages/" + state.selected + "/" + action);
    flash(action === "cancel" ? "Cancelled " + r.cancelled + ", hanging up " + r.flagged : "Queued again: " + r.requeued);
    openMessage(state.selected);
  } catch (e) { flash(e.message); }
}

// ---- send ----
async function send(ev) {
  ev.preventDefault();
  $("#send-error").textContent = "";
  const fd = new FormData();
  fd.append("to", $("#send-to").value);
  if ($("#send-subject").value) fd.append("subject", $("#send-subject").value);
  if ($("#send-note").value) fd.append("note", $("#send-note").value);
  if ($("#send-cover").checked) fd.append("cover", "default");
  for (const f of $("#send-file").files) fd.append("file", f, f.name);
  try {
    const m = await api("POST", "/api/v1/messages", fd);
    $("#send-form").reset();
    flash("Message " + m.id + " queued");
    state.folder = "outbox";
    state.selected = m.id;
    show("messages");
  } catch (e) { $("#send-error").textContent = e.message; }
}

// ---- admin ----
async function loadAdmin() {
  try {
    const [u, r, l] = await Promise.all([api("GET", "/console/api/users"), api("GET", "/console/api/routes"), api("GET", "/console/api/license")]);
    const ut = $("#users tbody");
    ut.replaceChildren();
    for (const x of u.users) {
      ut.append(el("tr", { "data-user": x.username }, el("td", {}, x.username), el("td", {}, x.full_name || ""), el("td", {}, x.email || ""), el("td", {}, x.role),
        el("td", {}, x.active ? "yes" : "no"),
        el("td", {}, el("button", { onclick: () => adminPost("/console/api/users/" + x.id, { active: !x.active }) }, x.active ? "Deactivate" : "Activate"))));
    }
    const rt = $("#routes tbody");
    rt.replaceChildren();
    for (const x of r.routes) {
      let cond = x.field1 + " = " + x.value1;
      if (x.field2 && x.field2 !== "None") cond += (x.and ? " and " : " or ") + x.field2 + " = " + x.value2;
      rt.append(el("tr", {}, el("td", {}, x.id), el("td", {}, x.priority), el("td", {}, cond), el("td", {}, x.user), el("td", {}, x.active ? "yes" : "no"),
        el("td", {}, el("button", { onclick: () => adminPost("/console/api/routes/" + x.id, { active: !x.active }) }, x.active ? "Deactivate" : "Activate"),
          " ", el("button", { onclick: () => adminDelete("/console/api/routes/" + x.id) }, "Delete"))));
    }
    $("#license").textContent = JSON.stringify({ current: l.current, installed: l.installed }, null, 2);
  } catch (e) { flash(e.message); }
}

async function adminPost(path, body) {
  try { await api("POST", path, body); flash("Saved"); loadAdmin(); } catch (e) { flash(e.message); }
}

async function adminDelete(path) {
  try { await api("DELETE", path); flash("Deleted"); loadAdmin(); } catch (e) { flash(e.message); }
}

function formObject(form) {
  const o = {};
  for (const [k, v] of new FormData(form)) o[k] = v;
  return o;
}

document.addEventListener("DOMContentLoaded", async () => {
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  $("#send-form").addEventListener("submit", send);
  document.querySelectorAll(".tab").forEach((t) => t.addEventListener("click", () => show(t.dataset.view)));
  document.querySelectorAll(".folder").forEach((b) => b.addEventListener("click", () => { state.folder = b.dataset.folder; state.selected = 0; $("#message-detail").hidden = true; loadMessages(); }));
  let timer = 0;
  $("#search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { state.search = $("#search").value.trim(); loadMessages(); }, 250); });
  $("#notify-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", "/console/api/me/notifications", { webhook_url: $("#notify-url").value.trim(), email_results: $("#notify-email").checked });
      flash("Notification settings saved");
    } catch (e) { flash(e.message); }
  });
  $("#cancel-message").addEventListener("click", () => messageAction("cancel"));
  for (const [id, action] of [["#trash-message", "trash"], ["#restore-message", "restore"]]) {
    $(id).addEventListener("click", async () => {
      try {
        const r = await api("POST", "/console/api/messages/" + state.selected + "/" + action);
        flash("Moved to " + r.folder);
        loadMessages();
      } catch (e) { flash(e.message); }
    });
  }
  $("#retry-message").addEventListener("click", () => messageAction("retry"));
  $("#user-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const o = formObject(ev.target);
    adminPost("/console/api/users", { username: o.username, password: o.password, full_name: o.full_name || "", email: o.email || "", admin: o.admin === "on" });
    ev.target.reset();
  });
  $("#route-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const o = formObject(ev.target);
    adminPost("/console/api/routes", { user: o.user, field1: o.field1, value1: o.value1, priority: parseInt(o.priority || "0", 10) });
    ev.target.reset();
  });
  $("#license-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target.querySelector("input[type=file]").files[0];
    if (!f) return;
    try { await api("POST", "/console/api/license", f); flash("Licence installed; it takes effect at the next start"); loadAdmin(); } catch (e) { flash(e.message); }
  });
  try { start(await api("GET", "/console/api/session")); } catch (e) { showLogin(); }
});
