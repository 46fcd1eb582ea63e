/*
 * The agent's WebSocket on every desk page: each signal is passed on as a `desk-signal`
 * event on <body> (the phone bar reloads on it), and, but on the chat console (which shows
 * offers itself), a notice when a chat or a callback is offered (the offer lasts seconds).
 */
(function () {
  "use strict";
  var notice = document.getElementById("desk-notice");
  if (!notice || !("WebSocket" in window)) return;
  var onConsole = !!document.querySelector(".chat-console");
  var failures = 0;

  function signal(data) {
    document.body.dispatchEvent(new CustomEvent("desk-signal", { detail: data }));
  }

  function show() {
    notice.textContent = notice.dataset.text + " ";
    var link = document.createElement("a");
    link.href = notice.dataset.link;
    link.textContent = notice.dataset.linkText;
    notice.appendChild(link);
    notice.hidden = false;
  }

  function connect() {
    var socket = new WebSocket(location.origin.replace(/^http/, "ws") + notice.dataset.socket);
    socket.onopen = function () {
      // Signals sent before the socket was open (the page was loading, the network was
      // away) are lost: whoever listens looks again now.
      signal({ kind: "connected" });
      failures = 0;
    };
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type !== "desk") return;
      signal(data);
      if (data.kind === "offer" && data.channel !== "phone" && !onConsole) show();
    };
    socket.onclose = function (event) {
      if (event.code === 4403) return; // not an agent
      failures += 1;
      setTimeout(connect, Math.min(30000, 1000 * failures));
    };
  }
  connect();
})();
