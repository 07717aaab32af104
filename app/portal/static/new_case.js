/* The portal's new-case form: show and hide the conditional fields of the topic's form as
   the customer answers, with the same evaluator the server's rules are written for
   (forms_designer/static/forms/visible_if.js). The server decides; this only helps. */
(function () {
  "use strict";
  var holder = document.getElementById("intake-schema");
  var form = document.getElementById("new-case-form");
  if (!holder || !form || !window.LoopdeskForms) return;
  var schema = JSON.parse(holder.textContent);
  var wrappers = form.querySelectorAll(".intake-field[data-key]");

  function answerOf(wrapper) {
    var type = wrapper.getAttribute("data-type");
    var inputs = wrapper.querySelectorAll("input, select, textarea");
    if (!inputs.length) return undefined;
    if (type === "multiple_choice") {
      var picked = [];
      inputs.forEach(function (i) { if (i.checked) picked.push(i.value); });
      return picked.length ? picked : undefined;
    }
    if (type === "single_choice") {
      var chosen;
      inputs.forEach(function (i) { if (i.checked) chosen = i.value; });
      return chosen;
    }
    if (type === "checkbox") return inputs[0].checked;
    if (type === "file") return inputs[0].files && inputs[0].files.length ? inputs[0].files[0].name : undefined;
    var value = (inputs[0].value || "").trim();
    if (!value) return undefined;
    if (type === "number") {
      var number = Number(value.replace(",", "."));
      return isFinite(number) ? number : undefined;
    }
    return value;
  }

  function update() {
    var answers = {};
    wrappers.forEach(function (w) {
      var value = answerOf(w);
      if (value !== undefined) answers[w.getAttribute("data-key")] = value;
    });
    var visible = {};
    window.LoopdeskForms.visibleKeys(schema, answers).forEach(function (k) { visible[k] = true; });
    wrappers.forEach(function (w) {
      var show = !!visible[w.getAttribute("data-key")];
      w.hidden = !show;
      w.querySelectorAll("input, select, textarea").forEach(function (i) { i.disabled = !show; });
    });
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
