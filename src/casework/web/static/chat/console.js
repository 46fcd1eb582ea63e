/*
 * The agents' chat console: a WebSocket to /chat/ws/agent/ brings new offers and the
 * messages of the agent's chats as they happen; messages are inserted as text. Sending
 * goes through the form (a normal POST with the CSRF token, here sent with fetch). Without
 * a WebSocket the sidebar still refreshes every 15 seconds and the page after sending.
 */
(function () {
  "use strict";
  var consoleNode = document.querySelector(".chat-console");
  if (!consoleNode) return;
  var transcript = document.getElementById("chat-transcript");
  var current = transcript ? Number(transcript.dataset.conversation) : null;
  var typing = document.getElementById("chat-typing");
  var sidebar = document.getElementById("chat-sidebar");

  function lastSeq() {
    var items = transcript ? transcript.querySelectorAll("[data-seq]") : [];
    return items.length ? Number(items[items.length - 1].dataset.seq) : 0;
  }

  function append(message) {
    if (!transcript || message.conversation !== current) return;
    if (transcript.querySelector('[data-seq="' + message.seq + '"]')) return;
    var item = document.createElement("li");
    item.className = "chat-message " + message.sender + (message.internal ? " internal" : "");
    item.dataset.seq = String(message.seq);
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = message.name + " · " + message.time;
    var text = document.createElement("span");
    text.className = "text";
    text.textContent = message.text;
    item.appendChild(who);
    item.appendChild(text);
    transcript.appendChild(item);
    transcript.scrollTop = transcript.scrollHeight;
    if (typing) typing.textContent = "";
  }

  function refreshSidebar() {
    if (window.htmx && sidebar) window.htmx.trigger(sidebar, "refresh");
  }

  var failures = 0;
  function connect() {
    if (!("WebSocket" in window)) return;
    var url = location.origin.replace(/^http/, "ws") + consoleNode.dataset.socket;
    var socket = new WebSocket(url);
    socket.onopen = function () { failures = 0; };
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "message") append(data);
      else if (data.type === "typing" && data.conversation === current && typing) {
        typing.textContent = typing.dataset.label || "…";
        setTimeout(function () { typing.textContent = ""; }, 3000);
      } else if (data.type === "desk") refreshSidebar();
    };
    socket.onclose = function () {
      failures += 1;
      setTimeout(connect, Math.min(15000, 1000 * failures));
    };
    consoleNode.socket = socket;
  }
  connect();
  if (transcript) transcript.scrollTop = transcript.scrollHeight;

  var form = document.getElementById("chat-send");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = new FormData(form);
      fetch(form.action, { method: "POST", body: body, headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 204) { form.reset(); return; }
          form.submit();
        });
    });
    var textarea = form.querySelector("textarea");
    var lastTyping = 0;
    textarea.addEventListener("input", function () {
      var now = Date.now();
      var socket = consoleNode.socket;
      if (now - lastTyping < 3000 || !socket || socket.readyState !== 1) return;
      lastTyping = now;
      socket.send(JSON.stringify({ type: "typing", conversation: current }));
    });
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-insert]");
    if (!button || !form) return;
    var textarea = form.querySelector("textarea");
    textarea.value = (textarea.value ? textarea.value + "\n" : "") + button.dataset.insert;
    textarea.focus();
  });
})();
