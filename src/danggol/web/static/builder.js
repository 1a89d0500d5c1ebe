// The segment builder: nested AND/OR/NOT groups, typed value inputs, the query text kept in
// sync both ways (the server parses and formats: one grammar), and a live count.
"use strict";
(function () {
  const { t, h, api, card, label, ownTitle, errorBox, fmtInt, fmtPct, fmtPeople, dv, showValue, valueWords, fieldLabel, valuePicker } = window.Dash;

  const OPS = {
    number: ["=", "!=", ">", ">=", "<", "<=", "BETWEEN", "NOT BETWEEN", "IS NULL", "IS NOT NULL"],
    date: [">=", "<=", ">", "<", "=", "BETWEEN", "IS NULL", "IS NOT NULL"],
    text: ["=", "!=", "IN", "NOT IN", "CONTAINS", "NOT CONTAINS", "IS NULL", "IS NOT NULL"],
    enum: ["=", "!=", "IN", "NOT IN", "IS NULL", "IS NOT NULL"],
    boolean: ["="],
    tags: ["CONTAINS", "NOT CONTAINS", "IS NULL", "IS NOT NULL"],
  };
  OPS.integer = OPS.number;
  const NO_VALUE = new Set(["IS NULL", "IS NOT NULL"]);
  const UNITS = ["d", "w", "m", "y"];
  const UNIT_WORDS = { d: "days", w: "weeks", m: "months", y: "years" };
  const OP_SLUG = { "=": "eq", "!=": "ne", ">": "gt", ">=": "ge", "<": "lt", "<=": "le", BETWEEN: "between", "NOT BETWEEN": "not_between", IN: "in", "NOT IN": "not_in", CONTAINS: "contains", "NOT CONTAINS": "not_contains", "IS NULL": "null", "IS NOT NULL": "not_null" };
  const opWords = (op, type) => t(type === "date" && ["=", ">", ">=", "<", "<="].includes(op) ? `op_date_${OP_SLUG[op]}` : `op_${OP_SLUG[op]}`);
  //: text fields whose values a picker offers from the shop's own data
  const PICKED = { customer_regions: "customer_regions", customer_cities: "customer_cities", customer_countries: "customer_countries", customer_tags: "customer_tags", signup_channel: "signup_channel" };

  // ---------------------------------------------------------------- model <-> text
  const quote = (v) => `'${String(v).replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  const unquote = (v) => {
    const m = /^'((?:[^'\\]|\\.)*)'$/.exec(v.trim());
    return m ? m[1].replace(/\\(.)/g, "$1") : v.trim();
  };
  function splitTop(text, sep) {
    // split on sep outside quotes and parentheses
    const out = []; let depth = 0, q = false, cur = "";
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (q) { cur += c; if (c === "\\") { cur += text[++i] || ""; } else if (c === "'") q = false; continue; }
      if (c === "'") q = true;
      if (c === "(") depth++;
      if (c === ")") depth--;
      if (depth === 0 && text.startsWith(sep, i)) { out.push(cur); cur = ""; i += sep.length - 1; continue; }
      cur += c;
    }
    out.push(cur);
    return out.map((x) => x.trim());
  }

  function fieldType(name) {
    const f = App.vocab.fields.find((x) => x.name === name);
    return f ? f.type : null;
  }
  function literal(type, v) {
    if (v === undefined || v === null || String(v).trim() === "") return null;
    const text = String(v).trim();
    if (type === "number" || type === "integer") return Number.isFinite(Number(text)) ? text : null;
    if (type === "boolean") return text === "false" ? "false" : "true";
    if (type === "date") return /^-?\d+[dwmy]$/.test(text) || /^\d{4}-\d{2}-\d{2}$/.test(text) ? text : null;
    return quote(text);
  }
  function condText(n) {
    if (n.kind === "raw") return n.text.trim() || null;
    if (n.fn) return fnText(n);
    const type = fieldType(n.field);
    if (NO_VALUE.has(n.op)) return `${n.field} ${n.op}`;
    if (n.op === "IN" || n.op === "NOT IN") {
      const items = String(n.value || "").split(",").map((x) => literal(type, x)).filter(Boolean);
      return items.length ? `${n.field} ${n.op} (${items.join(", ")})` : null;
    }
    if (n.op.endsWith("BETWEEN")) {
      const a = literal(type, n.value), b = literal(type, n.value2);
      return a && b ? `${n.field} ${n.op} ${a} AND ${b}` : null;
    }
    const v = literal(type === "tags" ? "text" : type, n.value);
    return v === null ? null : `${n.field} ${n.op} ${v}`;
  }
  function fnText(n) {
    const args = [];
    if (n.fn === "in_segment") return n.args.segment ? `in_segment(${quote(n.args.segment)}) = ${n.value === "false" ? "false" : "true"}` : null;
    if (n.fn === "events") { if (!n.args.name) return null; args.push(`name: ${quote(n.args.name)}`); }
    if (n.fn === "products_purchased") {
      if (n.args.id) args.push(`id: ${quote(n.args.id)}`);
      if (n.args.category) args.push(`category: ${quote(n.args.category)}`);
    }
    if (n.args.date) args.push(`date: ${n.args.date}`);
    const call = `${n.fn}(${args.join(", ")})`;
    if (n.fn === "products_purchased") return `${call} = ${n.value === "false" ? "false" : "true"}`;
    const v = literal("number", n.value);
    return v === null ? null : `${call} ${n.op} ${v}`;
  }
  function toWhere(n) {
    let inner;
    if (n.kind === "group") {
      const kids = n.children.map(toWhere).filter((x) => x !== null);
      if (!kids.length) return null;
      inner = kids.length === 1 ? kids[0] : { [n.op]: kids };
    } else inner = condText(n);
    if (inner === null) return null;
    return n.negate ? { not: inner } : inner;
  }

  const OP_RE = /^([a-z_][a-z0-9_]*) (NOT BETWEEN|BETWEEN|NOT IN|IN|NOT CONTAINS|CONTAINS|IS NOT NULL|IS NULL|!=|>=|<=|=|>|<)(?: (.*))?$/;
  function parseCond(text) {
    const fn = /^([a-z_]+)\((.*)\) (>=|<=|!=|=|>|<) (.+)$/.exec(text);
    if (fn && App.vocab.functions.some((f) => f.name === fn[1])) {
      const node = { kind: "cond", fn: fn[1], args: {}, op: fn[3], value: fn[4] };
      for (const part of fn[2] ? splitTop(fn[2], ",") : []) {
        const m = /^([a-z_]+):\s*(.+)$/.exec(part);
        if (m) node.args[m[1]] = m[1] === "date" ? m[2].trim() : unquote(m[2]);
        else if (fn[1] === "in_segment") node.args.segment = unquote(part);
        else return null;
      }
      if (["id", "category", "name", "date", "segment"].some((k) => k in node.args) || !fn[2]) return node;
      return null;
    }
    const m = OP_RE.exec(text);
    if (!m || !fieldType(m[1])) return null;
    const node = { kind: "cond", field: m[1], op: m[2], value: "", value2: "" };
    const rest = m[3] || "";
    if (m[2].endsWith("BETWEEN")) {
      const [a, b] = splitTop(rest, " AND ");
      node.value = unquote(a || ""); node.value2 = unquote(b || "");
    } else if (m[2].endsWith("IN")) {
      node.value = splitTop(rest.replace(/^\(|\)$/g, ""), ",").map(unquote).join(", ");
    } else node.value = unquote(rest);
    return node;
  }
  function fromWhere(w) {
    if (w === null || w === undefined) return newGroup("all");
    if (typeof w === "string") return parseCond(w) || { kind: "raw", text: w };
    if ("not" in w) { const n = fromWhere(w.not); n.negate = !n.negate; return n; }
    const op = "all" in w ? "all" : "any";
    return { kind: "group", op, negate: false, children: w[op].map(fromWhere) };
  }
  function valueName(field, v) {
    return valueWords(field, v) || v;
  }
  const newGroup = (op) => ({ kind: "group", op, negate: false, children: [] });
  const newCond = () => ({ kind: "cond", field: "number_of_orders", op: ">=", value: "2", value2: "" });

  // ---------------------------------------------------------------- the page
  async function page(main, name, query, from) {
    const st = { root: newGroup("all"), seq: 0, textFocused: false };
    const treeBox = h("div", { class: "tree" });
    const qtext = h("textarea", { id: "query-text", rows: 3, spellcheck: "false", "aria-label": t("query_text") });
    const qerr = h("div", { class: "qerr" });
    const count = h("span", { id: "live-count", class: "live-count", "data-count": "" }, "–");
    const countNote = h("span", { class: "muted small" });
    const share = h("span", { id: "live-share", class: "live-share" });
    const preview = h("div", { id: "preview", class: "preview scroll" });
    let countTimer = null, textTimer = null;

    function changed() {
      renderTree();
      const where = toWhere(st.root);
      if (where === null) { qtext.value = ""; setCount(null); return; }
      const seq = ++st.seq;
      api("/api/query/format", { json: { where } }).then((r) => {
        if (seq !== st.seq) return;
        if (document.activeElement !== qtext) qtext.value = r.query;
        qerr.replaceChildren();
        scheduleCount({ where }, seq);
      }).catch((e) => { if (seq === st.seq) { qerr.replaceChildren(errorBox(e)); setCount(null); } });
    }
    function setCount(n) {
      count.textContent = n === null ? "–" : fmtInt(n);
      count.dataset.count = n === null ? "" : String(n);
      countNote.textContent = "";
      const base = App.status.customers;
      share.textContent = n === null || !base ? "" : t("of_customers", { p: fmtPct(n / base) });
      if (n === null) preview.replaceChildren();
    }
    const PREVIEW = ["customer_id", "amount_spent", "number_of_orders", "last_order_date", "lifecycle_stage"];
    function showPreview(body, seq) {
      api("/api/query/preview", { json: Object.assign({}, body, { fields: PREVIEW, page_size: 5 }) }).then((r) => {
        if (seq !== st.seq) return;
        if (!r.rows.length) { preview.replaceChildren(h("p", { class: "muted small" }, t("no_members"))); return; }
        preview.replaceChildren(h("table", { class: "data compact" },
          h("thead", {}, h("tr", {}, r.fields.map((f) => h("th", {}, fieldLabel(f))))),
          h("tbody", {}, r.rows.map((row) => h("tr", {}, r.fields.map((f) => h("td", { class: typeof row[f] === "number" ? "num" : "" },
            f === "customer_id" ? h("a", { href: `#/customer/${encodeURIComponent(row[f])}`, translate: "no" }, row[f]) : showValue(f, row[f]))))))));
      }).catch(() => preview.replaceChildren());
    }
    function scheduleCount(body, seq) {
      clearTimeout(countTimer);
      count.classList.add("pending");
      countNote.textContent = t("counting");
      countTimer = setTimeout(async () => {
        try {
          const r = await api("/api/query/count", { json: body });
          if (seq === st.seq) { setCount(r.count); count.dataset.query = r.query; showPreview(body, seq); }
        } catch (e) { if (seq === st.seq) { qerr.replaceChildren(errorBox(e)); setCount(null); } }
        count.classList.remove("pending");
      }, 250);
    }
    async function applyText() {
      const text = qtext.value.trim();
      const seq = ++st.seq;
      if (!text) { st.root = newGroup("all"); renderTree(); setCount(null); return; }
      try {
        const r = await api("/api/query/parse", { json: { query: text } });
        if (seq !== st.seq) return;
        qerr.replaceChildren();
        const root = fromWhere(r.where);
        st.root = root.kind === "group" && !root.negate ? root : { kind: "group", op: "all", negate: false, children: [root] };
        renderTree();
        scheduleCount({ query: text }, seq);
      } catch (e) { if (seq === st.seq) { qerr.replaceChildren(errorBox(e)); setCount(null); } }
    }
    qtext.addEventListener("input", () => { clearTimeout(textTimer); textTimer = setTimeout(applyText, 500); });

    function renderTree() { treeBox.replaceChildren(groupView(st.root, null)); }

    function negateBox(n) {
      return h("label", { class: "neg" }, h("input", { type: "checkbox", checked: n.negate || null, onchange: (e) => { n.negate = e.target.checked; changed(); } }), ` ${t("negate")}`);
    }
    function groupView(g, parent) {
      const box = h("div", { class: `group ${g.op}${g.negate ? " negated" : ""}`, "data-kind": "group" });
      const opSel = h("select", { class: "group-op", "aria-label": t("group_op"), onchange: (e) => { g.op = e.target.value; changed(); } },
        h("option", { value: "all", selected: g.op === "all" || null }, t("all")),
        h("option", { value: "any", selected: g.op === "any" || null }, t("any")));
      box.append(h("div", { class: "group-head" }, negateBox(g), opSel,
        h("button", { class: "small add-cond", onclick: () => { g.children.push(newCond()); changed(); } }, t("add_condition")),
        h("button", { class: "small add-group", onclick: () => { const sub = newGroup(g.op === "all" ? "any" : "all"); sub.children.push(newCond()); g.children.push(sub); changed(); } }, t("add_group")),
        parent ? h("button", { class: "small danger", onclick: () => { parent.children.splice(parent.children.indexOf(g), 1); changed(); } }, t("remove")) : null));
      const kids = h("div", { class: "children" });
      for (const c of g.children) kids.append(c.kind === "group" ? groupView(c, g) : condView(c, g));
      box.append(kids);
      return box;
    }

    function fieldPicker(n) {
      const sel = h("select", { class: "field-pick", "aria-label": t("field") });
      const fields = h("optgroup", { label: t("field") });
      for (const f of App.vocab.fields) fields.append(h("option", { value: f.name, selected: !n.fn && n.field === f.name || null }, `${label(f)} (${t(`type_${f.type}`)})`));
      const fns = h("optgroup", { label: t("behaviour") });
      for (const f of App.vocab.functions) fns.append(h("option", { value: `fn:${f.name}`, selected: n.fn === f.name || null }, `${label(f)} (${t("in_period")})`));
      sel.append(fields, fns);
      sel.addEventListener("change", () => {
        const v = sel.value;
        for (const k of ["field", "fn", "args", "value", "value2"]) delete n[k];
        if (v.startsWith("fn:")) {
          n.fn = v.slice(3); n.args = {};
          n.op = n.fn === "products_purchased" || n.fn === "in_segment" ? "=" : ">=";
          n.value = n.fn === "products_purchased" || n.fn === "in_segment" ? "true" : "1";
          if (n.fn === "products_purchased" || n.fn === "number_of_orders" || n.fn === "amount_spent") n.args.date = "-90d";
        } else {
          n.field = v; const type = fieldType(v);
          n.op = OPS[type][0]; n.value = type === "boolean" ? "true" : ""; n.value2 = "";
        }
        changed();
      });
      return sel;
    }

    function dateInput(get, set, op) {
      // an offset from the as-of date (-90d) or an exact date, in words that follow the
      // operator: "최근 [90][일] 이내" (>=), "[90][일] 전보다 이전" (<)
      const v = get() || "";
      const exact = /^\d{4}-\d{2}-\d{2}$/.test(v);
      const m = /^-?(\d+)([dwmy])$/.exec(v);
      const mode = h("select", { class: "date-mode", "aria-label": t("date_mode") }, h("option", { value: "ago", selected: !exact || null }, t("date_relative")), h("option", { value: "date", selected: exact || null }, t("date_exact")));
      const amount = h("input", { type: "number", min: 0, class: "amount", value: m ? m[1] : "90", "aria-label": t("value") });
      const unit = h("select", { class: "unit", "aria-label": t("unit") }, UNITS.map((u) => h("option", { value: u, selected: (m ? m[2] : "d") === u || null }, t(UNIT_WORDS[u]))));
      const day = h("input", { type: "date", value: exact ? v : "" });
      const box = h("span", { class: "date-input" });
      const slug = OP_SLUG[op] || "ge";
      const before = t(`ago_before_${slug}`), after = t(`ago_after_${slug}`);
      const sync = () => { set(mode.value === "ago" ? `-${amount.value || 0}${unit.value}` : day.value); changed(); };
      const show = () => box.replaceChildren(mode, ...(mode.value === "ago" ? [before ? h("span", { class: "muted small" }, before) : null, amount, unit, h("span", { class: "muted small date-words" }, after)].filter(Boolean) : [day]));
      mode.addEventListener("change", () => { show(); sync(); });
      for (const el of [amount, unit, day]) el.addEventListener("change", sync);
      if (!v) set(`-90d`);
      show();
      return box;
    }

    function pickerInput(kind, get, set) {
      // suggestions from the shop's own values: products, categories, regions, tags …
      const box = valuePicker(kind, get() || "", (v) => { set(v); changed(); });
      return box;
    }

    function valueInput(n) {
      if (n.fn) return fnInputs(n);
      const type = fieldType(n.field);
      if (NO_VALUE.has(n.op)) return null;
      const f = App.vocab.fields.find((x) => x.name === n.field);
      const one = (key) => {
        const get = () => n[key], set = (v) => { n[key] = v; };
        if (type === "date") return dateInput(get, set, n.op);
        if (type === "boolean") {
          const sel = h("select", { class: "value" }, h("option", { value: "true", selected: n[key] !== "false" || null }, t("yes")), h("option", { value: "false", selected: n[key] === "false" || null }, t("no")));
          sel.addEventListener("change", () => { set(sel.value); changed(); });
          return sel;
        }
        if (type === "enum" && !n.op.endsWith("IN")) {
          const sel = h("select", { class: "value" }, h("option", { value: "" }, "…"), f.values.map((v) => h("option", { value: v, selected: n[key] === v || null }, valueName(n.field, v))));
          sel.addEventListener("change", () => { set(sel.value); changed(); });
          return sel;
        }
        if (n.field === "favourite_category") return pickerInput("categories", get, set);
        if (PICKED[n.field] && !n.op.endsWith("IN")) return pickerInput(PICKED[n.field], get, set);
        const numeric = type === "number" || type === "integer";
        const pct = /percentile/.test(n.field);
        const input = h("input", { class: "value", type: numeric && !n.op.endsWith("IN") ? "number" : "text", value: n[key] || "", placeholder: pct ? t("percentile_hint") : n.op.endsWith("IN") ? t("list_hint") : "", min: pct ? 0 : null, max: pct ? 100 : null, step: "any", "aria-label": t("value") });
        input.addEventListener("input", () => { set(input.value); clearTimeout(input._t); input._t = setTimeout(changed, 300); });
        return input;
      };
      if (n.op.endsWith("BETWEEN")) return h("span", {}, one("value"), ` ${t("and_between")} `, one("value2"));
      return one("value");
    }

    function fnInputs(n) {
      const parts = [];
      const arg = (k) => ({ get: () => n.args[k], set: (v) => { if (v) n.args[k] = v; else delete n.args[k]; } });
      if (n.fn === "in_segment") {
        const sel = h("select", { class: "value" }, h("option", { value: "" }, t("choose_segment")));
        api("/api/segments").then((items) => { for (const sg of items.filter((x) => !x.needs.length)) sel.append(h("option", { value: sg.name, selected: n.args.segment === sg.name || null, translate: ownTitle(sg) ? null : "no" }, label(sg.title))); });
        sel.addEventListener("change", () => { n.args.segment = sel.value; changed(); });
        parts.push(sel, yesNo(n));
        return h("span", { class: "fn-args" }, parts);
      }
      if (n.fn === "products_purchased") {
        parts.push(pickerInput("products", arg("id").get, arg("id").set));
        parts.push(pickerInput("categories", arg("category").get, arg("category").set));
      }
      if (n.fn === "events") {
        const sel = h("select", { class: "value event-pick", "aria-label": t("event") }, h("option", { value: "" }, t("choose_event")));
        api("/api/values/event?limit=100").then((rows) => {
          const names = new Set(rows.map((r) => r.value));
          if (n.args.name) names.add(n.args.name);
          for (const ev of names) sel.append(h("option", { value: ev, selected: n.args.name === ev || null }, valueWords("event", ev) || ev));
        });
        sel.addEventListener("change", () => { n.args.name = sel.value; changed(); });
        parts.push(sel);
      }
      const since = h("label", { class: "since" }, h("input", { type: "checkbox", checked: n.args.date ? true : null, onchange: (e) => { if (e.target.checked) n.args.date = "-90d"; else delete n.args.date; changed(); } }), ` ${t("since")} `);
      parts.push(since);
      if (n.args.date) parts.push(dateInput(arg("date").get, arg("date").set, ">="));
      if (n.fn === "products_purchased") parts.push(yesNo(n));
      else {
        const op = h("select", { class: "op" }, OPS.number.slice(0, 6).map((o) => h("option", { value: o, selected: n.op === o || null }, opWords(o, "number"))));
        op.addEventListener("change", () => { n.op = op.value; changed(); });
        const v = h("input", { type: "number", class: "value", value: n.value || "", "aria-label": t("value") });
        v.addEventListener("input", () => { n.value = v.value; clearTimeout(v._t); v._t = setTimeout(changed, 300); });
        parts.push(op, v);
      }
      return h("span", { class: "fn-args" }, parts);
    }
    function yesNo(n) {
      const sel = h("select", { class: "value" }, h("option", { value: "true", selected: n.value !== "false" || null }, t("yes")), h("option", { value: "false", selected: n.value === "false" || null }, t("no")));
      sel.addEventListener("change", () => { n.value = sel.value; changed(); });
      return sel;
    }

    function condView(n, parent) {
      const remove = h("button", { class: "small danger", onclick: () => { parent.children.splice(parent.children.indexOf(n), 1); changed(); } }, "✕");
      if (n.kind === "raw") {
        const input = h("input", { class: "raw", value: n.text, "aria-label": t("raw") });
        input.addEventListener("change", () => { n.text = input.value; changed(); });
        return h("div", { class: "cond", "data-kind": "raw" }, negateBox(n), input, remove);
      }
      const parts = [negateBox(n), fieldPicker(n)];
      if (!n.fn) {
        const type = fieldType(n.field);
        const op = h("select", { class: "op", "aria-label": t("operator") }, OPS[type].map((o) => h("option", { value: o, selected: n.op === o || null }, opWords(o, type))));
        op.addEventListener("change", () => { n.op = op.value; changed(); });
        parts.push(op);
      }
      parts.push(valueInput(n), remove);
      return h("div", { class: "cond", "data-kind": "cond" }, parts);
    }

    // ------------------------------------------------------------ save form
    // a built-in is never overwritten here: "copy and edit" starts a new segment from it
    let editing = null;
    if (name) {
      const sg = await api(`/api/segments/${encodeURIComponent(name)}`);
      if (sg.builtin) from = name; else editing = sg;
    }
    const source = from ? await api(`/api/segments/${encodeURIComponent(from)}`) : null;
    const nameIn = h("input", { id: "seg-name", required: true, pattern: "[a-z][a-z0-9_]{0,62}", placeholder: t("name_hint"), readonly: editing ? true : null });
    const goalSel = h("select", { id: "seg-goal" }, App.vocab.goals.map((g) => h("option", { value: g.goal }, label(g))));
    const titleKo = h("input", { id: "seg-title-ko", placeholder: "한국어", lang: "ko" });
    const titleEn = h("input", { id: "seg-title-en", placeholder: "English", lang: "en" });
    const descIn = h("textarea", { id: "seg-desc", rows: 2 });
    const saveMsg = h("div", {});
    const save = h("button", { class: "primary", id: "save", onclick: async () => {
      const query = qtext.value.trim();
      const title = {}; if (titleKo.value.trim()) title.ko = titleKo.value.trim(); if (titleEn.value.trim()) title.en = titleEn.value.trim();
      const desc = descIn.value.trim();
      const body = { query, title, goal: goalSel.value, description: desc ? { [App.lang]: desc } : {} };
      try {
        const r = editing
          ? await api(`/api/segments/${encodeURIComponent(editing.name)}`, { method: "PUT", json: body })
          : await api("/api/segments", { json: Object.assign({ name: nameIn.value.trim() }, body) });
        saveMsg.replaceChildren(h("p", { class: "ok" }, t("saved_ok", { n: r.name })));
        location.hash = `#/segment/${encodeURIComponent(r.name)}`;
      } catch (e) { saveMsg.replaceChildren(errorBox(e)); }
    } }, editing ? t("save_changes") : t("save_segment"));

    if (editing) {
      query = editing.query;
      nameIn.value = editing.name; goalSel.value = editing.goal;
      titleKo.value = editing.title.ko || ""; titleEn.value = editing.title.en || "";
      descIn.value = editing.description[App.lang] || "";
    } else if (source) {
      query = source.query;
      goalSel.value = source.goal;
      titleKo.value = source.title.ko ? `${source.title.ko} (사본)` : "";
      titleEn.value = source.title.en ? `${source.title.en} (copy)` : "";
    }
    main.append(h("h1", {}, editing ? t("builder_edit", { n: label(editing.title) }) : source ? t("builder_copy", { n: label(source.title) }) : t("builder_title")));
    if (source) main.append(h("p", { class: "muted", id: "copy-note" }, t("copy_note")));
    main.append(h("div", { class: "builder" },
      card(null, treeBox),
      h("div", { class: "side" },
        h("section", { class: "card count-card" }, h("h2", {}, t("live_count")), h("div", { class: "count-row" }, count, share, countNote), preview),
        card(t("query_text"), qtext, qerr),
        card(t("save_segment"),
          h("label", {}, t("name"), nameIn), h("label", {}, t("goal"), goalSel),
          h("label", {}, `${t("seg_title")} (${t("in_korean")})`, titleKo), h("label", {}, `${t("seg_title")} (${t("in_english")})`, titleEn),
          h("label", {}, t("description"), descIn),
          save, saveMsg))));
    if (query) { qtext.value = query; await applyText(); } else { st.root.children.push(newCond()); changed(); }
  }

  window.Builder = { page, toWhere, fromWhere, parseCond };
})();
