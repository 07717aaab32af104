/* The case workspace (cases/workspace.html): keyboard shortcuts, the "replying" state of the
   presence heartbeat, the case version after a partial update, leaving the page.
   htmx (app/static/vendor/htmx) does the requests; this file only glues. No inline script,
   no eval: the Content-Security-Policy allows neither. */
(function () {
  "use strict";
  var ws = document.getElementById("case-workspace");
  if (!ws) { return; }

  function $(selector) { return document.querySelector(selector); }
  function visible(el) { return !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length)); }
  function typing(el) {
    if (!el) { return false; }
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }
  function showTab(id) {
    var tab = document.getElementById(id);
    if (tab && window.jQuery) { window.jQuery(tab).tab("show"); }
    return tab;
  }
  function modal(id) {
    var el = document.getElementById(id);
    if (el && window.jQuery) { window.jQuery(el).modal("show"); }
    return el;
  }

  /* The editor of the reply pane: whatever the composer renders (a rich editor's editable
     area, else its textarea), the first visible one. */
  function replyEditor() {
    var pane = document.getElementById("case-reply");
    if (!pane) { return null; }
    var candidates = pane.querySelectorAll("trix-editor, .ql-editor, [contenteditable='true'], textarea");
    for (var i = 0; i < candidates.length; i++) {
      if (visible(candidates[i])) { return candidates[i]; }
    }
    return candidates[0] || null;
  }

  function focusReply() {
    if (!showTab("tab-reply")) { return; }
    window.setTimeout(function () {
      var editor = replyEditor();
      if (editor) { editor.focus(); editor.scrollIntoView({ block: "center" }); }
    }, 50);
  }

  function focusNote() {
    if (!showTab("tab-note")) { return; }
    window.setTimeout(function () {
      var note = document.getElementById("note-text");
      if (note) { note.focus(); note.scrollIntoView({ block: "center" }); }
    }, 50);
  }

  function toggleOrder() {
    var other = document.querySelector(".ld-order-toggle .btn:not(.active)");
    if (other) { other.click(); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "Escape" && typing(document.activeElement)) {
      document.activeElement.blur();
      return;
    }
    var open = document.querySelector(".modal.in");
    if (open && event.key === "Escape" && window.jQuery) { window.jQuery(open).modal("hide"); return; }
    if (typing(event.target) || open) { return; }
    var handled = true;
    switch (event.key) {
      case "r": focusReply(); break;
      case "i": focusNote(); break;
      case "c": handled = !!modal("close-dialog"); break;
      case "n": {
        var next = document.getElementById("ld-get-next");
        if (next) { next.click(); } else { handled = false; }
        break;
      }
      case "o": toggleOrder(); break;
      case "h": {
        var history = document.getElementById("case-history-details");
        if (history) { history.open = !history.open; if (history.open) { history.scrollIntoView(); } }
        break;
      }
      case "?": modal("shortcuts-dialog"); break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); }
  });

  /* A dialog's pickers (colleagues, pools, topics, departments) load when it opens. */
  if (window.jQuery) {
    window.jQuery(document).on("show.bs.modal", ".modal", function () {
      var pickers = this.querySelectorAll(".ld-picker");
      for (var i = 0; i < pickers.length; i++) {
        if (window.htmx) { window.htmx.trigger(pickers[i], "ld-dialog-open"); }
      }
    });
  }

  /* The close dialog: the first wrap-up question gets the focus. */
  if (window.jQuery) {
    window.jQuery("#close-dialog").on("shown.bs.modal", function () {
      var first = this.querySelector("input[type=text]");
      if (first) { first.focus(); }
    });
  }

  /* Presence: "replying" while the agent writes in the reply pane (for a minute after his
     last keystroke); the next heartbeat tells the others at once. */
  var activity = document.getElementById("ws-activity");
  var quiet = null;
  var reply = document.getElementById("case-reply");
  if (reply && activity) {
    reply.addEventListener("input", function () {
      if (activity.value !== "replying") {
        activity.value = "replying";
        if (window.htmx) { window.htmx.trigger("#case-presence", "ld-heartbeat"); }
      }
      window.clearTimeout(quiet);
      quiet = window.setTimeout(function () { activity.value = "viewing"; }, 60000);
    }, true);
  }

  /* After a partial update the case has a new version: every form of the page carries it,
     so the agent's own note does not make his next form look stale. */
  document.body.addEventListener("ld-case-version", function (event) {
    var version = event.detail && event.detail.value;
    if (!version) { return; }
    var inputs = document.querySelectorAll("input[name=case_version]");
    for (var i = 0; i < inputs.length; i++) { inputs[i].value = version; }
  });

  /* A note added: empty the box. A refused request: say why, above the thread. */
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.id === "note-form" && event.detail.successful) { form.reset(); }
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("ws-alerts");
    if (!box) { return; }
    var alert = document.createElement("div");
    alert.className = "alert alert-danger";
    alert.setAttribute("role", "alert");
    alert.textContent = event.detail.xhr.responseText || "The request failed.";
    box.innerHTML = "";
    box.appendChild(alert);
  });

  /* Leaving the page: the others stop seeing us at once (else the entry expires). */
  window.addEventListener("pagehide", function () {
    if (!navigator.sendBeacon) { return; }
    var data = new FormData();
    data.append("csrf_token", ws.getAttribute("data-csrf"));
    navigator.sendBeacon(ws.getAttribute("data-leave-url"), data);
  });
})();
