/* Knowledge base suggestions for the customer portal: while a customer types his question,
 * public articles that hold his words are listed under the field, before he submits.
 *
 * No library, no inline code. Include it and mark the field (the page's <script> tag
 * carries the CSP nonce like every other):
 *
 *   <textarea name="text" data-kb-suggest data-kb-lang="pl"
 *             data-kb-title="Maybe this answers your question:"></textarea>
 *   <script src="/static/knowledge/kb_suggest.js" nonce="..." defer></script>
 *
 * data-kb-lang: the customer's language (default: the page's <html lang>); data-kb-title:
 * the heading in his language; data-kb-url: the endpoint (default /portal/kb/suggest).
 * Asks GET /portal/kb/suggest?q=...&lang=... at most every 400 ms, once 3 letters are typed;
 * the links open in a new tab so what he wrote stays.
 */
(function () {
  "use strict";

  function setUp(field) {
    if (field.dataset.kbReady) {
      return;
    }
    field.dataset.kbReady = "1";
    var url = field.getAttribute("data-kb-url") || "/portal/kb/suggest";
    var lang = field.getAttribute("data-kb-lang") || document.documentElement.lang || "en";
    var box = document.createElement("div");
    box.className = "kb-suggest";
    box.hidden = true;
    box.setAttribute("aria-live", "polite");
    var heading = document.createElement("p");
    heading.className = "kb-suggest-title";
    heading.textContent = field.getAttribute("data-kb-title") || "Maybe this answers your question:";
    var list = document.createElement("ul");
    box.appendChild(heading);
    box.appendChild(list);
    field.insertAdjacentElement("afterend", box);

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
      var words = field.value.replace(/\s+/g, " ").trim().slice(0, 200);
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
        .then(function (body) {
          if (mine === latest) {
            show(body.articles || []);
          }
        })
        .catch(function () { /* suggestions are a help, never in the way */ });
    }

    field.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 400);
    });
  }

  function setUpAll() {
    document.querySelectorAll("[data-kb-suggest]").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
}());
