// Live update: when the server says the workspace's data changed, fetch
// this same URL and swap the figures in place — no full page reload.
(function () {
  var script = document.currentScript;
  if (!window.EventSource || !script) return;
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        var cur = document.getElementById("live");
        if (fresh && cur) cur.replaceWith(fresh);
      })
      .catch(function () {})
      .finally(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var events = new EventSource(script.dataset.events);
  events.addEventListener("change", refresh);
  // The page says whether it is live (styles and tests read it).
  events.onopen = function () { document.documentElement.dataset.live = "open"; };
  events.onerror = function () { document.documentElement.dataset.live = "reconnecting"; };
})();
