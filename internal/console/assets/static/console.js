// The dashboard's live part: the server sends it as HTML every second
// over server-sent events (GET /console/events, "tick"), rendered by the
// same template as the page; this puts it in place. An "end" event means
// the session ended: the stream stops and says so. No other script runs
// on the console's pages but proof.js.
"use strict";
(function () {
  const live = document.getElementById("live");
  const state = document.getElementById("live-state");
  if (!live || !window.EventSource) {
    return;
  }
  const say = (key) => {
    if (state) {
      state.textContent = state.dataset[key];
      state.dataset.state = key;
    }
  };
  const es = new EventSource(live.dataset.events);
  es.addEventListener("tick", (e) => {
    // The server's own HTML, escaped by its templates.
    live.innerHTML = e.data;
    say("live");
  });
  es.addEventListener("end", () => {
    es.close();
    say("ended");
  });
  es.addEventListener("error", () => {
    if (es.readyState !== EventSource.CLOSED) {
      say("stale");
    }
  });
})();
