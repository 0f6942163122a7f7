// The dashboard's behaviour; the page works without it (links, a form with
// an Apply button, every row listed), and this adds: filters applied on
// change with inline validation, the repository list narrowed by project
// (and project and repository cleared when the source changes),
// chart labels at a readable size, chart values read by keyboard, sortable
// and paged drill-downs, and the live update.
(function () {
  var script = document.currentScript;
  document.documentElement.classList.add("js");

  // ---- filters --------------------------------------------------------
  var form = document.querySelector("form.filters");
  var problem = document.getElementById("filter-problem");
  function say(msg) {
    if (!problem) return;
    problem.textContent = msg;
    problem.hidden = !msg;
  }
  function narrowRepositories() {
    if (!form) return;
    var project = form.elements.project.value, repo = form.elements.repository;
    Array.prototype.forEach.call(repo.querySelectorAll("optgroup"), function (g) {
      var other = project !== "" && g.dataset.project !== project;
      g.hidden = other;
      g.disabled = other;
    });
    var sel = repo.options[repo.selectedIndex];
    if (sel && sel.parentNode.disabled) repo.value = "";
  }
  function validate() {
    var from = form.elements.from, to = form.elements.to;
    from.classList.remove("invalid");
    to.classList.remove("invalid");
    from.removeAttribute("aria-invalid");
    to.removeAttribute("aria-invalid");
    if (from.value && to.value && from.value >= to.value) {
      to.classList.add("invalid");
      to.setAttribute("aria-invalid", "true");
      say("The window's end (" + to.value + ") must be after its start (" + from.value +
        "): the window is [from, to), so pick a later To or an earlier From.");
      return false;
    }
    if (from.value && to.value && (Date.parse(to.value) - Date.parse(from.value)) / 864e5 > 731) {
      from.classList.add("invalid");
      from.setAttribute("aria-invalid", "true");
      say("The window is longer than two years: narrow From and To to at most 731 days.");
      return false;
    }
    say("");
    return true;
  }
  if (form) {
    narrowRepositories();
    form.addEventListener("change", function (e) {
      if (e.target.name === "project") narrowRepositories();
      // Another source lists other projects: the chosen ones are not its.
      if (e.target.name === "source") { form.elements.project.value = ""; form.elements.repository.value = ""; }
      if (validate()) form.requestSubmit();
    });
    // Back and Forward show a page as the server wrote it for its address:
    // a page restored from the back-forward cache (or a form the browser
    // refilled) would otherwise keep the filters picked on it before it was
    // left, and the controls the submit disabled.
    window.addEventListener("pageshow", function () {
      Array.prototype.forEach.call(form.elements, function (el) { el.disabled = false; });
      form.reset();
      narrowRepositories();
    });
    form.addEventListener("submit", function (e) {
      if (!validate()) { e.preventDefault(); return; }
      // Leave empty filters out of the URL.
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && !el.value) el.disabled = true;
      });
    });
  }

  // ---- charts ---------------------------------------------------------
  function scaleCharts() {
    document.querySelectorAll("svg.chart").forEach(function (svg) {
      var w = svg.getBoundingClientRect().width;
      if (w > 0) svg.style.setProperty("--k", (svg.viewBox.baseVal.width / w).toFixed(3));
    });
  }
  function readout(e) {
    var pt = e.target.closest && e.target.closest(".pt");
    if (!pt) return;
    var out = pt.closest("figure").querySelector(".readout");
    if (out) out.textContent = pt.getAttribute("aria-label");
  }
  document.addEventListener("focusin", readout);
  document.addEventListener("mouseover", readout);
  window.addEventListener("resize", scaleCharts);

  // (i) panels close with Escape, and one at a time.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    document.querySelectorAll("details.explain[open]").forEach(function (d) {
      d.open = false;
      d.querySelector("summary").focus();
    });
  });
  document.addEventListener("toggle", function (e) {
    var d = e.target;
    if (!d.matches || !d.matches("details.explain") || !d.open) return;
    document.querySelectorAll("details.explain[open]").forEach(function (o) { if (o !== d) o.open = false; });
    // The panel hangs from the (i) to the left; near the left edge it is
    // moved right so that all of it is on screen.
    var pop = d.querySelector(".pop");
    pop.style.right = "";
    var left = pop.getBoundingClientRect().left;
    if (left < 8) pop.style.right = (left - 8) + "px";
  }, true);

  // ---- drill-downs: sort and page -------------------------------------
  function key(td, num) {
    var v = td.dataset.sort !== undefined ? td.dataset.sort : td.textContent.trim();
    return num ? parseFloat(v) : v.toLowerCase();
  }
  function setupTable(table) {
    var size = parseInt(table.dataset.page, 10) || 50;
    var body = table.tBodies[0], page = 0;
    var rows = Array.prototype.slice.call(body.rows);
    var paging = table.closest(".drill").querySelector(".paging");
    var count = paging.querySelector(".count");
    var total = parseInt(table.dataset.total, 10) || rows.length;
    var prev = document.createElement("button"), next = document.createElement("button");
    prev.type = next.type = "button";
    prev.textContent = "Previous 50";
    next.textContent = "Next 50";
    prev.className = "prev";
    next.className = "next";
    paging.appendChild(prev);
    paging.appendChild(next);
    function show() {
      var pages = Math.max(1, Math.ceil(rows.length / size));
      page = Math.min(Math.max(page, 0), pages - 1);
      rows.forEach(function (r, i) { r.hidden = i < page * size || i >= (page + 1) * size; });
      var first = rows.length ? page * size + 1 : 0, last = Math.min(rows.length, (page + 1) * size);
      count.textContent = "Showing " + first + "–" + last + " of " + total;
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
      prev.hidden = next.hidden = pages === 1;
    }
    prev.addEventListener("click", function () { page--; show(); });
    next.addEventListener("click", function () { page++; show(); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      var b = document.createElement("button");
      b.type = "button";
      while (th.firstChild) b.appendChild(th.firstChild);
      th.appendChild(b);
      b.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        var num = th.dataset.type === "num", sign = dir === "ascending" ? 1 : -1;
        rows.sort(function (x, y) {
          var a = key(x.cells[col], num), c = key(y.cells[col], num);
          return (a < c ? -1 : a > c ? 1 : 0) * sign;
        });
        rows.forEach(function (r) { body.appendChild(r); });
        page = 0;
        show();
      });
    });
    show();
  }
  function setup() {
    scaleCharts();
    document.querySelectorAll("table.sortable").forEach(setupTable);
  }
  setup();

  // ---- live update ----------------------------------------------------
  // When the server says the workspace's data changed, fetch this same URL
  // and swap the figures in place — no full page reload. Not while a
  // reader has an (i) panel open or has sorted or paged a list.
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
        if (fresh && cur && !cur.contains(document.activeElement) && !cur.querySelector("details[open]")) {
          cur.replaceWith(fresh);
          setup();
        }
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
