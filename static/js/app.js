// Ticketry page behaviour. No inline scripts anywhere: everything lives here.
(function () {
  "use strict";

  // Filters: a submit button is needed without JavaScript only.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-js-hide]").forEach(function (el) { el.hidden = true; });
  });

  // After an htmx swap, move focus to the element that asks for it (new content for
  // keyboard and screen-reader users), without scrolling the page away.
  document.body.addEventListener("htmx:afterSettle", function (evt) {
    var target = evt.detail.elt && evt.detail.elt.querySelector && evt.detail.elt.querySelector("[data-focus-after-swap]");
    if (target) { target.focus({ preventScroll: true }); }
  });

  // Reset the reply box after a successful post.
  document.body.addEventListener("ticketry:comment-added", function () {
    var form = document.getElementById("reply-form");
    if (form) { form.reset(); }
  });
})();

// Filters sent with htmx GETs drop their empty fields, so pushed URLs stay short and shareable.
document.body.addEventListener("htmx:configRequest", function (evt) {
  if (evt.detail.verb !== "get") { return; }
  var params = evt.detail.parameters;
  var keys = typeof params.keys === "function" ? Array.from(params.keys()) : Object.keys(params);
  keys.forEach(function (key) {
    var value = typeof params.getAll === "function" ? params.getAll(key) : params[key];
    var empty = Array.isArray(value) ? value.every(function (v) { return v === ""; }) : value === "";
    if (empty) { typeof params.delete === "function" ? params.delete(key) : delete params[key]; }
  });
});

// Notifications: the bell refreshes after every htmx request but its own (and every 30 s, see base.html).
document.body.addEventListener("htmx:afterRequest", function (evt) {
  var elt = evt.detail && evt.detail.elt;
  if (elt && elt.closest && elt.closest("#notification-bell")) { return; }
  if (elt && elt.closest && elt.closest("[data-background-poll]")) { return; }  // the queue's own pollers
  document.body.dispatchEvent(new CustomEvent("ticketry:bell-refresh"));
});

// Background polls (marked data-background-poll: the queue's changes notice and views sidebar) skip
// their turn while the tab is hidden; the next turn after it is shown again catches up.
document.body.addEventListener("htmx:beforeRequest", function (evt) {
  var elt = evt.detail && evt.detail.elt;
  if (document.visibilityState === "hidden" && elt && elt.closest && elt.closest("[data-background-poll]")) {
    evt.preventDefault();
  }
});

// ---- Queue: bulk selection and saved views (agent productivity) -------------------------------------
// Elements marked data-js-only are hidden until this script runs (see app.css).
document.documentElement.classList.add("js");

(function () {
  "use strict";
  var lastClicked = null; // the row checkbox clicked last: shift-click selects the range up to it

  function rowBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll("#bulk-form input[type=checkbox][name=number]"));
  }

  function refreshSelection() {
    var boxes = rowBoxes();
    var checked = boxes.filter(function (b) { return b.checked; }).length;
    var count = document.getElementById("bulk-selected-count");
    if (count) { count.textContent = String(checked); }
    var summary = document.getElementById("bulk-selected-summary");
    if (summary) { summary.textContent = String(checked); }
    var panel = document.getElementById("bulk-panel");
    if (panel && checked > 0) { panel.open = true; }
    var page = document.querySelector("[data-select-page]");
    if (page) {
      page.checked = boxes.length > 0 && checked === boxes.length;
      page.indeterminate = checked > 0 && checked < boxes.length;
    }
    boxes.forEach(function (b) {
      var row = b.closest("tr");
      if (row) { row.classList.toggle("is-selected", b.checked); }
    });
  }

  document.addEventListener("click", function (evt) {
    var box = evt.target;
    if (!box || box.type !== "checkbox" || !box.closest || !box.closest("#bulk-form")) { return; }
    if (box.hasAttribute("data-select-page")) {
      rowBoxes().forEach(function (b) { b.checked = box.checked; });
    } else if (box.name === "number") {
      var boxes = rowBoxes();
      if (evt.shiftKey && lastClicked && lastClicked !== box && boxes.indexOf(lastClicked) >= 0) {
        var a = boxes.indexOf(lastClicked), b = boxes.indexOf(box);
        boxes.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (other) { other.checked = box.checked; });
      }
      lastClicked = box;
    } else {
      return;
    }
    // Picking tickets means "these", not "all matching".
    var selectedScope = document.querySelector("#bulk-form input[name=scope][value=selected]");
    if (selectedScope) { selectedScope.checked = true; }
    refreshSelection();
  });

  // Shift-click on a checkbox also selects the text between; keep the page tidy.
  document.addEventListener("mousedown", function (evt) {
    if (evt.shiftKey && evt.target && evt.target.name === "number" && evt.target.closest("#bulk-form")) {
      evt.preventDefault();
    }
  });

  // The sidebar marks the view the queue shows now. Parameters are compared in a canonical order
  // (the same as services.saved_views.canonical_query: sorted pairs, no page, no default sort).
  function canonical(search) {
    var params = new URLSearchParams(search);
    var pairs = [];
    params.forEach(function (value, key) {
      value = value.trim();
      if (!value || key === "page" || (key === "sort" && value === "updated")) { return; }
      if (["status", "priority", "assignee", "tag", "q", "sla", "sort"].indexOf(key) < 0) { return; }
      pairs.push([key, key === "tag" ? value.toLowerCase() : value]);
    });
    pairs.sort(function (x, y) { return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0); });
    return pairs.map(function (p) { return encodeURIComponent(p[0]) + "=" + encodeURIComponent(p[1]); }).join("&");
  }

  function markCurrentView() {
    var links = document.querySelectorAll("#queue-views [data-view-query]");
    if (!links.length) { return; }
    var here = canonical(window.location.search);
    links.forEach(function (link) {
      var query = link.getAttribute("data-view-query");
      if (canonical(query) === here) { link.setAttribute("aria-current", "page"); } else { link.removeAttribute("aria-current"); }
    });
  }

  document.addEventListener("htmx:afterSettle", function (evt) {
    refreshSelection();
    markCurrentView();
  });
  document.addEventListener("htmx:pushedIntoHistory", markCurrentView);
  window.addEventListener("popstate", function () { setTimeout(markCurrentView, 0); });
  document.addEventListener("DOMContentLoaded", refreshSelection);
})();

// ---- Top bar: the Manage/More menu (a <details>) closes on Escape and on a click elsewhere ----------
(function () {
  "use strict";
  function closeMenus(except) {
    document.querySelectorAll("details.nav-menu[open]").forEach(function (menu) {
      if (menu !== except) { menu.open = false; }
    });
  }
  document.addEventListener("click", function (evt) {
    closeMenus(evt.target.closest ? evt.target.closest("details.nav-menu") : null);
  });
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") { return; }
    var open = document.querySelector("details.nav-menu[open]");
    if (open) { open.open = false; open.querySelector("summary").focus(); }
  });
}());
