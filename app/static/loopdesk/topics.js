/* The topic tree's keyboard (templates/topics/tree.html): ↑/↓ (and Home/End) move the focus
   between topics, Enter or → opens one, Alt+↑ / Alt+↓ move it among its siblings (the row's
   own up/down forms are submitted, so the page works the same without this script). After a
   move the page comes back with the moved topic focused, so the keys can be pressed again.
   No inline handlers, no eval (the Content-Security-Policy allows neither). */
(function () {
  "use strict";
  var tree = document.getElementById("topic-tree");
  if (!tree) { return; }
  var rows = Array.prototype.slice.call(tree.querySelectorAll('[role="treeitem"]'));
  if (!rows.length) { return; }

  function focusRow(row) {
    rows.forEach(function (r) { r.tabIndex = -1; });
    row.tabIndex = 0;
    row.focus();
  }

  var start = null;
  if (window.location.hash) {
    start = document.getElementById(window.location.hash.slice(1));
  }
  start = start || tree.querySelector(".ld-tree-selected") || rows[0];
  start.tabIndex = 0;
  if (window.location.hash && start) { start.focus(); }

  tree.addEventListener("click", function (event) {
    var row = event.target.closest('[role="treeitem"]');
    if (row && !event.target.closest("a, button")) {
      window.location = row.querySelector(".ld-tree-name").href;
    }
  });

  tree.addEventListener("keydown", function (event) {
    var row = event.target.closest('[role="treeitem"]');
    if (!row || event.target !== row) { return; }
    var at = rows.indexOf(row);
    var key = event.key;
    if (event.altKey && (key === "ArrowUp" || key === "ArrowDown")) {
      var form = row.querySelector('form[data-move="' + (key === "ArrowUp" ? "up" : "down") + '"]');
      var button = form && form.querySelector("button");
      if (button && !button.disabled) { form.submit(); }
      event.preventDefault();
      return;
    }
    if (key === "ArrowDown" && at + 1 < rows.length) { focusRow(rows[at + 1]); }
    else if (key === "ArrowUp" && at > 0) { focusRow(rows[at - 1]); }
    else if (key === "Home") { focusRow(rows[0]); }
    else if (key === "End") { focusRow(rows[rows.length - 1]); }
    else if (key === "Enter" || key === "ArrowRight") { window.location = row.querySelector(".ld-tree-name").href; }
    else { return; }
    event.preventDefault();
  });
})();
