/*
 * The Casework chat widget. Embed on any page:
 *
 *   <script src="https://casework.example.com/static/chat/widget.js" async></script>
 *
 * Optional attributes: data-identity="<signed token of a known customer>",
 * data-language="de|en" (default: the page's <html lang>), data-open="1" (open at once).
 *
 * It talks to Casework over a WebSocket and falls back to HTTP polling when WebSockets are
 * blocked. Every message the visitor sends carries its own id and every message from the
 * server a number (seq): after a reconnect the widget asks for everything after the last
 * number it has and sends again what was not acknowledged, so nothing is lost or doubled.
 * Text is always inserted as text, never as HTML.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__caseworkChat) return;
  window.__caseworkChat = true;

  var base = new URL(script.src, location.href);
  var origin = base.origin;
  var lang = (script.dataset.language || document.documentElement.lang || "de").slice(0, 2).toLowerCase();
  if (lang !== "de" && lang !== "en") lang = "de";
  var identity = script.dataset.identity || "";
  var storeKey = "casework-chat:" + origin;

  var TEXT = {
    de: {
      open: "Chat öffnen", close: "Chat schließen", title: "Chat mit uns",
      input: "Ihre Nachricht", send: "Senden", typing: "schreibt …",
      offline: "Verbindung unterbrochen – wir verbinden neu …", fallback: "Verbindung über HTTP",
      leave: "Chat beenden", you: "Sie", source: "Artikel lesen", offer: "Angebot ansehen und annehmen",
      portal: "Zum Kundenportal", sending: "wird gesendet …", ended: "Der Chat ist beendet.",
      restart: "Neuen Chat beginnen", attach: "Datei anhängen", file: "Datei"
    },
    en: {
      open: "Open chat", close: "Close chat", title: "Chat with us",
      input: "Your message", send: "Send", typing: "is typing …",
      offline: "Connection lost – reconnecting …", fallback: "Connected over HTTP",
      leave: "End chat", you: "You", source: "Read the article", offer: "See and accept the offer",
      portal: "Go to the customer portal", sending: "sending …", ended: "The chat has ended.",
      restart: "Start a new chat", attach: "Attach a file", file: "File"
    }
  }[lang];

  var saved = {};
  try { saved = JSON.parse(localStorage.getItem(storeKey) || "{}"); } catch (e) { saved = {}; }
  var state = {
    token: saved.token || "",
    lastSeq: 0,            // replayed on every connect: the log is rebuilt from the server
    pending: [],           // [{id, text}] sent but not acknowledged
    socket: null,
    mode: "ws",            // or "http"
    failures: 0,
    pollTimer: null,
    chatState: ""
  };

  function remember() {
    try { localStorage.setItem(storeKey, JSON.stringify({ token: state.token })); } catch (e) { /* private mode */ }
  }

  // --- The interface (in a shadow root, so the page's styles do not leak in) ---
  var host = document.createElement("div");
  host.setAttribute("data-casework-chat", "");
  document.body.appendChild(host);
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var style = document.createElement("style");
  style.textContent = [
    ":host{all:initial}",
    ".cw{font:15px/1.4 system-ui,sans-serif;color:#1b1f24;position:fixed;right:16px;bottom:16px;z-index:2147483000}",
    ".cw button{font:inherit;cursor:pointer}",
    ".launcher{background:#0b57d0;color:#fff;border:0;border-radius:24px;padding:12px 18px;box-shadow:0 2px 8px rgba(0,0,0,.25)}",
    ".launcher:focus-visible,.cw button:focus-visible,.cw input:focus-visible{outline:3px solid #f9ab00;outline-offset:2px}",
    ".panel{display:none;flex-direction:column;width:min(360px,calc(100vw - 32px));height:min(520px,calc(100vh - 96px));background:#fff;border:1px solid #c4c7c5;border-radius:12px;box-shadow:0 4px 16px rgba(0,0,0,.2);overflow:hidden}",
    ".panel.open{display:flex}",
    ".head{display:flex;justify-content:space-between;align-items:center;background:#0b57d0;color:#fff;padding:8px 12px}",
    ".head h2{font-size:16px;margin:0}",
    ".head button{background:transparent;color:#fff;border:0;font-size:20px}",
    ".log{flex:1;overflow-y:auto;padding:8px 12px;margin:0;list-style:none}",
    ".msg{margin:6px 0;max-width:85%;padding:6px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word}",
    ".msg.customer{margin-left:auto;background:#d3e3fd}",
    ".msg.bot,.msg.agent{background:#f1f3f4}",
    ".msg.system{background:transparent;color:#444;font-style:italic;max-width:100%;text-align:center}",
    ".msg .who{display:block;font-size:12px;color:#444}",
    ".msg a{color:#0b57d0}",
    ".choices{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}",
    ".choices button{background:#fff;border:1px solid #0b57d0;color:#0b57d0;border-radius:14px;padding:4px 10px}",
    ".status{font-size:12px;color:#444;padding:0 12px;min-height:16px}",
    "form{display:flex;gap:6px;padding:8px;border-top:1px solid #e0e0e0}",
    "form input{flex:1;padding:8px;border:1px solid #747775;border-radius:8px;font:inherit}",
    "form button{background:#0b57d0;color:#fff;border:0;border-radius:8px;padding:8px 12px}",
    "form button.attach{background:#fff;color:#0b57d0;border:1px solid #0b57d0;padding:8px}",
    ".pending{opacity:.6}"
  ].join("\n");
  root.appendChild(style);

  var wrap = el("div", { "class": "cw", lang: lang });
  var launcher = el("button", { "class": "launcher", type: "button", "aria-expanded": "false", "aria-controls": "cw-panel" }, TEXT.open);
  var panel = el("div", { "class": "panel", id: "cw-panel", role: "dialog", "aria-label": TEXT.title });
  var head = el("div", { "class": "head" });
  head.appendChild(el("h2", {}, TEXT.title));
  var leave = el("button", { type: "button", title: TEXT.leave, "aria-label": TEXT.leave }, "⏻");
  var close = el("button", { type: "button", title: TEXT.close, "aria-label": TEXT.close }, "×");
  var buttons = el("div", {});
  buttons.appendChild(leave);
  buttons.appendChild(close);
  head.appendChild(buttons);
  var log = el("ol", { "class": "log", role: "log", "aria-live": "polite", "aria-label": TEXT.title });
  var status = el("div", { "class": "status", "aria-live": "polite" });
  var form = el("form", {});
  var input = el("input", { type: "text", maxlength: "4000", autocomplete: "off", "aria-label": TEXT.input, placeholder: TEXT.input });
  var send = el("button", { type: "submit" }, TEXT.send);
  var attach = el("button", { type: "button", "class": "attach", title: TEXT.attach, "aria-label": TEXT.attach }, "📎");
  var picker = el("input", { type: "file", accept: ".pdf,.jpg,.jpeg,.png,.txt", hidden: "" });
  form.appendChild(attach);
  form.appendChild(picker);
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(head);
  panel.appendChild(log);
  panel.appendChild(status);
  panel.appendChild(form);
  wrap.appendChild(panel);
  wrap.appendChild(launcher);
  root.appendChild(wrap);

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function safeHref(url) {
    // Only our own pages: links come from the server, but never trust a scheme.
    try {
      var target = new URL(url, origin);
      return target.origin === origin ? target.href : null;
    } catch (e) { return null; }
  }

  function openPanel() {
    panel.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    launcher.hidden = true;
    input.focus();
    if (!state.socket && state.mode === "ws" && !state.started) connect();
  }
  function closePanel() {
    panel.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.hidden = false;
    launcher.focus();
  }
  launcher.addEventListener("click", openPanel);
  close.addEventListener("click", closePanel);
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") closePanel(); });

  function render(message) {
    if (message.seq <= state.lastSeq) return;
    state.lastSeq = message.seq;
    if (message.id) {
      var local = log.querySelector('[data-id="' + CSS.escape(message.id) + '"]');
      if (local) local.remove();
      state.pending = state.pending.filter(function (p) { return p.id !== message.id; });
    }
    var item = el("li", { "class": "msg " + message.sender, "data-seq": String(message.seq) });
    if (message.sender !== "customer" && message.sender !== "system") {
      item.appendChild(el("span", { "class": "who" }, message.name || ""));
    }
    item.appendChild(document.createTextNode(message.text));
    (message.sources || []).forEach(function (source) {
      var href = source.url && safeHref(source.url);
      if (!href) return;
      var p = el("div", {});
      p.appendChild(document.createTextNode(TEXT.source + ": "));
      var a = el("a", { href: href, target: "_blank", rel: "noopener" }, source.title);
      p.appendChild(a);
      item.appendChild(p);
      return;
    });
    var offerHref = message.offer && message.offer.url && safeHref(message.offer.url);
    if (offerHref) {
      var link = el("div", {});
      link.appendChild(el("a", { href: offerHref, target: "_blank", rel: "noopener" }, TEXT.offer));
      item.appendChild(link);
    }
    var portalHref = message.portal && safeHref(message.portal);
    if (portalHref) {
      var portal = el("div", {});
      portal.appendChild(el("a", { href: portalHref, target: "_blank", rel: "noopener" }, TEXT.portal));
      item.appendChild(portal);
    }
    if (message.choices && message.choices.length) {
      var choices = el("div", { "class": "choices" });
      message.choices.forEach(function (choice) {
        var button = el("button", { type: "button" }, choice.label);
        button.addEventListener("click", function () { submit(choice.value, choice.label); });
        choices.appendChild(button);
      });
      item.appendChild(choices);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function showPending(entry) {
    var item = el("li", { "class": "msg customer pending", "data-id": entry.id }, entry.shown || entry.text);
    item.setAttribute("aria-label", TEXT.sending);
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function submit(text, shown) {
    text = (text || "").trim();
    if (!text) return;
    var entry = { id: newId(), text: text, shown: shown };
    state.pending.push(entry);
    showPending(entry);
    transmit(entry);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit(input.value);
    input.value = "";
  });

  attach.addEventListener("click", function () { picker.click(); });
  picker.addEventListener("change", function () {
    var file = picker.files && picker.files[0];
    picker.value = "";
    if (!file || !state.token) return;
    var entry = { id: newId(), text: "", shown: TEXT.file + ": " + file.name };
    showPending(entry);
    var body = new FormData();
    body.append("token", state.token);
    body.append("id", entry.id);
    body.append("file", file);
    fetch(origin + "/chat/api/upload", { method: "POST", body: body, credentials: "omit" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (data.type === "error") data.id = entry.id;
        handle(data);
        if (state.mode === "http") poll();
      })
      .catch(function () { status.textContent = TEXT.offline; });
  });

  var lastTyping = 0;
  input.addEventListener("input", function () {
    var now = Date.now();
    if (now - lastTyping < 3000 || state.mode !== "ws" || !isOpen()) return;
    lastTyping = now;
    state.socket.send(JSON.stringify({ type: "typing" }));
  });

  leave.addEventListener("click", function () {
    if (!state.token) return;
    if (state.mode === "ws" && isOpen()) state.socket.send(JSON.stringify({ type: "leave" }));
    else post("leave", { token: state.token }).then(function () { return poll(); });
  });

  function isOpen() { return state.socket && state.socket.readyState === 1; }

  function hello() {
    return { type: "hello", token: state.token, after: state.lastSeq, language: lang, page: location.href, identity: state.token ? "" : identity };
  }

  function handle(data) {
    if (data.type === "welcome") {
      state.token = data.token;
      state.chatState = data.state;
      remember();
      (data.messages || []).forEach(render);
      state.pending.forEach(transmit);
      status.textContent = state.mode === "http" ? TEXT.fallback : "";
    } else if (data.type === "message") {
      render(data);
      if (data.sender === "system" && /ended|beendet/.test(data.text)) status.textContent = TEXT.ended;
    } else if (data.type === "ack") {
      state.pending = state.pending.filter(function (p) { return p.id !== data.id; });
    } else if (data.type === "typing") {
      status.textContent = TEXT.typing;
      setTimeout(function () { if (status.textContent === TEXT.typing) status.textContent = ""; }, 3000);
    } else if (data.type === "error") {
      if (data.id) {
        state.pending = state.pending.filter(function (p) { return p.id !== data.id; });
        var local = log.querySelector('[data-id="' + CSS.escape(data.id) + '"]');
        if (local) local.remove();
      }
      if (data.code === "chat_not_found" || data.code === "chat_ended") {
        state.token = "";
        state.lastSeq = 0;
        remember();
      }
      status.textContent = data.message;
    }
  }

  // --- WebSocket, with HTTP polling when it cannot connect ---
  function connect() {
    state.started = true;
    if (!("WebSocket" in window) || script.dataset.transport === "http") { useHttp(); return; }
    var url = origin.replace(/^http/, "ws") + "/chat/ws/visitor/";
    var socket;
    try { socket = new WebSocket(url); } catch (e) { useHttp(); return; }
    state.socket = socket;
    var opened = false;
    socket.onopen = function () {
      opened = true;
      state.failures = 0;
      socket.send(JSON.stringify(hello()));
    };
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      handle(data);
    };
    socket.onclose = function () {
      state.socket = null;
      if (!opened) state.failures += 1;
      if (state.failures >= 2) { useHttp(); return; }
      status.textContent = TEXT.offline;
      var delay = Math.min(10000, 500 * Math.pow(2, state.failures + 1));
      setTimeout(connect, delay);
    };
  }

  function transmit(entry) {
    if (state.mode === "ws") {
      if (isOpen() && state.token) state.socket.send(JSON.stringify({ type: "message", id: entry.id, text: entry.text }));
      return; // sent again after the next welcome
    }
    post("messages", { token: state.token, id: entry.id, text: entry.text })
      .then(function (data) { handle(data); return poll(); })
      .catch(function () { /* stays pending; sent again after the next hello */ });
  }

  function post(path, body) {
    return fetch(origin + "/chat/api/" + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: origin === location.origin ? "same-origin" : "omit"
    }).then(function (response) { return response.json(); });
  }

  function poll() {
    if (!state.token) return Promise.resolve();
    var url = origin + "/chat/api/messages?token=" + encodeURIComponent(state.token) + "&after=" + state.lastSeq;
    return fetch(url, { credentials: "omit" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (data.type === "error") { handle(data); return; }
        (data.messages || []).forEach(render);
      });
  }

  function useHttp() {
    state.mode = "http";
    status.textContent = TEXT.fallback;
    post("hello", hello()).then(function (data) {
      handle(data);
      clearInterval(state.pollTimer);
      state.pollTimer = setInterval(function () { poll().catch(function () { status.textContent = TEXT.offline; }); }, 1500);
    }).catch(function () {
      status.textContent = TEXT.offline;
      setTimeout(useHttp, 3000);
    });
  }

  if (script.dataset.open === "1" || state.token) openPanel();
})();
