/*
 * On every page of the desk but the chat console: a notice when a chat or a callback is
 * offered to the agent (the offer lasts seconds), over the agent's WebSocket. The console
 * has its own socket and shows offers itself.
 */
(function () {
  "use strict";
  var notice = document.getElementById("desk-notice");
  if (!notice || document.querySelector(".chat-console") || !("WebSocket" in window)) return;
  var failures = 0;

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
    socket.onopen = function () { failures = 0; };
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "desk" && data.kind === "offer") show();
    };
    socket.onclose = function (event) {
      if (event.code === 4403) return; // not an agent
      failures += 1;
      setTimeout(connect, Math.min(30000, 1000 * failures));
    };
  }
  connect();
})();
