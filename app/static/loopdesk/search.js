// The navigation's search box: "/" focuses it from anywhere but a text field.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var tag = target && target.tagName ? target.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "textarea" || tag === "select" || (target && target.isContentEditable)) return;
    var box = document.getElementById("ld-nav-search");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });
})();
