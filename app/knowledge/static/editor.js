/* The knowledge base article editor (knowledge/editor.html).
 *
 * Each language's answer is a plain textarea ("text_<lang>") without this script; with it,
 * the reply composer's Quill editor (same formats and toolbar: bold, italic, lists, links),
 * whose HTML goes into a hidden "body_html_<lang>" field (sanitised again on the server).
 * The tab shown is remembered in the form ("language"), so a refused save comes back on it,
 * and each tab's dot says whether that language has text.
 */
(function () {
  "use strict";

  var FORMATS = ["bold", "italic", "list", "link"];
  var TOOLBAR = [["bold", "italic"], [{ list: "bullet" }, { list: "ordered" }], ["link"], ["clean"]];
  var TITLES = {
    bold: "Bold (Ctrl+B)",
    italic: "Italic (Ctrl+I)",
    "list:bullet": "Bulleted list",
    "list:ordered": "Numbered list",
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

  function markTab(code) {
    var pane = document.getElementById("kb-lang-" + code);
    var dot = document.querySelector("#kb-tab-" + code + " .kb-tab-dot");
    if (!pane || !dot) {
      return;
    }
    var title = pane.querySelector(".kb-title");
    var text = pane.querySelector("textarea");
    var filled = (title && title.value.trim()) || (text && text.value.trim());
    dot.classList.toggle("kb-tab-filled", Boolean(filled));
  }

  function setUp(box) {
    var code = box.getAttribute("data-kb-body");
    var textarea = box.querySelector("textarea");
    if (!textarea || typeof window.Quill !== "function") {
      return;
    }
    var holder = document.createElement("div");
    holder.className = "kb-quill";
    textarea.insertAdjacentElement("afterend", holder);
    textarea.hidden = true;
    var label = box.querySelector(".kb-body-label");
    if (label) {
      label.removeAttribute("for");
    }
    var html = document.createElement("input");
    html.type = "hidden";
    html.name = "body_html_" + code;
    box.appendChild(html);
    var quill = new window.Quill(holder, {
      theme: "snow",
      formats: FORMATS,
      placeholder: textarea.getAttribute("placeholder") || "",
      modules: { toolbar: TOOLBAR }
    });
    nameButtons(quill);
    quill.root.setAttribute("aria-label", "Answer");
    quill.root.setAttribute("role", "textbox");
    quill.root.setAttribute("aria-multiline", "true");
    var initial = box.getAttribute("data-initial-html");
    if (initial) {
      quill.setContents(quill.clipboard.convert({ html: initial }), "silent");
    }
    function sync() {
      var text = quill.getText().replace(/\s+$/, "");
      textarea.value = text;
      html.value = text.trim() ? quill.getSemanticHTML() : "";
      markTab(code);
    }
    quill.on("text-change", sync);
    sync();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("kb-editor");
    if (!form) {
      return;
    }
    form.querySelectorAll("[data-kb-body]").forEach(setUp);
    form.querySelectorAll(".kb-title").forEach(function (input) {
      input.addEventListener("input", function () {
        markTab(input.closest(".tab-pane").getAttribute("lang"));
      });
    });
    var remembered = document.getElementById("kb-language");
    form.querySelectorAll("[data-kb-lang]").forEach(function (tab) {
      tab.addEventListener("click", function () {
        remembered.value = tab.getAttribute("data-kb-lang");
      });
    });
    // Ctrl+S saves.
    document.addEventListener("keydown", function (event) {
      if ((event.ctrlKey || event.metaKey) && (event.key === "s" || event.key === "S")) {
        event.preventDefault();
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }
    });
  });
}());
