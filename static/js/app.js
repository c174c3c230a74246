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
  document.body.dispatchEvent(new CustomEvent("ticketry:bell-refresh"));
});
