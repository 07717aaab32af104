/*
 * Loopdesk intake forms: the browser's evaluator of `visible_if` conditions.
 *
 * The same subset of JSON Schema (draft 2020-12) the server checks with `jsonschema`
 * (forms_designer/schema.py): properties, required, const, enum, not, allOf, anyOf,
 * contains, minimum, maximum, minLength. The server decides; this only shows and hides.
 *
 *   LoopdeskForms.isVisible(condition, answers)   -> true / false for one condition
 *   LoopdeskForms.visibleKeys(schema, answers)    -> keys of the visible fields, from the top
 *                                                    (an invisible field's answer is unseen)
 * No framework; works in any browser of the last years.
 */
(function (root) {
  "use strict";

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function isNumber(value) {
    return typeof value === "number" && isFinite(value);
  }

  // JSON Schema equality: same type and value, arrays and objects element by element.
  function equal(a, b) {
    if (Array.isArray(a) || Array.isArray(b)) {
      if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
      for (var i = 0; i < a.length; i++) if (!equal(a[i], b[i])) return false;
      return true;
    }
    if (isObject(a) || isObject(b)) {
      if (!isObject(a) || !isObject(b)) return false;
      var ka = Object.keys(a), kb = Object.keys(b);
      if (ka.length !== kb.length) return false;
      for (var j = 0; j < ka.length; j++) {
        if (!Object.prototype.hasOwnProperty.call(b, ka[j]) || !equal(a[ka[j]], b[ka[j]])) return false;
      }
      return true;
    }
    return a === b;
  }

  function has(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
  }

  // Length in Unicode code points, as JSON Schema (and Python) count it.
  function codePoints(text) {
    return Array.from(text).length;
  }

  function valid(schema, value) {
    if (schema === true) return true;
    if (schema === false) return false;
    if (!isObject(schema)) return false;
    if (has(schema, "properties") && isObject(value)) {
      for (var key in schema.properties) {
        if (has(schema.properties, key) && has(value, key) && !valid(schema.properties[key], value[key])) return false;
      }
    }
    if (has(schema, "required") && isObject(value)) {
      for (var r = 0; r < schema.required.length; r++) if (!has(value, schema.required[r])) return false;
    }
    if (has(schema, "const") && !equal(value, schema["const"])) return false;
    if (has(schema, "enum")) {
      var found = false;
      for (var e = 0; e < schema["enum"].length; e++) if (equal(value, schema["enum"][e])) { found = true; break; }
      if (!found) return false;
    }
    if (has(schema, "not") && valid(schema.not, value)) return false;
    if (has(schema, "allOf")) {
      for (var a = 0; a < schema.allOf.length; a++) if (!valid(schema.allOf[a], value)) return false;
    }
    if (has(schema, "anyOf")) {
      var any = false;
      for (var o = 0; o < schema.anyOf.length; o++) if (valid(schema.anyOf[o], value)) { any = true; break; }
      if (!any) return false;
    }
    if (has(schema, "contains") && Array.isArray(value)) {
      var contained = false;
      for (var c = 0; c < value.length; c++) if (valid(schema.contains, value[c])) { contained = true; break; }
      if (!contained) return false;
    }
    if (has(schema, "minimum") && isNumber(value) && value < schema.minimum) return false;
    if (has(schema, "maximum") && isNumber(value) && value > schema.maximum) return false;
    if (has(schema, "minLength") && typeof value === "string" && codePoints(value) < schema.minLength) return false;
    return true;
  }

  function seen(answers) {
    var out = {};
    for (var key in answers) {
      if (has(answers, key) && answers[key] !== null && answers[key] !== undefined) out[key] = answers[key];
    }
    return out;
  }

  function isVisible(condition, answers) {
    if (condition === null || condition === undefined) return true;
    return valid(condition, seen(answers || {}));
  }

  var DISPLAY = { heading: true, help_text: true };

  function visibleKeys(schema, answers) {
    var keys = [], shown = {};
    answers = seen(answers || {});
    var fields = (schema && schema.fields) || [];
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (!isVisible(field.visible_if, shown)) continue;
      keys.push(field.key);
      if (field.type === "hidden") shown[field.key] = field.value;
      else if (!DISPLAY[field.type] && has(answers, field.key)) shown[field.key] = answers[field.key];
    }
    return keys;
  }

  var api = { isVisible: isVisible, visibleKeys: visibleKeys };
  root.LoopdeskForms = Object.assign(root.LoopdeskForms || {}, api);
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof window !== "undefined" ? window : globalThis);
