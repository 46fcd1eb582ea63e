/*
 * The phone bar's talk-time clock: every element with `data-since` (an ISO time) shows the
 * minutes and seconds since then, updated each second and after every swap of the bar.
 */
(function () {
  "use strict";

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

  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSwap", tick);
  document.addEventListener("DOMContentLoaded", tick);
})();
