/* The reply composer's "Knowledge base" picker (knowledge/_composer_tool.html).
 *
 * The panel and the matches come from the server by htmx (hx-get on the <details>, on the
 * search box). This script only: focuses the search box when the panel opens, closes it on
 * Esc, and on Insert posts the use (counted on the server, CSRF token in X-CSRFToken) and
 * puts the article's body into the reply where the cursor was (at the end when the editor
 * was never used), through Quill's clipboard so the composer's own sync sees the change.
 * Without the rich editor the text goes into the plain textarea.
 */
(function () {
  "use strict";

  function editorBox(composer) {
    return composer && composer.querySelector(".ld-composer-editor");
  }

  // Remember where the cursor was in each Quill editor before the picker took the focus.
  document.addEventListener("focusin", function (event) {
    var root = event.target.closest && event.target.closest(".ld-composer-editor");
    if (!root || !root.quill || root.dataset.kbTracked) {
      return;
    }
    root.dataset.kbTracked = "1";
    // On leaving the editor Quill reports no range and, as the old one, where the cursor was.
    root.quill.on("selection-change", function (range, oldRange) {
      if (range || oldRange) {
        root.kbRange = range || oldRange;
      }
    });
  });

  function insertInto(composer, body) {
    var box = editorBox(composer);
    if (box && box.quill) {
      var quill = box.quill;
      var empty = !quill.getText().trim();
      var range = quill.getSelection() || box.kbRange;
      var index = empty ? 0 : (range ? range.index + range.length : quill.getLength() - 1);
      var before = quill.getLength();
      if (range && range.length && !empty) {
        quill.deleteText(range.index, range.length, "user");
        index = range.index;
        before = quill.getLength();
      }
      quill.clipboard.dangerouslyPasteHTML(index, body.html, "user");
      var after = index + (quill.getLength() - before);
      quill.focus();
      quill.setSelection(after, 0, "user");
      box.kbRange = { index: after, length: 0 };
      return;
    }
    var textarea = box && box.querySelector("textarea[name=text]");
    if (textarea) {
      textarea.value = textarea.value ? textarea.value.replace(/\s*$/, "\n\n") + body.text : body.text;
      textarea.focus();
    }
  }

  function say(picker, text, kind) {
    var note = picker.querySelector(".ld-kb-note");
    if (!note) {
      note = document.createElement("p");
      note.className = "ld-kb-note";
      note.setAttribute("role", "status");
      picker.appendChild(note);
    }
    note.textContent = text;
    note.className = "ld-kb-note ld-kb-note-" + kind;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-kb-insert]");
    if (!button) {
      return;
    }
    event.preventDefault();
    var picker = button.closest(".ld-kb-picker");
    var details = button.closest("details.ld-kb");
    var composer = button.closest(".ld-composer");
    if (!picker || button.disabled) {
      return;
    }
    button.disabled = true;
    window.fetch(button.getAttribute("data-kb-insert"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": picker.dataset.csrf, Accept: "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) {
        return { ok: response.ok, body: body };
      });
    }).then(function (result) {
      button.disabled = false;
      if (!result.ok) {
        say(picker, result.body.message || "The article could not be inserted.", "error");
        return;
      }
      insertInto(composer, result.body);
      if (details) {
        details.open = false;
      }
    }).catch(function () {
      button.disabled = false;
      say(picker, "The article could not be inserted (no connection?).", "error");
    });
  });

  // Opened: into the search box. Esc inside the panel: closed, back to the button.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.matches || !details.matches("details.ld-kb") || !details.open) {
      return;
    }
    var box = details.querySelector("#ld-kb-q");
    if (box) {
      box.focus();
    }
  }, true);

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.classList && target.classList.contains("ld-kb-panel")) {
      var box = target.querySelector("#ld-kb-q");
      if (box) {
        box.focus();
      }
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    var details = event.target.closest && event.target.closest("details.ld-kb");
    if (details && details.open) {
      event.preventDefault();
      event.stopPropagation();
      details.open = false;
      details.querySelector("summary").focus();
    }
  }, true);
}());
