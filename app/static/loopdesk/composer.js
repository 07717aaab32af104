/* Loopdesk reply composer (answering/_composer.html).
 *
 * Without this script the composer is a plain form: a textarea named "text". With it, the
 * textarea becomes a Quill editor (bold, italic, lists, links); every change writes the
 * editor's HTML into a hidden "body_html" field (sanitised again on the server, which derives
 * the plain-text part from it) and its text into the textarea. htmx, when the page has it,
 * swaps in a picked template (the editor fragment) and the preview.
 *
 * Keys: Ctrl+Enter (Cmd+Enter) sends, asking first when the reply is empty; Esc leaves the
 * editor (focus goes to the composer, so the page's own shortcuts work again). The page can
 * focus the editor with `document.dispatchEvent(new Event("loopdesk:compose"))`.
 */
(function () {
  "use strict";

  var FORMATS = ["bold", "italic", "list", "link"];
  var TOOLBAR = [["bold", "italic"], [{ list: "bullet" }, { list: "ordered" }], ["link"], ["clean"]];

  var TITLES = {
    bold: "Bold (Ctrl+B)",
    italic: "Italic (Ctrl+I)",
    "list:bullet": "Bulleted list (or type - and a space)",
    "list:ordered": "Numbered list (or type 1. and a space)",
    link: "Link (Ctrl+K)",
    clean: "Remove formatting"
  };

  function nameButtons(quill) {
    var toolbar = quill.getModule("toolbar");
    if (!toolbar || !toolbar.container) {
      return;
    }
    toolbar.container.setAttribute("aria-label", "Formatting");
    toolbar.container.querySelectorAll("button").forEach(function (button) {
      var format = (button.className.match(/ql-(\w+)/) || [])[1];
      var key = button.value ? format + ":" + button.value : format;
      if (TITLES[key]) {
        button.title = TITLES[key];
        button.setAttribute("aria-label", TITLES[key]);
      }
    });
  }

  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function textToHtml(text) {
    // One paragraph per line, as the editor keeps them (a blank line is an empty paragraph).
    return text.split("\n").map(function (line) {
      return "<p>" + (line ? escapeHtml(line) : "<br>") + "</p>";
    }).join("");
  }

  function editorOf(composer) {
    return composer.querySelector(".ld-composer-editor");
  }

  function isEmpty(composer) {
    var box = editorOf(composer);
    var textarea = box && box.querySelector("textarea[name=text]");
    return !textarea || !textarea.value.trim();
  }

  function setUpEditor(composer) {
    var box = editorOf(composer);
    if (!box || box.dataset.editorReady || typeof window.Quill !== "function") {
      return;
    }
    var textarea = box.querySelector("textarea[name=text]");
    if (!textarea) {
      return;
    }
    box.dataset.editorReady = "1";
    var holder = document.createElement("div");
    holder.className = "ld-composer-quill";
    textarea.insertAdjacentElement("afterend", holder);
    textarea.hidden = true;
    textarea.setAttribute("aria-hidden", "true");
    var label = box.querySelector(".ld-composer-label");
    if (label) {
      label.removeAttribute("for");
    }
    var html = document.createElement("input");
    html.type = "hidden";
    html.name = "body_html";
    box.appendChild(html);

    var quill = new window.Quill(holder, {
      theme: "snow",
      formats: FORMATS,
      placeholder: textarea.getAttribute("placeholder") || "",
      modules: { toolbar: TOOLBAR }
    });
    nameButtons(quill);
    quill.root.setAttribute("aria-label", "Your reply");
    quill.root.setAttribute("aria-multiline", "true");
    quill.root.setAttribute("role", "textbox");
    var initial = box.dataset.initialHtml || (textarea.value ? textToHtml(textarea.value) : "");
    if (initial) {
      quill.setContents(quill.clipboard.convert({ html: initial }), "silent");
    }
    function sync() {
      var text = quill.getText().replace(/\s+$/, "");
      textarea.value = text;
      html.value = text.trim() ? quill.getSemanticHTML() : "";
    }
    quill.on("text-change", sync);
    sync();
    box.quill = quill;
  }

  function focusEditor(composer) {
    var box = editorOf(composer);
    if (box && box.quill) {
      box.quill.focus();
    } else if (box) {
      var textarea = box.querySelector("textarea[name=text]");
      if (textarea) {
        textarea.focus();
      }
    }
  }

  function send(composer) {
    var form = composer.querySelector("form.ld-composer-form");
    var button = form && form.querySelector("[data-composer-send]");
    if (!form || !button || button.disabled) {
      return;
    }
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit(button);
    } else {
      button.click();
    }
  }

  function templateChosen(composer) {
    var field = composer.querySelector(".ld-composer-editor input[name=template_id]");
    return field && field.value;
  }

  function setUp(composer) {
    if (composer.dataset.composerReady) {
      setUpEditor(composer);
      return;
    }
    composer.dataset.composerReady = "1";
    setUpEditor(composer);
    var form = composer.querySelector("form.ld-composer-form");
    if (!form) {
      return;
    }
    if (window.htmx) {
      // The template picker works on change; its button is for pages without htmx.
      composer.querySelectorAll(".ld-composer-load").forEach(function (b) { b.hidden = true; });
    }

    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      if (submitter && !submitter.hasAttribute("data-composer-send")) {
        return; // Preview without htmx: the whole page comes back with the preview
      }
      if (isEmpty(composer) && !templateChosen(composer) &&
          !window.confirm("The reply is empty. Send it anyway?")) {
        event.preventDefault();
        return;
      }
      if (submitter) {
        // One reply per press: the button stays off until the page comes back.
        window.setTimeout(function () { submitter.disabled = true; }, 0);
      }
    });

    // Capture: before Quill's own Enter handling inside the editor.
    composer.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.altKey) {
        event.preventDefault();
        event.stopPropagation();
        send(composer);
      }
    }, true);

    // Bubble: Quill's link box handles its own Esc first (and marks the event handled).
    composer.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || event.defaultPrevented) {
        return;
      }
      var target = event.target;
      if (target.closest(".ql-editor") || target.matches("textarea[name=text]")) {
        event.preventDefault();
        target.blur();
        composer.focus({ preventScroll: true });
      }
    });
  }

  function setUpWithin(root) {
    if (!root || !root.querySelectorAll) {
      return;
    }
    if (root.matches && root.matches(".ld-composer")) {
      setUp(root);
    }
    root.querySelectorAll(".ld-composer").forEach(setUp);
    var composer = root.closest && root.closest(".ld-composer");
    if (composer) {
      setUp(composer);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpWithin(document);
  });

  // htmx swapped in an editor with a template (focus it), or the preview.
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail.elt;
    setUpWithin(elt);
    if (elt && elt.id === "ld-composer-editor") {
      var composer = elt.closest(".ld-composer");
      if (composer) {
        focusEditor(composer);
      }
    }
  });

  // A template replaces what was written: ask first.
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    var composer = elt.closest && elt.closest(".ld-composer");
    if (!composer || elt.id !== "ld-composer-template" || isEmpty(composer)) {
      return;
    }
    event.preventDefault();
    if (window.confirm("Replace your text with the template?")) {
      event.detail.issueRequest(true);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "ld-composer-preview" && target.firstElementChild) {
      target.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
  });

  document.addEventListener("loopdesk:compose", function () {
    var composer = document.getElementById("ld-composer");
    if (composer) {
      composer.scrollIntoView({ block: "nearest" });
      focusEditor(composer);
    }
  });
}());
