// Keyboard shortcuts. Loaded on every signed-in page from base.html (no inline script: strict CSP).
//
//   j / k        next / previous ticket in the queue (focus ring on the row, focus on its link)
//   o / Enter    open the current ticket
//   x            select / unselect the current ticket (bulk changes)
//   /            focus the search box in the top bar
//   ?            this list (a <dialog>; Escape closes it and focus goes back)
//   r / n / a    ticket page: reply, internal note, assign to me. This file only announces them:
//                document.dispatchEvent(new CustomEvent("ticketry:shortcut", {detail: {key: "r"}}))
//                and the ticket page's own script acts on them.
//
// Never while typing in a field (input, textarea, select, contenteditable), never with Ctrl, Alt or
// Meta held, never while a dialog is open.
(function () {
  "use strict";

  var TICKET_PAGE_KEYS = { r: true, n: true, a: true };
  var current = -1; // index of the current queue row

  var NOT_TYPING = { checkbox: true, radio: true, button: true, submit: true, reset: true };

  function typing(target) {
    if (!target || !target.closest) { return false; }
    if (target.isContentEditable || target.closest("textarea, select, [contenteditable]:not([contenteditable='false'])")) {
      return true;
    }
    var input = target.closest("input");
    return !!input && !NOT_TYPING[(input.type || "text").toLowerCase()];
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#ticket-results tbody tr"));
  }

  function rowLink(row) {
    return row && row.querySelector("td.subject a");
  }

  function setCurrent(index) {
    var all = rows();
    if (!all.length) { return; }
    index = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row, i) {
      row.classList.toggle("kb-current", i === index);
      if (i === index) { row.setAttribute("aria-current", "true"); } else { row.removeAttribute("aria-current"); }
    });
    current = index;
    var link = rowLink(all[index]);
    if (link) { link.focus({ preventScroll: true }); }
    all[index].scrollIntoView({ block: "nearest" });
  }

  function currentRow() {
    // The row holding focus (its link or checkbox, clicked or tabbed to) first, else the one j/k marked.
    var active = document.activeElement;
    var focused = active && active.closest && active.closest("#ticket-results tbody tr");
    if (focused) { return focused; }
    var all = rows();
    if (current >= 0 && current < all.length && all[current].classList.contains("kb-current")) { return all[current]; }
    return null;
  }

  function openDialog() {
    var dialog = document.getElementById("shortcuts-help");
    if (!dialog || dialog.open) { return; }
    dialog.returnFocusTo = document.activeElement;
    dialog.showModal();
  }

  document.addEventListener("keydown", function (evt) {
    if (evt.defaultPrevented || evt.isComposing || evt.ctrlKey || evt.metaKey || evt.altKey) { return; }
    if (typing(evt.target) || document.querySelector("dialog[open]")) { return; }
    var key = evt.key;
    var inQueue = !!document.getElementById("ticket-results");

    if (key === "?") { evt.preventDefault(); openDialog(); return; }
    if (key === "/") {
      var search = document.getElementById("topbar-q");
      if (search) { evt.preventDefault(); search.focus(); search.select(); }
      return;
    }
    if (TICKET_PAGE_KEYS[key]) {
      document.dispatchEvent(new CustomEvent("ticketry:shortcut", { detail: { key: key } }));
      return;
    }
    if (!inQueue) { return; }
    if (key === "j" || key === "k") {
      evt.preventDefault();
      var row = currentRow();
      var index = row ? rows().indexOf(row) : -1;
      setCurrent(index < 0 ? 0 : index + (key === "j" ? 1 : -1));
      return;
    }
    var target = currentRow();
    if (!target) { return; }
    if (key === "x") {
      var box = target.querySelector("input[type=checkbox][name=number]");
      if (box) { evt.preventDefault(); box.click(); }
      return;
    }
    // Enter keeps its own meaning on links, buttons and the bulk bar: it opens only from the row itself.
    var enterOnRow = key === "Enter" && (evt.target === document.body || target.contains(evt.target)) &&
      !evt.target.closest("a, button, summary");
    if (key === "o" || enterOnRow) {
      var link = rowLink(target);
      if (link) { evt.preventDefault(); window.location.assign(link.href); }
    }
  });

  // The help dialog: open from the top bar button too; focus returns where it was when it closes
  // (Escape, the Close button, or a click on the backdrop).
  document.addEventListener("click", function (evt) {
    var opener = evt.target.closest && evt.target.closest("[data-shortcuts-open]");
    if (opener) { evt.preventDefault(); openDialog(); return; }
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && dialog.open && evt.target === dialog) { dialog.close(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var dialog = document.getElementById("shortcuts-help");
    if (!dialog) { return; }
    dialog.addEventListener("close", function () {
      var back = dialog.returnFocusTo;
      dialog.returnFocusTo = null;
      // The close event comes a task after the dialog closed: a key pressed in between ("/" to search)
      // may have put focus somewhere already, and keeps it.
      var active = document.activeElement;
      var lost = !active || active === document.body || dialog.contains(active);
      if (lost && back && back.focus && document.contains(back)) { back.focus(); }
    });
  });

  // A new results table (filter, page, bulk change): no current row until j or k.
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail && evt.detail.target && evt.detail.target.id === "ticket-results") { current = -1; }
  });
})();
