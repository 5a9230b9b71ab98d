// The trigger rule builder: conditions picked from a menu, their options as fields, nested any/all
// groups. It writes the rule's JSON into the "conditions" textarea (the stored form, which the server
// validates with the same code as the API) and follows hand edits of it; without JavaScript the
// textarea is the editor.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  const menuData = document.getElementById("rule-builder-menu");
  const textarea = document.getElementById("id_conditions");
  if (!menuData || !textarea) return;
  const MENU = JSON.parse(menuData.textContent);
  const BY_KIND = Object.fromEntries(MENU.map((k) => [k.kind, k]));

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    children.forEach((child) => child && node.append(child));
    return node;
  }

  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  // One condition row: reads its fields back into JSON with `read()`.
  function conditionRow(item, onChange, onRemove) {
    const spec = BY_KIND[item.kind];
    const row = el("div", { class: "rb-condition", "data-kind": item.kind });
    const head = el("div", { class: "rb-head" }, el("strong", { text: spec ? spec.label : item.kind }));
    const negate = el("input", { type: "checkbox", "aria-label": "Not" });
    negate.checked = !!item.negate;
    negate.addEventListener("change", onChange);
    head.append(el("label", {}, negate, " not"), el("button", { type: "button", class: "rb-remove", text: "Remove", onclick: onRemove }));
    row.append(head);
    const readers = [];
    const extra = { ...item };  // keys the builder does not show are kept as they were
    delete extra.kind; delete extra.negate;
    for (const option of spec ? spec.options : []) {
      delete extra[option.name];
      if (item.kind === "group" && option.name === "conditions") continue;
      const id = "rb-" + Math.random().toString(36).slice(2);
      const has = Object.prototype.hasOwnProperty.call(item, option.name);
      const value = has ? item[option.name] : option.default;
      let input, read;
      if (option.widget === "bool") {
        input = el("input", { type: "checkbox", id });
        input.checked = !!value;
        read = () => input.checked;
      } else if (option.widget === "choice") {
        input = el("select", { id });
        option.choices.forEach((c) => input.append(el("option", { value: c, text: c })));
        input.value = value == null ? option.choices[0] : value;
        read = () => input.value;
      } else if (option.widget === "multi") {
        input = el("span", { id, class: "rb-multi" });
        const boxes = option.choices.map((c) => {
          const box = el("input", { type: "checkbox", value: c });
          box.checked = (value || []).includes(c);
          box.addEventListener("change", onChange);
          input.append(el("label", {}, box, " " + c + " "));
          return box;
        });
        read = () => boxes.filter((b) => b.checked).map((b) => b.value);
      } else if (option.widget === "lines") {
        input = el("textarea", { id, rows: "2", cols: "40", placeholder: "one per line" });
        input.value = (value || []).join("\n");
        read = () => input.value.split("\n").map((s) => s.trim()).filter(Boolean);
      } else if (option.widget === "number") {
        input = el("input", { type: "number", step: "any", id, size: "6" });
        input.value = value == null ? "" : value;
        read = () => (input.value === "" ? null : Number(input.value));
      } else if (option.widget === "value") {
        input = el("input", { type: "text", id, size: "30", placeholder: '"pro" or ["pro", "enterprise"] or 12000' });
        input.value = value == null ? "" : (typeof value === "string" ? value : JSON.stringify(value));
        read = () => {
          if (input.value.trim() === "") return null;
          try { return JSON.parse(input.value); } catch (e) { return input.value; }
        };
      } else {
        input = el("input", { type: "text", id, size: "24" });
        input.value = value == null ? "" : value;
        read = () => input.value.trim();
      }
      if (input.tagName !== "SPAN") input.addEventListener("input", onChange), input.addEventListener("change", onChange);
      row.append(el("div", { class: "rb-option" }, el("label", { for: id, text: option.name.replace(/_/g, " ") + (option.required ? " *" : "") }), input));
      readers.push([option, read]);
    }
    let children = null;
    if (item.kind === "group") {
      children = conditionList(item.conditions || [], onChange);
      row.append(children.node);
    }
    row.read = () => {
      const out = { kind: item.kind, ...extra };
      if (negate.checked) out.negate = true;
      for (const [option, read] of readers) {
        const value = read();
        const empty = value === null || value === "" || (Array.isArray(value) && value.length === 0);
        if (option.required || (!empty && !same(value, option.default))) out[option.name] = value;
      }
      if (children) out.conditions = children.read();
      return out;
    };
    return row;
  }

  // A list of conditions with the "Add a condition" menu below it.
  function conditionList(items, onChange) {
    const node = el("div", { class: "rb-list" });
    const rows = el("div", { class: "rb-rows" });
    const picker = el("select", { "aria-label": "Add a condition" }, el("option", { value: "", text: "Add a condition…" }));
    MENU.forEach((k) => picker.append(el("option", { value: k.kind, text: k.label })));
    function add(item) {
      const row = conditionRow(item, onChange, () => { row.remove(); onChange(); });
      rows.append(row);
    }
    items.forEach((item) => (item && typeof item === "object" ? add(item) : null));
    picker.addEventListener("change", () => {
      if (!picker.value) return;
      add(picker.value === "group" ? { kind: "group", match: "any", conditions: [] } : { kind: picker.value });
      picker.value = "";
      onChange();
    });
    node.append(rows, picker);
    return { node, read: () => Array.from(rows.children).map((row) => row.read()) };
  }

  // The JSON stays editable by hand (under "The rule as JSON"), so the two editors follow each other:
  // a hand edit that parses as a list rebuilds the builder from it, and one that does not pauses the
  // builder (disabled, with a warning) instead of letting its next change overwrite the typing.
  const builder = el("fieldset", { id: "rule-builder", class: "rb" });
  const warning = el("p", { class: "rb-warning errornote", role: "alert" });
  let top = null;
  const write = () => { textarea.value = JSON.stringify(top.read(), null, 2); };
  function follow() {
    let items;
    try { items = JSON.parse(textarea.value.trim() || "[]"); } catch (e) { items = null; }
    const usable = Array.isArray(items);
    builder.disabled = !usable;
    warning.hidden = usable;
    if (!usable) {
      warning.textContent = "The JSON below is not a list of conditions, so the builder is paused and " +
        "your edits are kept as typed. Make it a valid list to use the builder again.";
      return;
    }
    top = conditionList(items, write);
    builder.replaceChildren(top.node);
  }
  const details = el("details", { class: "rb-json" }, el("summary", { text: "The rule as JSON (the stored form)" }));
  textarea.parentNode.insertBefore(warning, textarea);
  textarea.parentNode.insertBefore(builder, textarea);
  textarea.parentNode.insertBefore(details, textarea);
  details.append(textarea);
  textarea.addEventListener("input", follow);
  follow();
  if (builder.disabled) details.open = true;  // stored JSON the builder cannot show: the JSON is the editor
});
