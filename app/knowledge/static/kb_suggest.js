/* Knowledge base suggestions for the customer portal: while a customer types his question,
 * public articles that hold his words are listed, before he submits.
 *
 * No library, no inline code. Either mark one field (the list appears under it):
 *
 *   <textarea name="text" data-kb-suggest data-kb-lang="pl"
 *             data-kb-title="Maybe this answers your question:"></textarea>
 *
 * or place the list yourself and name the fields whose words it reads (ids, space-separated):
 *
 *   <div data-kb-suggest-for="contact-subject contact-text" data-kb-lang="pl"
 *        data-kb-title="..."></div>
 *
 * and include the script (with the page's CSP nonce, like every script tag):
 *
 *   <script src="/static/knowledge/kb_suggest.js" nonce="..." defer></script>
 *
 * data-kb-lang: the customer's language (default: the page's <html lang>); data-kb-title:
 * the heading in his language; data-kb-url: the endpoint (default /portal/kb/suggest).
 * Asks GET /portal/kb/suggest?q=...&lang=... at most every 400 ms, once 3 letters are typed;
 * the links open in a new tab so what he wrote stays.
 */
(function () {
  "use strict";

  function build(box, settings) {
    box.classList.add("kb-suggest");
    box.hidden = true;
    box.setAttribute("aria-live", "polite");
    var heading = document.createElement("p");
    heading.className = "kb-suggest-title";
    heading.textContent = settings.getAttribute("data-kb-title") || "Maybe this answers your question:";
    var list = document.createElement("ul");
    box.appendChild(heading);
    box.appendChild(list);
    return list;
  }

  function connect(box, fields, settings) {
    var url = settings.getAttribute("data-kb-url") || "/portal/kb/suggest";
    var lang = settings.getAttribute("data-kb-lang") || document.documentElement.lang || "en";
    var list = build(box, settings);
    var timer = null;
    var asked = "";
    var latest = 0;

    function show(articles) {
      list.textContent = "";
      articles.forEach(function (article) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = article.url;
        link.target = "_blank";
        link.rel = "noopener";
        link.textContent = article.title;
        item.appendChild(link);
        if (article.snippet) {
          var snippet = document.createElement("small");
          snippet.textContent = article.snippet;
          item.appendChild(snippet);
        }
        list.appendChild(item);
      });
      box.hidden = articles.length === 0;
    }

    function ask() {
      var words = fields.map(function (f) { return f.value; }).join(" ")
        .replace(/\s+/g, " ").trim().slice(0, 200);
      if (words.replace(/\W/g, "").length < 3) {
        asked = "";
        show([]);
        return;
      }
      if (words === asked) {
        return;
      }
      asked = words;
      var mine = ++latest;
      var query = url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(words) +
        "&lang=" + encodeURIComponent(lang);
      window.fetch(query, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { articles: [] }; })
        .then(function (answer) {
          if (mine === latest) {
            show(answer.articles || []);
          }
        })
        .catch(function () { /* suggestions are a help, never in the way */ });
    }

    fields.forEach(function (field) {
      field.addEventListener("input", function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(ask, 400);
      });
    });
  }

  function setUpAll() {
    document.querySelectorAll("[data-kb-suggest]").forEach(function (field) {
      if (field.dataset.kbReady) {
        return;
      }
      field.dataset.kbReady = "1";
      var box = document.createElement("div");
      field.insertAdjacentElement("afterend", box);
      connect(box, [field], field);
    });
    document.querySelectorAll("[data-kb-suggest-for]").forEach(function (box) {
      if (box.dataset.kbReady) {
        return;
      }
      box.dataset.kbReady = "1";
      var fields = box.getAttribute("data-kb-suggest-for").split(/\s+/)
        .map(function (id) { return document.getElementById(id); })
        .filter(Boolean);
      if (fields.length) {
        connect(box, fields, box);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
}());
