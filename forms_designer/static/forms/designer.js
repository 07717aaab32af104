/* The intake-form designer (forms_designer/templates/forms_designer/designer.html).
 *
 * One state object (the form's schema, see the README) drawn into four places: the palette of
 * field types, the form (a list of field cards), the side panel of the selected field and the
 * live preview as the customer sees it. Fields come onto the form and change places by drag
 * and drop (Sortable.js, vendored) *and* by keyboard (Enter on a palette item adds it;
 * Alt+ArrowUp/Down moves the focused field; the move buttons do the same); every move is
 * announced in an aria-live region. Conditions are built with a small rule editor and stored
 * as the JSON Schema fragment `visible_if`, which the preview evaluates with the same code as
 * the portal (visible_if.js, window.LoopdeskForms.isVisible) and the server checks again.
 *
 * The server decides: "Save draft" and "Publish" POST the schema as JSON (CSRF token in the
 * X-CSRFToken header); a refusal lists problems, each shown next to the field it names.
 */
(function () {
  "use strict";

  var root = document.getElementById("fd-root");
  if (!root) return;
  var boot = JSON.parse(document.getElementById("fd-boot").textContent);
  var readonly = !!boot.readonly;

  // ---- Field types -------------------------------------------------------------------
  var TYPES = boot.types;  // {type: {name, icon}} (forms_designer.designer.PALETTE)
  // Which properties the side panel offers for each type.
  var PROPS = {
    short_text: ["required", "min_length", "max_length", "pattern"],
    long_text: ["required", "min_length", "max_length", "pattern"],
    email: ["required", "max_length"],
    phone: ["required", "pattern"],
    number: ["required", "minimum", "maximum"],
    date: ["required"],
    single_choice: ["required", "options"],
    multiple_choice: ["required", "options"],
    dropdown: ["required", "dictionary_id"],
    checkbox: ["required"],
    file: ["required", "accept", "max_size_mb"],
    heading: [],
    help_text: [],
    hidden: ["value"]
  };
  var NO_HELP = { heading: 1, help_text: 1, hidden: 1 };
  var NO_LABEL = { hidden: 1 };
  var NO_CONDITION = { hidden: 1 };
  var NOT_ANSWERS = { heading: 1, help_text: 1, file: 1 };  // conditions cannot refer to them
  var CHOICES = { single_choice: 1, multiple_choice: 1, dropdown: 1 };
  var NUMBERS = { min_length: 1, max_length: 1, minimum: 1, maximum: 1, max_size_mb: 1 };
  var LIMIT_LABELS = {
    min_length: "Min. length",
    max_length: "Max. length",
    pattern: "Pattern (regular expression)",
    minimum: "Minimum",
    maximum: "Maximum",
    accept: "Accepted file types (e.g. .pdf,.jpg)",
    max_size_mb: "Max. size (MB)",
    value: "Value sent with every answer"
  };
  var OPERATORS = {
    equals: "equals",
    one_of: "is one of",
    contains: "contains",
    checked: "is checked",
    between: "is between"
  };

  var LANG_NAMES = boot.language_names || {};
  var dictionaries = boot.dictionaries || [];
  var uidSeq = 0;
  var state = load(boot.schema || {});
  var selected = state.fields.length ? state.fields[0]._uid : null;
  var editLang = state.languages[0];
  var previewLang = state.languages[0];
  var previewAnswers = {};
  var problems = { general: [], byKey: {} };
  var dirty = false;
  var lastDrag = 0;
  var undo = null;

  // ---- Helpers -----------------------------------------------------------------------
  function $(id) { return document.getElementById(id); }

  /* h("div", {class: "x", text: "y"}, [children]): a DOM element; text is never HTML. */
  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name === "class") node.className = value;
      else if (name === "checked" || name === "selected" || name === "disabled") node[name] = !!value;
      else if (name === "value") node.value = value;
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function icon(name) { return h("i", { class: "fa " + name, "aria-hidden": "true" }); }

  function clone(value) { return JSON.parse(JSON.stringify(value)); }

  function load(schema) {
    var languages = (schema.languages && schema.languages.length) ? schema.languages.slice() : ["en"];
    var fields = (schema.fields || []).map(function (field) {
      var copy = clone(field);
      copy._uid = "f" + (++uidSeq);
      copy.label = copy.label || {};
      copy.help = copy.help || {};
      return copy;
    });
    return { languages: languages, fields: fields };
  }

  function byUid(uid) {
    for (var i = 0; i < state.fields.length; i++) if (state.fields[i]._uid === uid) return state.fields[i];
    return null;
  }

  function indexOf(uid) {
    for (var i = 0; i < state.fields.length; i++) if (state.fields[i]._uid === uid) return i;
    return -1;
  }

  function byKey(key) {
    for (var i = 0; i < state.fields.length; i++) if (state.fields[i].key === key) return state.fields[i];
    return null;
  }

  function text(map, lang) {
    if (!map) return "";
    if (map[lang]) return map[lang];
    return "";
  }

  /* The label to show for a field anywhere in the designer (its key when it has none). */
  function title(field, lang) {
    return text(field.label, lang || editLang) || text(field.label, state.languages[0]) ||
      (field.type === "hidden" ? field.key : TYPES[field.type].name);
  }

  function uniqueKey(base) {
    var key = base, n = 1;
    while (byKey(key)) key = base + "_" + (++n);
    return key;
  }

  function missingLanguages(field) {
    if (NO_LABEL[field.type]) return [];
    return state.languages.filter(function (lang) {
      if (!text(field.label, lang)) return true;
      if (CHOICES[field.type] && field.type !== "dropdown") {
        return (field.options || []).some(function (o) { return !text(o.label, lang); });
      }
      return false;
    });
  }

  /* The schema as the server gets it: no designer bookkeeping, no empty values, only the
     form's languages. */
  function serialise() {
    var langs = state.languages;
    function texts(map) {
      var out = {};
      langs.forEach(function (lang) { if (map && map[lang]) out[lang] = map[lang]; });
      return out;
    }
    return {
      languages: langs.slice(),
      fields: state.fields.map(function (field) {
        var out = { key: field.key, type: field.type };
        if (!NO_LABEL[field.type]) out.label = texts(field.label);
        if (!NO_HELP[field.type] && Object.keys(texts(field.help)).length) out.help = texts(field.help);
        PROPS[field.type].forEach(function (prop) {
          var value = field[prop];
          if (prop === "required") { out.required = !!value; return; }
          if (prop === "options") {
            out.options = (value || []).map(function (o) { return { value: o.value, label: texts(o.label) }; });
            return;
          }
          if (value === undefined || value === null || value === "") return;
          if (prop === "accept") {
            value = String(value).split(",").map(function (s) { return s.trim().toLowerCase(); }).filter(Boolean);
            if (!value.length) return;
          }
          out[prop] = value;
        });
        if (field.visible_if && !NO_CONDITION[field.type]) out.visible_if = field.visible_if;
        return out;
      })
    };
  }

  function announce(message) {
    var live = $("fd-live");
    live.textContent = "";
    window.setTimeout(function () { live.textContent = message; }, 30);
  }

  function markDirty() {
    if (readonly) return;
    dirty = true;
    $("fd-save-state").textContent = "Unsaved changes";
    $("fd-save-state").className = "fd-save-state fd-unsaved";
  }

  // ---- Conditions: the rule editor <-> the visible_if fragment ------------------------
  function ruleFragment(rule) {
    var field = byKey(rule.field);
    var prop;
    if (rule.op === "checked") prop = { "const": true };
    else if (rule.op === "one_of") prop = { "enum": (rule.values || []).slice() };
    else if (rule.op === "contains") prop = { contains: { "const": rule.value } };
    else if (rule.op === "between") {
      prop = {};
      if (rule.min !== "" && rule.min !== undefined && rule.min !== null) prop.minimum = Number(rule.min);
      if (rule.max !== "" && rule.max !== undefined && rule.max !== null) prop.maximum = Number(rule.max);
    } else {
      var value = rule.value;
      if (field && field.type === "number" && value !== "" && !isNaN(Number(value))) value = Number(value);
      prop = { "const": value === undefined ? "" : value };
    }
    var properties = {};
    properties[rule.field] = prop;
    var fragment = { properties: properties, required: [rule.field] };
    return rule.not ? { not: fragment } : fragment;
  }

  function buildCondition(rules, match) {
    var parts = rules.filter(function (r) { return r.field && byKey(r.field); }).map(ruleFragment);
    if (!parts.length) return null;
    if (parts.length === 1) return parts[0];
    return match === "any" ? { anyOf: parts } : { allOf: parts };
  }

  function matchOf(condition) {
    return condition && Object.keys(condition).length === 1 && Array.isArray(condition.anyOf) ? "any" : "all";
  }

  function parseRule(fragment) {
    var rule = { not: false };
    if (fragment && Object.keys(fragment).length === 1 && fragment.not) {
      rule.not = true;
      fragment = fragment.not;
    }
    if (!fragment || typeof fragment !== "object" || !fragment.properties) return null;
    var keys = Object.keys(fragment.properties);
    var extra = Object.keys(fragment).filter(function (k) { return k !== "properties" && k !== "required"; });
    if (keys.length !== 1 || extra.length) return null;
    var key = keys[0];
    if (!fragment.required || fragment.required.length !== 1 || fragment.required[0] !== key) return null;
    var prop = fragment.properties[key] || {};
    var names = Object.keys(prop).sort().join(",");
    rule.field = key;
    if (names === "const" && prop["const"] === true && (byKey(key) || {}).type === "checkbox") rule.op = "checked";
    else if (names === "const") { rule.op = "equals"; rule.value = prop["const"]; }
    else if (names === "enum" && Array.isArray(prop["enum"])) { rule.op = "one_of"; rule.values = prop["enum"].slice(); }
    else if (names === "contains" && prop.contains && Object.keys(prop.contains).join() === "const") {
      rule.op = "contains"; rule.value = prop.contains["const"];
    } else if (names === "maximum" || names === "minimum" || names === "maximum,minimum") {
      rule.op = "between";
      rule.min = prop.minimum === undefined ? "" : prop.minimum;
      rule.max = prop.maximum === undefined ? "" : prop.maximum;
    } else return null;
    return rule;
  }

  /* The rules of a condition, or null when the builder cannot show it (written by hand). */
  function parseCondition(condition) {
    if (!condition) return [];
    var single = Object.keys(condition).length === 1;
    var parts = single && Array.isArray(condition.allOf) ? condition.allOf :
                single && Array.isArray(condition.anyOf) ? condition.anyOf : [condition];
    var rules = [];
    for (var i = 0; i < parts.length; i++) {
      var rule = parseRule(parts[i]);
      if (!rule) return null;
      rules.push(rule);
    }
    return rules;
  }

  /* A renamed key follows into every condition that names it. */
  function renameInCondition(node, from, to) {
    if (Array.isArray(node)) return node.map(function (n) { return renameInCondition(n, from, to); });
    if (!node || typeof node !== "object") return node;
    var out = {};
    Object.keys(node).forEach(function (name) {
      var value = node[name];
      if (name === "properties" && value && typeof value === "object") {
        var props = {};
        Object.keys(value).forEach(function (k) { props[k === from ? to : k] = renameInCondition(value[k], from, to); });
        out[name] = props;
      } else if (name === "required" && Array.isArray(value)) {
        out[name] = value.map(function (k) { return k === from ? to : k; });
      } else out[name] = renameInCondition(value, from, to);
    });
    return out;
  }

  function conditionNames(condition) {
    var found = [];
    (function walk(node) {
      if (Array.isArray(node)) { node.forEach(walk); return; }
      if (!node || typeof node !== "object") return;
      if (node.properties) Object.keys(node.properties).forEach(function (k) { if (found.indexOf(k) < 0) found.push(k); });
      Object.keys(node).forEach(function (k) { walk(node[k]); });
    })(condition);
    return found;
  }

  function conditionSummary(field) {
    var rules = parseCondition(field.visible_if);
    if (!rules) return "Shown when a hand-written condition holds";
    return "Shown when " + rules.map(function (rule) {
      var ref = byKey(rule.field);
      var name = ref ? title(ref) : rule.field;
      var what;
      if (rule.op === "checked") what = "is checked";
      else if (rule.op === "one_of") what = "is one of " + (rule.values || []).join(", ");
      else if (rule.op === "between") what = "is between " + rule.min + " and " + rule.max;
      else what = OPERATORS[rule.op] + " " + optionTitle(ref, rule.value);
      return "“" + name + "” " + (rule.not ? "not " : "") + what;
    }).join(matchOf(field.visible_if) === "any" ? " or " : " and ");
  }

  function optionsOf(field) {
    if (!field) return [];
    if (field.type === "dropdown") {
      var dict = dictionaryById(field.dictionary_id);
      return dict ? dict.values.map(function (v) { return { value: v, label: {} }; }) : [];
    }
    return field.options || [];
  }

  function optionTitle(field, value) {
    var match = optionsOf(field).filter(function (o) { return o.value === value; })[0];
    return match ? (text(match.label, editLang) || String(value)) : String(value);
  }

  function dictionaryById(id) {
    for (var i = 0; i < dictionaries.length; i++) if (String(dictionaries[i].id) === String(id)) return dictionaries[i];
    return null;
  }

  // ---- Changing the form ---------------------------------------------------------------
  function newField(type) {
    var field = { _uid: "f" + (++uidSeq), key: uniqueKey(type), type: type, label: {}, help: {} };
    if (!NO_LABEL[type]) field.label[state.languages[0]] = type === "heading" ? "New section" : TYPES[type].name;
    if (PROPS[type].indexOf("required") >= 0) field.required = false;
    if (type === "single_choice" || type === "multiple_choice") {
      field.options = [1, 2].map(function (n) {
        var label = {};
        label[state.languages[0]] = "Option " + n;
        return { value: "option_" + n, label: label };
      });
    }
    if (type === "dropdown" && dictionaries.length) field.dictionary_id = dictionaries[0].id;
    if (type === "hidden") field.value = "";
    return field;
  }

  function addField(type, index, how) {
    if (readonly || !TYPES[type]) return null;
    var field = newField(type);
    if (index === undefined || index === null || index < 0 || index > state.fields.length) {
      index = state.fields.length;  // the palette's Enter adds at the end; Alt+arrows move it
    }
    state.fields.splice(index, 0, field);
    selected = field._uid;
    changed();
    announce("Added " + TYPES[type].name + (how ? " (" + how + ")" : "") + " as field " + (index + 1) +
             " of " + state.fields.length + ".");
    return field;
  }

  function moveTo(uid, to, how) {
    var from = indexOf(uid);
    if (from < 0 || to < 0 || to >= state.fields.length || to === from) {
      if (from >= 0 && how === "keyboard") announce("“" + title(state.fields[from]) + "” is already " + (to < 0 ? "first." : "last."));
      return;
    }
    var field = state.fields.splice(from, 1)[0];
    state.fields.splice(to, 0, field);
    changed();
    announce("Moved “" + title(field) + "” to position " + (to + 1) + " of " + state.fields.length + ".");
  }

  function removeField(uid) {
    var at = indexOf(uid);
    if (at < 0) return;
    var field = state.fields[at];
    undo = { field: field, index: at };
    state.fields.splice(at, 1);
    var next = state.fields[at] || state.fields[at - 1];
    selected = next ? next._uid : null;
    changed();
    showToast("Removed “" + title(field) + "”.", "Undo", function () {
      if (!undo) return;
      state.fields.splice(Math.min(undo.index, state.fields.length), 0, undo.field);
      selected = undo.field._uid;
      undo = null;
      changed();
      focusCard(selected);
      announce("Restored “" + title(byUid(selected)) + "”.");
    });
    announce("Removed “" + title(field) + "”. " + state.fields.length + " fields left.");
    if (next) focusCard(next._uid);
  }

  function duplicateField(uid) {
    var at = indexOf(uid);
    if (at < 0) return;
    var copy = clone(state.fields[at]);
    delete copy._rules;
    copy._uid = "f" + (++uidSeq);
    copy.key = uniqueKey(state.fields[at].key + "_copy");
    state.fields.splice(at + 1, 0, copy);
    selected = copy._uid;
    changed();
    focusCard(copy._uid);
    announce("Copied “" + title(copy) + "” as field " + (at + 2) + ".");
  }

  /* After any change of order or content: redraw the form, the panel and the preview. */
  function changed(opts) {
    markDirty();
    renderCanvas();
    if (!opts || !opts.keepPanel) renderPanel();
    renderPreview();
  }

  // ---- The form (cards) ----------------------------------------------------------------
  function sample(field) {
    var lang = editLang;
    switch (field.type) {
      case "long_text": return h("div", { class: "fd-fake fd-fake-area" });
      case "single_choice":
      case "multiple_choice":
        return h("ul", { class: "fd-fake-options" }, (field.options || []).slice(0, 4).map(function (o) {
          return h("li", {}, [icon(field.type === "single_choice" ? "fa-circle-o" : "fa-square-o"), " ",
                              text(o.label, lang) || o.value]);
        }).concat((field.options || []).length > 4 ? [h("li", { class: "fd-more", text: "+ " + (field.options.length - 4) + " more" })] : []));
      case "dropdown":
        var dict = dictionaryById(field.dictionary_id);
        return h("div", { class: "fd-fake fd-fake-select" }, [dict ? dict.name + " (" + dict.values.length + " values)" : "No dictionary chosen", icon("fa-caret-down")]);
      case "checkbox": return null;
      case "file": return h("div", { class: "fd-fake fd-fake-file" }, [icon("fa-upload"), " Choose a file…"]);
      case "heading": case "help_text": return null;
      case "hidden": return h("div", { class: "fd-fake-hidden" }, ["= ", h("code", { text: field.value || "(empty)" })]);
      case "date": return h("div", { class: "fd-fake" }, [icon("fa-calendar"), " yyyy-mm-dd"]);
      default: return h("div", { class: "fd-fake" });
    }
  }

  function card(field, index) {
    var type = TYPES[field.type];
    var errors = problems.byKey[field.key] || [];
    var missing = missingLanguages(field);
    var label = title(field);
    var meta = [
      h("span", { class: "fd-type" }, [icon(type.icon), " " + type.name]),
      h("code", { class: "fd-key", text: field.key })
    ];
    if (field.required) meta.push(h("span", { class: "fd-chip fd-chip-req", text: "Required" }));
    if (field.visible_if) meta.push(h("span", { class: "fd-chip fd-chip-cond", title: conditionSummary(field) }, [icon("fa-code-fork"), " Conditional"]));
    if (missing.length) meta.push(h("span", { class: "fd-chip fd-chip-lang", title: "Texts missing in: " + missing.map(langName).join(", ") }, [icon("fa-language"), " " + missing.join(" ").toUpperCase()]));
    var labelNode;
    if (field.type === "heading") labelNode = h("div", { class: "fd-card-heading", text: label });
    else if (field.type === "help_text") labelNode = h("div", { class: "fd-card-helptext", text: text(field.label, editLang) || "(no text)" });
    else if (field.type === "checkbox") labelNode = h("div", { class: "fd-card-label" }, [icon("fa-square-o"), " ", label, field.required ? h("span", { class: "fd-req", text: " *" }) : null]);
    else labelNode = h("div", { class: "fd-card-label" }, [label, field.required ? h("span", { class: "fd-req", text: " *" }) : null]);

    var tools = readonly ? null : h("div", { class: "fd-card-tools" }, [
      toolButton("up", "fa-arrow-up", "Move up (Alt+↑)", index === 0),
      toolButton("down", "fa-arrow-down", "Move down (Alt+↓)", index === state.fields.length - 1),
      toolButton("copy", "fa-clone", "Duplicate"),
      toolButton("remove", "fa-trash", "Remove (Delete)")
    ]);
    var node = h("li", {
      class: "fd-card" + (field._uid === selected ? " fd-selected" : "") + (errors.length ? " fd-invalid" : "") +
             (field.type === "heading" ? " fd-card-section" : ""),
      "data-uid": field._uid,
      tabindex: "0",
      "aria-label": type.name + ": " + label + ", field " + (index + 1) + " of " + state.fields.length +
                    (field.required ? ", required" : "") + (field.visible_if ? ", conditional" : "") +
                    (errors.length ? ", " + errors.length + " problem" + (errors.length > 1 ? "s" : "") : ""),
      "aria-describedby": readonly ? null : "fd-kbd-help"
    }, [
      readonly ? null : h("span", { class: "fd-handle", "aria-hidden": "true", title: "Drag to move" }, [icon("fa-grip-vertical")]),
      h("div", { class: "fd-card-main" }, [
        h("div", { class: "fd-card-meta" }, meta),
        labelNode,
        sample(field),
        errors.length ? h("ul", { class: "fd-card-errors" }, errors.map(function (m) { return h("li", {}, [icon("fa-exclamation-circle"), " " + m]); })) : null
      ]),
      tools
    ]);
    return node;
  }

  function toolButton(action, iconName, label, disabled) {
    return h("button", { type: "button", class: "fd-tool", "data-action": action, title: label, "aria-label": label, disabled: !!disabled }, [icon(iconName)]);
  }

  function langName(code) { return LANG_NAMES[code] || code; }

  function renderCanvas() {
    var list = $("fd-canvas-list");
    var focusedUid = document.activeElement && document.activeElement.closest && document.activeElement.closest(".fd-card") ?
      document.activeElement.closest(".fd-card").getAttribute("data-uid") : null;
    list.textContent = "";
    state.fields.forEach(function (field, i) { list.appendChild(card(field, i)); });
    $("fd-empty").hidden = state.fields.length > 0;
    $("fd-count").textContent = state.fields.length + (state.fields.length === 1 ? " field" : " fields");
    renderGeneralProblems();
    if (focusedUid) focusCard(focusedUid);
  }

  function focusCard(uid) {
    var node = $("fd-canvas-list").querySelector('.fd-card[data-uid="' + uid + '"]');
    if (node) { node.focus(); node.scrollIntoView({ block: "nearest" }); }
  }

  function select(uid) {
    if (selected === uid) return;
    selected = uid;
    Array.prototype.forEach.call($("fd-canvas-list").children, function (node) {
      node.classList.toggle("fd-selected", node.getAttribute("data-uid") === uid);
    });
    renderPanel();
  }

  function renderGeneralProblems() {
    var box = $("fd-problems");
    var wasHidden = box.hidden;
    window.setTimeout(function () { if (box.hidden !== wasHidden) fitHeight(); }, 0);
    var all = problems.general.slice();
    var keyed = Object.keys(problems.byKey).reduce(function (n, k) { return n + problems.byKey[k].length; }, 0);
    box.textContent = "";
    if (!all.length && !keyed) { box.hidden = true; return; }
    box.hidden = false;
    box.appendChild(h("strong", {}, [icon("fa-exclamation-triangle"), " Not saved: the desk cannot serve this form yet."]));
    var items = all.map(function (m) { return h("li", { text: m }); });
    if (keyed) items.push(h("li", { text: keyed + " problem" + (keyed > 1 ? "s" : "") + " marked on the fields below." }));
    box.appendChild(h("ul", {}, items));
  }

  // ---- The side panel ------------------------------------------------------------------
  function renderPanel() {
    var panel = $("fd-panel");
    panel.textContent = "";
    var field = byUid(selected);
    if (!field) {
      panel.appendChild(h("div", { class: "fd-panel-empty" }, [
        icon("fa-hand-pointer-o"),
        h("p", { text: readonly ? "Select a field to see its properties." : "Select a field on the form to edit it, or add one from the palette." })
      ]));
      return;
    }
    var type = TYPES[field.type];
    var index = indexOf(field._uid);
    var body = h("fieldset", { class: "fd-panel-body", disabled: readonly });
    panel.appendChild(h("div", { class: "fd-panel-head" }, [
      h("span", { class: "fd-panel-icon" }, [icon(type.icon)]),
      h("div", {}, [h("h2", { id: "fd-panel-title", text: type.name }), h("span", { class: "fd-muted", text: "Field " + (index + 1) + " of " + state.fields.length })])
    ]));
    var errors = problems.byKey[field.key] || [];
    if (errors.length) {
      panel.appendChild(h("div", { class: "fd-panel-errors", role: "alert", id: "fd-field-errors" },
        [h("ul", {}, errors.map(function (m) { return h("li", {}, [icon("fa-exclamation-circle"), " " + m]); }))]));
    }
    panel.appendChild(body);

    // Texts per language.
    if (!NO_LABEL[field.type]) {
      var texts = section("Texts");
      var tabs = h("div", { class: "fd-lang-tabs", role: "tablist", "aria-label": "Language of the texts" });
      state.languages.forEach(function (lang) {
        var missing = !text(field.label, lang);
        tabs.appendChild(h("button", {
          type: "button", role: "tab", class: "fd-lang-tab" + (lang === editLang ? " active" : ""),
          "aria-selected": lang === editLang ? "true" : "false", "data-lang": lang, id: "fd-tab-" + lang,
          title: langName(lang) + (missing ? " (text missing)" : "")
        }, [lang.toUpperCase(), missing ? h("span", { class: "fd-dot", "aria-label": "missing" }) : null]));
      });
      texts.appendChild(tabs);
      var pane = h("div", { role: "tabpanel", "aria-labelledby": "fd-tab-" + editLang, class: "fd-lang-pane" });
      var labelName = field.type === "heading" ? "Heading" : field.type === "help_text" ? "Text" : "Question";
      if (field.type === "help_text") pane.appendChild(control("textarea", "fd-p-label", labelName + " (" + langName(editLang) + ")", text(field.label, editLang), { "data-bind": "label", rows: "4" }));
      else pane.appendChild(control("input", "fd-p-label", labelName + " (" + langName(editLang) + ")", text(field.label, editLang), { "data-bind": "label" }));
      if (!NO_HELP[field.type]) pane.appendChild(control("textarea", "fd-p-help", "Help under the question", text(field.help, editLang), { "data-bind": "help", rows: "2" }));
      texts.appendChild(pane);
      body.appendChild(texts);
    }

    // Answer: key, required, limits.
    var answer = section("Answer");
    answer.appendChild(control("input", "fd-p-key", "Key", field.key, {
      "data-bind": "key", spellcheck: "false", autocomplete: "off", class: "form-control fd-mono",
      hint: "Names the answer in conditions, reports and the API."
    }));
    var props = PROPS[field.type];
    if (props.indexOf("required") >= 0) {
      answer.appendChild(h("label", { class: "fd-switch" }, [
        h("input", { type: "checkbox", id: "fd-p-required", "data-bind": "required", checked: !!field.required }),
        h("span", { class: "fd-switch-track", "aria-hidden": "true" }),
        field.type === "checkbox" ? " Must be ticked" : " Required"
      ]));
    }
    var limits = props.filter(function (p) { return LIMIT_LABELS[p]; });
    if (limits.length) {
      var grid = h("div", { class: "fd-limits" });
      limits.forEach(function (prop) {
        var attrs = { "data-bind": prop };
        if (NUMBERS[prop]) { attrs.type = "number"; attrs.step = prop === "max_size_mb" ? "0.1" : "1"; if (prop !== "minimum" && prop !== "maximum") attrs.min = "0"; }
        if (prop === "pattern" || prop === "accept" || prop === "value") attrs.class = "form-control fd-mono";
        grid.appendChild(control("input", "fd-p-" + prop, LIMIT_LABELS[prop], field[prop] === undefined || field[prop] === null ? "" : field[prop], attrs));
      });
      answer.appendChild(grid);
    }
    body.appendChild(answer);

    if (props.indexOf("options") >= 0) body.appendChild(optionsEditor(field));
    if (props.indexOf("dictionary_id") >= 0) body.appendChild(dictionaryPicker(field));
    if (!NO_CONDITION[field.type]) body.appendChild(conditionEditor(field));

    var json = h("details", { class: "fd-json" }, [
      h("summary", { text: "JSON of this field (read-only)" }),
      h("pre", { id: "fd-field-json", tabindex: "0" })
    ]);
    panel.appendChild(json);
    updateJson();
  }

  function updateJson() {
    var node = $("fd-field-json");
    var at = indexOf(selected);
    if (node && at >= 0) node.textContent = JSON.stringify(serialise().fields[at], null, 2);
  }

  function section(name) {
    return h("section", { class: "fd-section" }, [h("h3", { text: name })]);
  }

  function control(tag, id, labelText, value, attrs) {
    attrs = attrs || {};
    var hint = attrs.hint;
    delete attrs.hint;
    var input = h(tag, Object.assign({ id: id, class: "form-control" }, attrs));
    if (tag === "textarea") input.value = value === undefined || value === null ? "" : value;
    else { if (!attrs.type) input.type = "text"; input.value = value === undefined || value === null ? "" : value; }
    if (hint) input.setAttribute("aria-describedby", id + "-hint");
    return h("div", { class: "fd-control" }, [
      h("label", { for: id, text: labelText }),
      input,
      hint ? h("div", { class: "fd-hint", id: id + "-hint", text: hint }) : null
    ]);
  }

  function optionsEditor(field) {
    var box = section("Options");
    box.appendChild(h("p", { class: "fd-hint", text: "The value is stored and used in conditions; the label is what the customer reads (" + langName(editLang) + ")." }));
    var list = h("ol", { class: "fd-options", id: "fd-options" });
    (field.options || []).forEach(function (option, i) {
      list.appendChild(h("li", { class: "fd-option" }, [
        h("input", { class: "form-control fd-mono fd-opt-value", value: option.value, "data-bind": "opt-value", "data-index": i, "aria-label": "Value of option " + (i + 1) }),
        h("input", { class: "form-control fd-opt-label", value: text(option.label, editLang), "data-bind": "opt-label", "data-index": i,
                     "aria-label": "Label of option " + (i + 1) + " (" + langName(editLang) + ")", placeholder: langName(editLang) }),
        h("button", { type: "button", class: "fd-tool", "data-action": "opt-up", "data-index": i, title: "Move option up", "aria-label": "Move option " + (i + 1) + " up", disabled: i === 0 }, [icon("fa-arrow-up")]),
        h("button", { type: "button", class: "fd-tool", "data-action": "opt-remove", "data-index": i, title: "Remove option", "aria-label": "Remove option " + (i + 1) }, [icon("fa-times")])
      ]));
    });
    box.appendChild(list);
    box.appendChild(h("button", { type: "button", class: "btn btn-default btn-sm", "data-action": "opt-add" }, [icon("fa-plus"), " Add option"]));
    return box;
  }

  function dictionaryPicker(field) {
    var box = section("Dictionary");
    var selectNode = h("select", { id: "fd-p-dictionary", class: "form-control", "data-bind": "dictionary_id" },
      [h("option", { value: "", text: "— choose a dictionary —" })].concat(dictionaries.map(function (d) {
        return h("option", { value: String(d.id), text: d.name + " (" + d.values.length + ")", selected: String(d.id) === String(field.dictionary_id) });
      })));
    box.appendChild(h("div", { class: "fd-control" }, [h("label", { for: "fd-p-dictionary", text: "Values come from" }), selectNode]));
    var dict = dictionaryById(field.dictionary_id);
    if (dict) box.appendChild(h("p", { class: "fd-hint", text: dict.values.slice(0, 6).join(" · ") + (dict.values.length > 6 ? " …" : "") }));
    if (!dictionaries.length) box.appendChild(h("p", { class: "fd-hint", text: "No dictionary yet: add one under Questionnaires → Dictionaries." }));
    return box;
  }

  function conditionEditor(field) {
    var box = section("Condition");
    box.id = "fd-condition";
    if (field._rules === undefined) field._rules = parseCondition(field.visible_if);
    if (field._match === undefined) field._match = matchOf(field.visible_if);
    var rules = field._rules;
    if (rules === null) {
      box.appendChild(h("p", { class: "fd-hint", text: "This condition was written by hand; the builder cannot show it. It still works and the server checks it." }));
      box.appendChild(h("pre", { class: "fd-cond-json", text: JSON.stringify(field.visible_if, null, 2) }));
      box.appendChild(h("button", { type: "button", class: "btn btn-default btn-sm", "data-action": "cond-clear" }, [icon("fa-times"), " Remove the condition"]));
      return box;
    }
    var conditional = !!(rules.length || field._conditional);
    var radios = h("div", { class: "fd-seg", role: "radiogroup", "aria-label": "When to show this field" }, [
      h("label", { class: !conditional ? "active" : "" }, [h("input", { type: "radio", name: "fd-cond-mode", value: "always", checked: !conditional, "data-bind": "cond-mode", id: "fd-cond-always" }), " Always shown"]),
      h("label", { class: conditional ? "active" : "" }, [h("input", { type: "radio", name: "fd-cond-mode", value: "when", checked: conditional, "data-bind": "cond-mode", id: "fd-cond-when" }), " Only when…"])
    ]);
    box.appendChild(radios);
    if (!conditional) return box;
    var candidates = state.fields.slice(0, indexOf(field._uid)).filter(function (f) { return !NOT_ANSWERS[f.type]; });
    if (!candidates.length) {
      box.appendChild(h("p", { class: "fd-hint", text: "A condition names a question above this one; move this field below the question it depends on." }));
      return box;
    }
    var list = h("ol", { class: "fd-rules" });
    rules.forEach(function (rule, i) { list.appendChild(ruleRow(rule, i, candidates)); });
    box.appendChild(list);
    box.appendChild(h("div", { class: "fd-rule-foot" }, [
      h("button", { type: "button", class: "btn btn-default btn-sm", "data-action": "rule-add" }, [icon("fa-plus"), rules.length ? " And another rule" : " Add a rule"]),
      rules.length > 1 ? h("select", { class: "form-control input-sm fd-match", id: "fd-cond-match", "data-bind": "cond-match", "aria-label": "How the rules combine" }, [
        h("option", { value: "all", text: "All rules must hold", selected: field._match !== "any" }),
        h("option", { value: "any", text: "Any rule is enough", selected: field._match === "any" })
      ]) : null
    ]));
    if (field.visible_if) box.appendChild(h("p", { class: "fd-cond-summary", id: "fd-cond-summary", text: conditionSummary(field) + "." }));
    return box;
  }

  function operatorsFor(ref) {
    if (!ref) return ["equals"];
    if (ref.type === "checkbox") return ["checked"];
    if (ref.type === "multiple_choice") return ["contains"];
    if (ref.type === "number") return ["equals", "between", "one_of"];
    return ["equals", "one_of"];
  }

  function ruleJoinWord() {
    var field = byUid(selected);
    return field && field._match === "any" ? "or" : "and";
  }

  function ruleRow(rule, i, candidates) {
    var ref = byKey(rule.field);
    var fieldSelect = h("select", { class: "form-control", "data-bind": "rule-field", "data-index": i, "aria-label": "Rule " + (i + 1) + ": question", id: "fd-rule-" + i + "-field" },
      [h("option", { value: "", text: "— question —" })].concat(candidates.map(function (f) {
        return h("option", { value: f.key, text: title(f), selected: f.key === rule.field });
      })));
    var ops = operatorsFor(ref);
    if (ops.indexOf(rule.op) < 0) rule.op = ops[0];
    var opSelect = h("select", { class: "form-control fd-op", "data-bind": "rule-op", "data-index": i, "aria-label": "Rule " + (i + 1) + ": operator", id: "fd-rule-" + i + "-op" },
      ops.map(function (op) { return h("option", { value: op, text: OPERATORS[op], selected: op === rule.op }); }));
    var value = null;
    var options = optionsOf(ref);
    var valueLabel = "Rule " + (i + 1) + ": value";
    if (rule.op === "checked") value = null;
    else if (rule.op === "between") {
      value = h("div", { class: "fd-between" }, [
        h("input", { type: "number", class: "form-control", value: rule.min === undefined ? "" : rule.min, "data-bind": "rule-min", "data-index": i, "aria-label": "Rule " + (i + 1) + ": from", placeholder: "from" }),
        h("span", { text: "and" }),
        h("input", { type: "number", class: "form-control", value: rule.max === undefined ? "" : rule.max, "data-bind": "rule-max", "data-index": i, "aria-label": "Rule " + (i + 1) + ": to", placeholder: "to" })
      ]);
    } else if (rule.op === "one_of" && options.length) {
      value = h("div", { class: "fd-oneof", role: "group", "aria-label": valueLabel }, options.map(function (o, j) {
        return h("label", {}, [h("input", { type: "checkbox", value: o.value, checked: (rule.values || []).indexOf(o.value) >= 0, "data-bind": "rule-values", "data-index": i }), " " + (text(o.label, editLang) || o.value)]);
      }));
    } else if (rule.op === "one_of") {
      value = h("input", { class: "form-control", value: (rule.values || []).join(", "), "data-bind": "rule-values-text", "data-index": i, "aria-label": valueLabel + "s, separated by commas", placeholder: "a, b, c", id: "fd-rule-" + i + "-value" });
    } else if (options.length) {
      if (rule.value === undefined || rule.value === "") rule.value = options[0].value;
      value = h("select", { class: "form-control", "data-bind": "rule-value", "data-index": i, "aria-label": valueLabel, id: "fd-rule-" + i + "-value" },
        options.map(function (o) { return h("option", { value: o.value, text: text(o.label, editLang) || o.value, selected: o.value === rule.value }); }));
    } else {
      value = h("input", { class: "form-control", type: ref && ref.type === "number" ? "number" : "text", value: rule.value === undefined ? "" : rule.value, "data-bind": "rule-value", "data-index": i, "aria-label": valueLabel, id: "fd-rule-" + i + "-value" });
    }
    return h("li", { class: "fd-rule" }, [
      h("div", { class: "fd-rule-line" }, [
        h("span", { class: "fd-rule-word", text: i === 0 ? "When" : (ruleJoinWord()) }),
        fieldSelect,
        h("button", { type: "button", class: "fd-tool", "data-action": "rule-remove", "data-index": i, title: "Remove this rule", "aria-label": "Remove rule " + (i + 1) }, [icon("fa-times")])
      ]),
      h("div", { class: "fd-rule-line" }, [
        h("label", { class: "fd-not", title: "Negate this rule" }, [h("input", { type: "checkbox", checked: !!rule.not, "data-bind": "rule-not", "data-index": i, "aria-label": "Rule " + (i + 1) + ": not", id: "fd-rule-" + i + "-not" }), " not"]),
        opSelect, value
      ])
    ]);
  }

  /* Apply one edit of the panel to the selected field. */
  function onPanelEdit(event) {
    var input = event.target;
    var bind = input.getAttribute("data-bind");
    var field = byUid(selected);
    if (!bind || !field || readonly) return;
    var i = Number(input.getAttribute("data-index"));
    var redrawPanel = false;
    var rules = field._rules || [];
    switch (bind) {
      case "label": field.label[editLang] = input.value; break;
      case "help": field.help[editLang] = input.value; break;
      case "key":
        field.key = input.value.trim();
        break;
      case "required": field.required = input.checked; break;
      case "opt-value": field.options[i].value = input.value; break;
      case "opt-label": field.options[i].label = field.options[i].label || {}; field.options[i].label[editLang] = input.value; break;
      case "dictionary_id": field.dictionary_id = input.value ? Number(input.value) : null; redrawPanel = true; break;
      case "cond-mode":
        if (input.value === "always") { field._rules = []; field._conditional = false; field.visible_if = null; }
        else { field._conditional = true; if (!rules.length) field._rules = [{ field: "", op: "equals", value: "", not: false }]; }
        redrawPanel = true;
        break;
      case "rule-field": rules[i].field = input.value; rules[i].value = ""; rules[i].values = []; rules[i].op = operatorsFor(byKey(input.value))[0]; redrawPanel = true; break;
      case "rule-op": rules[i].op = input.value; redrawPanel = true; break;
      case "rule-not": rules[i].not = input.checked; break;
      case "cond-match": field._match = input.value; break;
      case "rule-value": rules[i].value = input.value; break;
      case "rule-min": rules[i].min = input.value; break;
      case "rule-max": rules[i].max = input.value; break;
      case "rule-values":
        rules[i].values = Array.prototype.map.call(input.closest(".fd-oneof").querySelectorAll("input:checked"), function (n) { return n.value; });
        break;
      case "rule-values-text":
        var ref = byKey(rules[i].field);
        rules[i].values = input.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean).map(function (s) {
          return ref && ref.type === "number" && !isNaN(Number(s)) ? Number(s) : s;
        });
        break;
      default:
        if (NUMBERS[bind]) field[bind] = input.value === "" ? null : Number(input.value);
        else field[bind] = input.value;
    }
    if (bind.indexOf("rule-") === 0 || bind.indexOf("cond-") === 0) {
      field.visible_if = buildCondition(field._rules || [], field._match);
      var summary = $("fd-cond-summary");
      if (summary && field.visible_if) summary.textContent = conditionSummary(field) + ".";
    }
    if (problems.byKey[field.key] && event.type === "change") {
      // The field's problems go once it is edited (the server judges again on the next
      // save); the panel is not redrawn: the click that left this box must reach its target.
      delete problems.byKey[field.key];
      var box = $("fd-field-errors");
      if (box) box.parentNode.removeChild(box);
    }
    markDirty();
    renderCanvas();
    renderPreview();
    if (redrawPanel) { renderPanel(); refocus(input); } else updateJson();
  }

  /* After the panel is redrawn, the cursor goes back to the control it was in. */
  function refocus(input) {
    var id = input.id;
    var again = id ? $(id) : null;
    if (!again && input.name) again = document.querySelector('input[name="' + input.name + '"]:checked');
    if (again) again.focus();
  }

  // The key: the new name follows into the conditions that use the old one when the user
  // leaves the box.
  var keyBefore = null;
  function onPanelFocus(event) {
    if (event.target.getAttribute("data-bind") === "key") keyBefore = event.target.value.trim();
  }
  function onKeyCommitted(event) {
    if (event.target.getAttribute("data-bind") !== "key" || keyBefore === null) return;
    var to = event.target.value.trim(), from = keyBefore;
    keyBefore = to;
    if (!from || from === to) return;
    var followed = 0;
    state.fields.forEach(function (f) {
      if (f.visible_if && conditionNames(f.visible_if).indexOf(from) >= 0) {
        f.visible_if = renameInCondition(f.visible_if, from, to);
        delete f._rules;
        followed++;
      }
    });
    if (followed) { renderCanvas(); renderPreview(); announce("Key renamed; " + followed + " condition" + (followed > 1 ? "s" : "") + " updated."); }
  }

  function onPanelClick(event) {
    var tab = event.target.closest(".fd-lang-tab");
    if (tab) { editLang = tab.getAttribute("data-lang"); renderPanel(); renderCanvas(); var t = $("fd-tab-" + editLang); if (t) t.focus(); return; }
    var button = event.target.closest("button[data-action]");
    var field = byUid(selected);
    if (!button || !field || readonly) return;
    var i = Number(button.getAttribute("data-index"));
    var action = button.getAttribute("data-action");
    var focusAfter = null;
    if (action === "opt-add") {
      field.options = field.options || [];
      var n = field.options.length + 1;
      while (field.options.some(function (o) { return o.value === "option_" + n; })) n++;
      var label = {}; label[editLang] = "Option " + n;
      field.options.push({ value: "option_" + n, label: label });
      focusAfter = function () { var rows = document.querySelectorAll("#fd-options .fd-opt-label"); if (rows.length) rows[rows.length - 1].select(); };
    } else if (action === "opt-remove") field.options.splice(i, 1);
    else if (action === "opt-up" && i > 0) { var o = field.options.splice(i, 1)[0]; field.options.splice(i - 1, 0, o); }
    else if (action === "rule-add") { field._rules = (field._rules || []).concat([{ field: "", op: "equals", value: "", not: false }]); field._conditional = true; }
    else if (action === "rule-remove") { field._rules.splice(i, 1); }
    else if (action === "cond-clear") { field.visible_if = null; field._rules = []; field._conditional = false; }
    else return;
    if (action.indexOf("rule-") === 0) field.visible_if = buildCondition(field._rules || [], field._match);
    changed();
    if (focusAfter) focusAfter();
  }

  // ---- The preview ---------------------------------------------------------------------
  function previewField(field) {
    var lang = previewLang;
    var id = "fd-pv-" + field.key;
    var label = text(field.label, lang);
    var missing = !label && !NO_LABEL[field.type];
    var labelText = label || text(field.label, state.languages[0]) || "";
    var helpText = text(field.help, lang);
    var help = helpText ? h("div", { class: "fd-pv-help", id: id + "-help", text: helpText }) : null;
    var req = field.required ? h("span", { class: "fd-req", "aria-hidden": "true", text: " *" }) : null;
    var attrs = { id: id, name: field.key, class: "form-control", "aria-describedby": helpText ? id + "-help" : null, required: field.required ? true : null, "data-key": field.key };
    var control;
    var wrap = h("div", { class: "fd-pv-field" + (missing ? " fd-pv-missing" : ""), "data-key": field.key, title: missing ? "No text in " + langName(lang) + " yet" : null });
    switch (field.type) {
      case "heading": wrap.appendChild(h("h3", { class: "fd-pv-heading", text: labelText })); return wrap;
      case "help_text": wrap.appendChild(h("p", { class: "fd-pv-text", text: labelText })); return wrap;
      case "hidden": return null;
      case "long_text": control = h("textarea", Object.assign(attrs, { rows: "3", maxlength: field.max_length || null })); break;
      case "number": control = h("input", Object.assign(attrs, { type: "number", min: field.minimum, max: field.maximum })); break;
      case "date": control = h("input", Object.assign(attrs, { type: "date" })); break;
      case "email": control = h("input", Object.assign(attrs, { type: "email", autocomplete: "email" })); break;
      case "phone": control = h("input", Object.assign(attrs, { type: "tel", autocomplete: "tel" })); break;
      case "file": control = h("input", Object.assign(attrs, { type: "file", accept: field.accept || null, class: "fd-pv-file" })); break;
      case "dropdown":
        var dict = dictionaryById(field.dictionary_id);
        control = h("select", attrs, [h("option", { value: "", text: "—" })].concat((dict ? dict.values : []).map(function (v) { return h("option", { value: v, text: v }); })));
        break;
      case "checkbox":
        wrap.appendChild(h("div", { class: "checkbox" }, [h("label", {}, [h("input", { type: "checkbox", id: id, name: field.key, "data-key": field.key, "aria-describedby": helpText ? id + "-help" : null }), " " + labelText, req])]));
        if (help) wrap.appendChild(help);
        return wrap;
      case "single_choice":
      case "multiple_choice":
        var kind = field.type === "single_choice" ? "radio" : "checkbox";
        var set = h("fieldset", { class: "fd-pv-choices", "aria-describedby": helpText ? id + "-help" : null }, [h("legend", {}, [labelText, req])]);
        (field.options || []).forEach(function (o, j) {
          set.appendChild(h("div", { class: kind }, [h("label", {}, [h("input", { type: kind, name: field.key, value: o.value, "data-key": field.key, id: id + "-" + j }), " " + (text(o.label, lang) || text(o.label, state.languages[0]) || o.value)])]));
        });
        wrap.appendChild(set);
        if (help) wrap.appendChild(help);
        return wrap;
      default: control = h("input", Object.assign(attrs, { type: "text", maxlength: field.max_length || null }));
    }
    wrap.appendChild(h("label", { for: id, class: "control-label" }, [labelText, req]));
    wrap.appendChild(control);
    if (help) wrap.appendChild(help);
    return wrap;
  }

  function renderPreview() {
    var form = $("fd-preview-form");
    if (!form) return;
    form.textContent = "";
    form.setAttribute("lang", previewLang);
    state.fields.forEach(function (field) {
      var node = previewField(field);
      if (node) form.appendChild(node);
    });
    if (!state.fields.length) form.appendChild(h("p", { class: "fd-muted", text: "The form is empty." }));
    else form.appendChild(h("button", { type: "submit", class: "btn btn-primary", disabled: true, title: "The preview sends nothing" }, [previewLang === "pl" ? "Wyślij" : previewLang === "sv" ? "Skicka" : previewLang === "de" ? "Absenden" : "Send"]));
    restorePreviewAnswers();
    applyConditions();
    var tabs = $("fd-preview-langs");
    tabs.textContent = "";
    state.languages.forEach(function (lang) {
      tabs.appendChild(h("button", { type: "button", class: "fd-pv-lang" + (lang === previewLang ? " active" : ""), "data-lang": lang, "aria-pressed": lang === previewLang ? "true" : "false", title: langName(lang), text: lang.toUpperCase() }));
    });
  }

  /* The customer's answers as the portal sends them to visible_if: numbers as numbers, a
     checkbox as true/false, a multiple choice as a list, empty answers left out. */
  function collectAnswers(visibleOnly) {
    var answers = {};
    state.fields.forEach(function (field) {
      if (field.type === "hidden") { if (field.value !== undefined && field.value !== "") answers[field.key] = field.value; return; }
      if (NOT_ANSWERS[field.type]) return;
      var wrap = previewWrap(field.key);
      if (!wrap || (visibleOnly && wrap.hidden)) return;
      var value = previewAnswers[field.key];
      if (value === undefined || value === "" || (Array.isArray(value) && !value.length && field.type !== "multiple_choice")) return;
      if (field.type === "number") { if (isNaN(Number(value))) return; value = Number(value); }
      answers[field.key] = value;
    });
    return answers;
  }

  function previewWrap(key) {
    var nodes = $("fd-preview-form").querySelectorAll(".fd-pv-field");
    for (var i = 0; i < nodes.length; i++) if (nodes[i].getAttribute("data-key") === key) return nodes[i];
    return null;
  }

  function isVisible(condition, answers) {
    if (!condition) return true;
    var api = window.LoopdeskForms;
    if (!api || typeof api.isVisible !== "function") return true;
    try { return !!api.isVisible(condition, answers); } catch (e) { return true; }
  }

  /* Show or hide each field by its condition, in order: a hidden field's answer does not
     count for the fields after it (as on the server). */
  function applyConditions() {
    var answers = {};
    state.fields.forEach(function (field) {
      var wrap = previewWrap(field.key);
      var shown = isVisible(field.visible_if, answers);
      if (wrap) {
        wrap.hidden = !shown;
        if (wrap.classList.contains("fd-pv-conditional") !== !!field.visible_if) wrap.classList.toggle("fd-pv-conditional", !!field.visible_if);
      }
      if (!shown) return;
      if (field.type === "hidden") { if (field.value !== undefined && field.value !== "") answers[field.key] = field.value; return; }
      if (NOT_ANSWERS[field.type]) return;
      var value = previewAnswers[field.key];
      if (field.type === "checkbox") value = !!value;
      if (value === undefined || value === "") return;
      if (field.type === "number") { if (isNaN(Number(value))) return; value = Number(value); }
      answers[field.key] = value;
    });
  }

  function readPreviewInput(input) {
    var key = input.getAttribute("data-key");
    var field = byKey(key);
    if (!field) return;
    if (field.type === "checkbox") previewAnswers[key] = input.checked;
    else if (field.type === "multiple_choice") {
      previewAnswers[key] = Array.prototype.filter.call($("fd-preview-form").querySelectorAll('input[data-key="' + key + '"]'), function (n) { return n.checked; }).map(function (n) { return n.value; });
    } else if (field.type === "single_choice") previewAnswers[key] = input.value;
    else if (field.type !== "file") previewAnswers[key] = input.value;
  }

  function restorePreviewAnswers() {
    Array.prototype.forEach.call($("fd-preview-form").querySelectorAll("[data-key]"), function (input) {
      if (input.classList.contains("fd-pv-field")) return;
      var value = previewAnswers[input.getAttribute("data-key")];
      if (value === undefined) return;
      if (input.type === "checkbox" && Array.isArray(value)) input.checked = value.indexOf(input.value) >= 0;
      else if (input.type === "checkbox") input.checked = !!value;
      else if (input.type === "radio") input.checked = input.value === value;
      else if (input.type !== "file") input.value = value;
    });
  }

  // ---- Saving and publishing -----------------------------------------------------------
  function post(url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": boot.csrf },
      body: JSON.stringify(payload || {})
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") < 0) {
        return { ok: false, problems: [{ message: "The desk refused the request (HTTP " + response.status + "). Reload the page and try again." }] };
      }
      return response.json();
    }, function () {
      return { ok: false, problems: [{ message: "The desk cannot be reached. Your changes are still here; try again." }] };
    });
  }

  function setProblems(list) {
    problems = { general: [], byKey: {} };
    (list || []).forEach(function (p) {
      if (p.key && byKey(p.key)) (problems.byKey[p.key] = problems.byKey[p.key] || []).push(p.message);
      else problems.general.push(p.message);
    });
  }

  function busy(on) {
    ["fd-save", "fd-publish"].forEach(function (id) { var b = $(id); if (b) b.disabled = on; });
  }

  function saveDraft() {
    if (readonly) return Promise.resolve(null);
    busy(true);
    $("fd-save-state").textContent = "Saving…";
    return post(boot.urls.save, { schema: serialise() }).then(function (data) {
      busy(false);
      afterAnswer(data);
      if (data.ok) {
        dirty = false;
        $("fd-save-state").textContent = data.message || "Draft saved.";
        $("fd-save-state").className = "fd-save-state fd-saved";
        if (data.version_label) $("fd-version-label").textContent = data.version_label;
        announce(data.message || "Draft saved.");
      }
      return data;
    });
  }

  function afterAnswer(data) {
    setProblems(data.ok ? [] : data.problems);
    renderCanvas();
    renderPanel();
    if (!data.ok) {
      var count = (data.problems || []).length;
      $("fd-save-state").textContent = "Not saved: " + count + " problem" + (count === 1 ? "" : "s");
      $("fd-save-state").className = "fd-save-state fd-unsaved";
      announce("Not saved. " + (data.problems || []).map(function (p) { return p.message; }).join(" "));
      var first = state.fields.filter(function (f) { return problems.byKey[f.key]; })[0];
      if (first) { selected = first._uid; renderCanvas(); renderPanel(); }
    }
  }

  function publish() {
    busy(true);
    $("fd-save-state").textContent = "Publishing…";
    post(boot.urls.publish, { schema: serialise() }).then(function (data) {
      busy(false);
      if (data.ok) { dirty = false; window.location.assign(data.redirect); return; }
      afterAnswer(data);
    });
  }

  function showToast(message, actionLabel, action) {
    var toast = $("fd-toast");
    toast.textContent = "";
    toast.appendChild(h("span", { text: message }));
    if (actionLabel) {
      var button = h("button", { type: "button", class: "btn btn-link", text: actionLabel });
      button.addEventListener("click", function () { toast.hidden = true; action(); });
      toast.appendChild(button);
    }
    toast.hidden = false;
    window.clearTimeout(showToast.timer);
    showToast.timer = window.setTimeout(function () { toast.hidden = true; }, 8000);
  }

  // ---- Languages of the form -----------------------------------------------------------
  function onLanguageToggle(event) {
    var input = event.target;
    if (!input.matches("input[data-form-lang]")) return;
    var lang = input.getAttribute("data-form-lang");
    if (input.checked && state.languages.indexOf(lang) < 0) state.languages.push(lang);
    if (!input.checked) {
      if (state.languages.length === 1) { input.checked = true; announce("A form needs at least one language."); return; }
      state.languages = state.languages.filter(function (l) { return l !== lang; });
    }
    var order = boot.languages;
    state.languages.sort(function (a, b) { return order.indexOf(a) - order.indexOf(b); });
    if (state.languages.indexOf(editLang) < 0) editLang = state.languages[0];
    if (state.languages.indexOf(previewLang) < 0) previewLang = state.languages[0];
    input.closest("label").classList.toggle("active", input.checked);
    changed();
    announce(langName(lang) + (input.checked ? " added to" : " removed from") + " the form's languages.");
  }

  // ---- Wiring ----------------------------------------------------------------------------
  function fitHeight() {
    var grid = $("fd-grid");
    var top = grid.getBoundingClientRect().top + window.scrollY;
    root.style.setProperty("--fd-top", Math.round(top) + "px");
  }

  function onCanvasKey(event) {
    var cardNode = event.target.closest(".fd-card");
    if (!cardNode || event.target !== cardNode) return;
    var uid = cardNode.getAttribute("data-uid");
    var at = indexOf(uid);
    if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      event.preventDefault();
      if (readonly) return;
      moveTo(uid, at + (event.key === "ArrowUp" ? -1 : 1), "keyboard");
      focusCard(uid);
    } else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      event.preventDefault();
      var next = state.fields[at + (event.key === "ArrowUp" ? -1 : 1)];
      if (next) { focusCard(next._uid); select(next._uid); }
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      var edge = state.fields[event.key === "Home" ? 0 : state.fields.length - 1];
      if (edge) { focusCard(edge._uid); select(edge._uid); }
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      select(uid);
      var first = $("fd-panel").querySelector("input, textarea, select");
      if (first && event.key === "Enter") first.focus();
    } else if ((event.key === "Delete" || event.key === "Backspace") && !readonly) {
      event.preventDefault();
      removeField(uid);
    }
  }

  function onCanvasClick(event) {
    var cardNode = event.target.closest(".fd-card");
    if (!cardNode || (event.detail !== 0 && Date.now() - lastDrag < 120)) return;  // a drag's end
    var uid = cardNode.getAttribute("data-uid");
    var button = event.target.closest("button[data-action]");
    if (!button) { select(uid); return; }
    var at = indexOf(uid);
    var action = button.getAttribute("data-action");
    if (action === "up" || action === "down") {
      moveTo(uid, at + (action === "up" ? -1 : 1), "button");
      var again = $("fd-canvas-list").querySelector('.fd-card[data-uid="' + uid + '"] [data-action="' + action + '"]');
      if (again && !again.disabled) again.focus(); else focusCard(uid);
    } else if (action === "copy") duplicateField(uid);
    else if (action === "remove") removeField(uid);
  }

  function wire() {
    fitHeight();
    window.addEventListener("resize", fitHeight);
    var canvas = $("fd-canvas-list");
    canvas.addEventListener("keydown", onCanvasKey);
    canvas.addEventListener("click", onCanvasClick);
    canvas.addEventListener("focusin", function (event) {
      var cardNode = event.target.closest(".fd-card");
      if (cardNode && event.target === cardNode) select(cardNode.getAttribute("data-uid"));
    });
    var panel = $("fd-panel");
    panel.addEventListener("input", function (event) {
      if (event.target.matches("select, input[type=checkbox], input[type=radio]")) return;  // their change event follows
      onPanelEdit(event);
    });
    panel.addEventListener("change", function (event) {
      if (event.target.matches("select, input[type=checkbox], input[type=radio]")) onPanelEdit(event);
      else if (problems.byKey[(byUid(selected) || {}).key]) onPanelEdit(event);
      onKeyCommitted(event);
    });
    panel.addEventListener("focusin", onPanelFocus);
    panel.addEventListener("click", onPanelClick);

    var preview = $("fd-preview-form");
    preview.addEventListener("input", function (event) { readPreviewInput(event.target); applyConditions(); });
    preview.addEventListener("change", function (event) { readPreviewInput(event.target); applyConditions(); });
    preview.addEventListener("submit", function (event) { event.preventDefault(); });
    $("fd-preview-langs").addEventListener("click", function (event) {
      var b = event.target.closest("[data-lang]");
      if (!b) return;
      previewLang = b.getAttribute("data-lang");
      renderPreview();
      var again = $("fd-preview-langs").querySelector('[data-lang="' + previewLang + '"]');
      if (again) again.focus();
      announce("Preview in " + langName(previewLang) + ".");
    });
    var wide = $("fd-preview-wide");
    if (wide) wide.addEventListener("click", function () {
      var on = root.classList.toggle("fd-wide-preview");
      wide.setAttribute("aria-pressed", on ? "true" : "false");
    });

    if (readonly) return;
    var palette = $("fd-palette");
    palette.addEventListener("click", function (event) {
      var item = event.target.closest(".fd-palette-item");
      // A mouse click right after a drag is the drag's own end (a key's click has detail 0).
      if (!item || (event.detail !== 0 && Date.now() - lastDrag < 120)) return;
      addField(item.getAttribute("data-type"), null, "from the palette");
    });
    $("fd-languages").addEventListener("change", onLanguageToggle);
    $("fd-save").addEventListener("click", saveDraft);
    $("fd-publish").addEventListener("click", function () {
      var dialog = $("fd-publish-dialog");
      if (dialog && dialog.showModal) dialog.showModal(); else publish();
    });
    $("fd-publish-confirm").addEventListener("click", function () { $("fd-publish-dialog").close(); publish(); });
    $("fd-publish-cancel").addEventListener("click", function () { $("fd-publish-dialog").close(); });
    document.addEventListener("keydown", function (event) {
      if ((event.ctrlKey || event.metaKey) && event.key === "s") { event.preventDefault(); saveDraft(); }
    });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = ""; }
    });

    if (window.Sortable) {
      var common = { animation: 150, forceFallback: true, fallbackOnBody: true, ghostClass: "fd-ghost", chosenClass: "fd-chosen", dragClass: "fd-drag" };
      Array.prototype.forEach.call(palette.querySelectorAll(".fd-palette-list"), function (list) {
        window.Sortable.create(list, Object.assign({}, common, {
          group: { name: "fd-fields", pull: "clone", put: false },
          sort: false,
          draggable: ".fd-palette-item",
          onEnd: function () { lastDrag = Date.now(); }
        }));
      });
      window.Sortable.create(canvas, Object.assign({}, common, {
        group: { name: "fd-fields", pull: false, put: true },
        draggable: ".fd-card",
        filter: ".fd-tool",
        preventOnFilter: false,
        onAdd: function (event) {
          var type = event.item.getAttribute("data-type");
          var index = event.newIndex;
          event.item.parentNode.removeChild(event.item);
          lastDrag = Date.now();
          addField(type, index, "dropped");
        },
        onEnd: function (event) {
          lastDrag = Date.now();
          if (event.from !== event.to || event.oldIndex === event.newIndex) return;
          var uid = event.item.getAttribute("data-uid");
          // Sortable has moved the node already; the state follows, then the list is redrawn.
          var field = state.fields.splice(event.oldIndex, 1)[0];
          state.fields.splice(event.newIndex, 0, field);
          selected = uid;
          changed();
          announce("Moved “" + title(field) + "” to position " + (event.newIndex + 1) + " of " + state.fields.length + ".");
        }
      }));
    }
  }

  renderCanvas();
  renderPanel();
  renderPreview();
  wire();
  // The page is ready for tests and people alike.
  root.setAttribute("data-ready", "true");
})();
