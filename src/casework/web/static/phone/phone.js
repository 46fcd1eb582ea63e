/*
 * The phone bar: loaded when the page is, and again on every `desk-signal` (see
 * chat/desk_notice.js: a call rings, is answered, ends; the socket (re)connects). Only the
 * answer to the latest request is shown, so a slow answer never overwrites a newer state.
 * While a call rings it is looked at every few seconds too (the offer may move on). The
 * bar's own forms post with htmx. And the talk-time clock: every element with
 * `data-since` (an ISO time) shows the minutes and seconds since then.
 */
(function () {
  "use strict";
  var latest = 0;

  function refresh() {
    var placeholder = document.getElementById("phone-bar");
    if (!placeholder) return;
    var mine = ++latest;
    fetch(placeholder.dataset.url, {
      credentials: "same-origin",
      headers: { "HX-Request": "true", "HX-Current-URL": location.href },
    })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        var bar = document.getElementById("phone-bar");
        if (html === null || mine !== latest || !bar) return;
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var fresh = holder.firstElementChild;
        if (!fresh) return; // not an agent: no bar
        bar.replaceWith(fresh);
        if (window.htmx) window.htmx.process(fresh);
        tick();
      })
      .catch(function () { /* the next signal or the next ring check tries again */ });
  }

  function tick() {
    var timers = document.querySelectorAll(".call-timer[data-since]");
    for (var i = 0; i < timers.length; i++) {
      var since = Date.parse(timers[i].dataset.since);
      if (isNaN(since)) continue;
      var seconds = Math.max(0, Math.floor((Date.now() - since) / 1000));
      var minutes = Math.floor(seconds / 60);
      timers[i].textContent = minutes + ":" + String(seconds % 60).padStart(2, "0");
    }
  }

  var ticks = 0;
  setInterval(function () {
    tick();
    ticks += 1;
    if (ticks % 3 === 0 && document.querySelector(".phone-bar-ringing")) refresh();
  }, 1000);
  document.body.addEventListener("desk-signal", refresh);
  document.addEventListener("htmx:afterSwap", tick);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", refresh);
  } else {
    refresh();
  }
})();
