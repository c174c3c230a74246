// The ticket page: keyboard shortcuts (dispatched by shortcuts.js), macro insertion, typing heartbeats,
// and pausing the live poll in background tabs. No inline scripts anywhere (strict CSP): it all lives here.
(function () {
  "use strict";

  var TYPING_PING_MS = 3000; // at most one "typing" heartbeat every 3 s

  function $(id) { return document.getElementById(id); }
  function replyBody() { return document.querySelector("#reply-form textarea[name=body]"); }

  function announce(text) {
    var region = $("ticket-announcer");
    if (!region) { return; }
    region.textContent = "";
    // A fresh text node after a tick, so screen readers announce the same sentence twice in a row too.
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function focusReply(internal) {
    var body = replyBody();
    if (!body) { announce("This ticket takes no more replies."); return; }
    var kind = document.querySelector('#reply-form input[name=kind][value="' + (internal ? "internal" : "public") + '"]');
    if (kind) { kind.checked = true; }
    // After the key's own events: focusing during its keydown would type the "r" or "n" into the box.
    window.setTimeout(function () { body.focus(); }, 0);
    announce(internal ? "Writing an internal note." : "Writing a public reply.");
  }

  function assignToMe() {
    var form = $("assign-to-me");
    if (!form) { announce("This ticket is already assigned to you."); return; }
    if (typeof form.requestSubmit === "function") { form.requestSubmit(); } else { form.submit(); }
    announce("Assigning the ticket to you.");
  }

  // Shortcuts: shortcuts.js (global) dispatches ticketry:shortcut with the key; this page acts on r, n, a.
  document.addEventListener("ticketry:shortcut", function (evt) {
    var key = evt.detail && evt.detail.key;
    if (key === "r") { focusReply(false); }
    else if (key === "n") { focusReply(true); }
    else if (key === "a") { assignToMe(); }
    else { return; }
    if (typeof evt.preventDefault === "function") { evt.preventDefault(); }
  });

  // Macro insertion: the answer to the picker holds the rendered text in a hidden textarea; it goes into
  // the reply box at the cursor (or replaces an empty box), and the macro id rides along with the reply.
  function insertMacro(note) {
    var source = note.querySelector(".macro-text");
    var body = replyBody();
    if (!source || !body) { return; }
    var text = source.value;
    source.remove();
    if (!body.value.trim()) {
      body.value = text;
    } else {
      var start = body.selectionStart, end = body.selectionEnd;
      var before = body.value.slice(0, start), after = body.value.slice(end);
      var glue = before && !/\n$/.test(before) ? "\n\n" : "";
      body.value = before + glue + text + after;
      body.selectionStart = body.selectionEnd = (before + glue + text).length;
    }
    var hidden = $("reply-macro-id");
    if (hidden) { hidden.value = note.getAttribute("data-macro-id") || ""; }
    body.dispatchEvent(new Event("input", { bubbles: true }));
    body.focus();
  }

  document.body.addEventListener("htmx:afterSwap", function (evt) {
    var target = evt.detail && evt.detail.target;
    if (target && target.id === "macro-status") {
      var note = target.querySelector(".macro-note");
      if (note) { insertMacro(note); }
    }
    revealJsOnly(document);
  });

  document.addEventListener("click", function (evt) {
    var clear = evt.target.closest && evt.target.closest("[data-macro-clear]");
    if (!clear) { return; }
    var hidden = $("reply-macro-id");
    if (hidden) { hidden.value = ""; }
    var status = $("macro-status");
    if (status) { status.textContent = "The macro's actions will not be applied."; }
    var body = replyBody();
    if (body) { body.focus(); }
  });

  function revealJsOnly(root) {
    root.querySelectorAll("[data-macro-clear][hidden]").forEach(function (el) { el.hidden = false; });
  }
  revealJsOnly(document);

  // Typing heartbeat: the hidden presence form posts state=typing, at most once every few seconds;
  // keystrokes inside the window are covered by one trailing ping at its end.
  var lastPing = 0, trailing = null;
  function pingTyping() {
    trailing = null;
    lastPing = Date.now();
    var form = $("presence-beat");
    if (!form || !window.htmx) { return; }
    form.querySelector("input[name=state]").value = "typing";
    window.htmx.trigger(form, "ticketry:typing");
  }
  document.addEventListener("input", function (evt) {
    if (!evt.target.matches || !evt.target.matches("#reply-form textarea[name=body]")) { return; }
    var wait = lastPing + TYPING_PING_MS - Date.now();
    if (wait <= 0) { pingTyping(); } else if (!trailing) { trailing = window.setTimeout(pingTyping, wait); }
  });
  // A sent reply ends typing on the server; the next keystroke says so again at once.
  document.body.addEventListener("ticketry:comment-added", function () {
    if (trailing) { window.clearTimeout(trailing); trailing = null; }
    lastPing = 0;
  });
  document.body.addEventListener("htmx:configRequest", function (evt) {
    var form = $("presence-beat");
    if (form && evt.detail.elt === form) { form.querySelector("input[name=state]").value = "viewing"; }
  });

  // Leaving the page: say so, so others stop seeing us at once rather than after 30 s.
  window.addEventListener("pagehide", function () {
    var form = $("presence-beat");
    if (!form || !navigator.sendBeacon) { return; }
    var data = new FormData(form);
    data.set("state", "left");
    navigator.sendBeacon(form.getAttribute("action"), data);
  });

  // The live poll pauses while the tab is hidden and catches up as soon as it is shown again.
  document.body.addEventListener("htmx:beforeRequest", function (evt) {
    if (evt.detail.elt && evt.detail.elt.id === "ticket-live" && document.visibilityState === "hidden") {
      evt.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    var poller = $("ticket-live");
    if (document.visibilityState === "visible" && poller && window.htmx) { window.htmx.trigger(poller, "ticketry:poll"); }
  });

  // The notification bell refreshes after every htmx request (app.js); the poll and the heartbeats are
  // not user actions, so their requests stop here instead of doubling the traffic of an open ticket.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (elt && (elt.id === "ticket-live" || elt.id === "presence-beat")) { evt.stopPropagation(); }
  }, true);

  // A live update never throws away a field being edited: the side panel is redrawn (so the other
  // fields are current and saving will not put back stale values), then the unsaved text, the cursor
  // and the focus are put back; leaving the field saves it as usual.
  document.body.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail && evt.detail.target;
    if (!target || target.id !== "side-panel") { return; }
    var active = document.activeElement;
    if (!active || !target.contains(active) || !active.matches("input[type=text]") || !active.id) { return; }
    if (active.value === active.defaultValue) { return; }
    var edit = { id: active.id, value: active.value, start: active.selectionStart, end: active.selectionEnd };
    window.setTimeout(function () {
      var field = $(edit.id);
      if (!field) { return; }
      field.value = edit.value;
      field.focus();
      field.setSelectionRange(edit.start, edit.end);
      field.addEventListener("blur", function () {
        if (field.value !== field.defaultValue) { field.dispatchEvent(new Event("change", { bubbles: true })); }
      }, { once: true });
    }, 0);
  });

  // A refused reply (someone else replied meanwhile): focus the warning so it is read first.
  document.body.addEventListener("htmx:afterSettle", function () {
    var warning = document.querySelector("#reply-box [data-focus-after-swap]");
    if (warning && !warning.dataset.focused) { warning.dataset.focused = "1"; warning.focus({ preventScroll: false }); }
  });
})();
