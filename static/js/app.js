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
