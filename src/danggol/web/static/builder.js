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
  const PICKED = { customer_regions: "customer_regions", customer_cities: "customer_cities", customer_countries: "customer_countries", customer_tags: "customer_tags", signup_channel: "signup_channel", favourite_category: "categories", customer_email_domain: "customer_email_domain", customer_account_status: "customer_account_status", companies: "companies" };
  //: the comparisons inside MATCHES ( … ), by the argument's type
  const MATCH_OPS = { text: ["=", "!=", "IN", "NOT IN"], tags: ["=", "!=", "IN", "NOT IN"], number: ["=", "!=", ">", ">=", "<", "<=", "BETWEEN"], date: [">=", ">", "<=", "<", "=", "BETWEEN"] };
  MATCH_OPS.integer = MATCH_OPS.number;
  //: the older functions the builder still offers (products_purchased and events are MATCHES now)
  const OLD_FUNCTIONS = new Set(["number_of_orders", "amount_spent", "anniversary", "in_segment"]);
  //: pickers whose values are codes shown in words (a choice rather than a search)
  const CODED = new Set(["event", "channel"]);
  const DATE_RE = /^(?:[+-]?\d+[dwmy]|today|yesterday|\d+_days_ago|\d{4}-\d{2}-\d{2})$/;
  const matchSpec = (name) => (App.vocab.matches || []).find((m) => m.name === name);
  const argSpec = (fn, arg) => { const m = matchSpec(fn); return m ? m.args.find((a) => a.name === arg) : null; };
  //: which picker lists the shop's values of a MATCHES argument (an order's id is no product)
  function argPick(fn, arg) {
    if (arg === "category") return "categories";
    if (arg === "tag") return "product_tags";
    if (arg === "product_id" || (arg === "id" && ["products_purchased", "product_viewed", "abandoned_checkouts", "events"].includes(fn))) return "products";
    if (fn === "events" && arg === "name") return "event";
    if (fn === "orders_placed" && (arg === "channel" || arg === "coupon_code")) return arg;
    return null;
  }

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
    if (type === "date") return DATE_RE.test(text) ? text : null;
    return quote(text);
  }
  //: one comparison as text (a field's, or a MATCHES argument's), or null while incomplete
  function compareText(left, type, op, value, value2) {
    if (NO_VALUE.has(op)) return `${left} ${op}`;
    if (op === "IN" || op === "NOT IN") {
      const items = String(value || "").split(",").map((x) => literal(type, x)).filter(Boolean);
      return items.length ? `${left} ${op} (${items.join(", ")})` : null;
    }
    if (op.endsWith("BETWEEN")) {
      const a = literal(type, value), b = literal(type, value2);
      return a && b ? `${left} ${op} ${a} AND ${b}` : null;
    }
    const v = literal(type === "tags" ? "text" : type, value);
    return v === null ? null : `${left} ${op} ${v}`;
  }
  function condText(n) {
    if (n.kind === "raw") return n.text.trim() || null;
    if (n.match) return matchText(n);
    if (n.fn) return fnText(n);
    return compareText(n.field, fieldType(n.field), n.op, n.value, n.value2);
  }
  //: products_purchased MATCHES (id IN ('A', 'B'), date >= -3m): the tests not yet filled in
  //: are left out, so that the count follows what is complete
  function matchText(n) {
    const tests = n.tests.map((x) => { const a = argSpec(n.match, x.arg); return a ? compareText(x.arg, a.type, x.op, x.value, x.value2) : null; }).filter((x) => x !== null);
    return `${n.match} ${n.matchNot ? "NOT MATCHES" : "MATCHES"} (${tests.join(", ")})`;
  }
  function fnText(n) {
    const args = [];
    if (n.fn === "in_segment") return n.args.segment ? `in_segment(${quote(n.args.segment)}) = ${n.value === "false" ? "false" : "true"}` : null;
    if (n.fn === "anniversary") return compareText(`anniversary(date: ${quote(n.args.date || "birth_date")})`, "date", n.op, n.value, n.value2);
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
  //: the right side of "x OP rest" into the model's value (and value2); null when the
  //: builder's inputs cannot show it (the condition then stays as text)
  function parseRight(node, type, op, rest) {
    const ok = (v) => type !== "date" || DATE_RE.test(v);
    if (NO_VALUE.has(op)) return node;
    if (op.endsWith("BETWEEN")) {
      const [a, b] = splitTop(rest, " AND ");
      node.value = unquote(a || ""); node.value2 = unquote(b || "");
      return ok(node.value) && ok(node.value2) ? node : null;
    }
    if (op.endsWith("IN")) {
      const items = splitTop(rest.replace(/^\(|\)$/g, ""), ",").map(unquote);
      node.value = items.join(", ");
      return items.every(ok) ? node : null;
    }
    node.value = unquote(rest);
    return ok(node.value) ? node : null;
  }
  const MATCH_RE = /^([a-z_][a-z0-9_]*) (NOT MATCHES|MATCHES) \((.*)\)$/;
  const TEST_RE = /^([a-z_][a-z0-9_]*) (NOT BETWEEN|BETWEEN|NOT IN|IN|!=|>=|<=|=|>|<)(?: (.*))?$/;
  function parseCond(text) {
    const mt = MATCH_RE.exec(text);
    if (mt && matchSpec(mt[1])) {
      const node = { kind: "cond", match: mt[1], matchNot: mt[2] === "NOT MATCHES", tests: [] };
      for (const part of mt[3].trim() ? splitTop(mt[3], ",") : []) {
        const m = TEST_RE.exec(part);
        const a = m && argSpec(mt[1], m[1]);
        if (!a || !(MATCH_OPS[a.type] || []).includes(m[2])) return null;
        const tst = parseRight({ arg: m[1], op: m[2], value: "", value2: "" }, a.type, m[2], m[3] || "");
        if (!tst) return null;
        node.tests.push(tst);
      }
      return node;
    }
    const fn = /^([a-z_]+)\((.*)\) (NOT BETWEEN|BETWEEN|>=|<=|!=|=|>|<) (.+)$/.exec(text);
    if (fn && OLD_FUNCTIONS.has(fn[1])) {
      const node = { kind: "cond", fn: fn[1], args: {}, op: fn[3], value: fn[4], value2: "" };
      for (const part of fn[2] ? splitTop(fn[2], ",") : []) {
        const m = /^([a-z_]+):\s*(.+)$/.exec(part);
        if (m) node.args[m[1]] = m[1] === "date" && fn[1] !== "anniversary" ? m[2].trim() : unquote(m[2]);
        else if (fn[1] === "in_segment") node.args.segment = unquote(part);
        else return null;
      }
      if (fn[1] === "anniversary") return parseRight(node, "date", fn[3], fn[4]);
      if (fn[3].endsWith("BETWEEN")) return null;
      return node;
    }
    const m = OP_RE.exec(text);
    if (!m || !fieldType(m[1])) return null;
    return parseRight({ kind: "cond", field: m[1], op: m[2], value: "", value2: "" }, fieldType(m[1]), m[2], m[3] || "");
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
    // values that name nothing in this shop (a product, category, event, region): the count
    // still runs, but a typo would count 0 without a word
    const warns = h("ul", { id: "value-warnings", class: "warnings", role: "status" });
    const showWarnings = (list) => warns.replaceChildren(...(list || []).map((w) => h("li", { class: "warn", "data-kind": w.kind, "data-value": w.value }, `⚠ ${w[App.lang] || w.en}`)));
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
      if (n === null) { preview.replaceChildren(); warns.replaceChildren(); }
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
          if (seq === st.seq) { setCount(r.count); count.dataset.query = r.query; showWarnings(r.warnings); showPreview(body, seq); }
        } catch (e) { if (seq === st.seq) { qerr.replaceChildren(errorBox(e)); setCount(null); } }
        count.classList.remove("pending");
      }, 250);
    }
    async function applyText(opening) {
      const text = qtext.value.trim();
      const seq = ++st.seq;
      if (!text) { st.root = newGroup("all"); renderTree(); setCount(null); return; }
      try {
        const r = await api("/api/query/parse", { json: { query: text } });
        if (seq !== st.seq) return;
        qerr.replaceChildren();
        if (opening === true) qtext.value = r.query; // a query opened here reads in its one printed form
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
      const records = h("optgroup", { label: t("behaviour_matches") });
      for (const m of App.vocab.matches || []) records.append(h("option", { value: `match:${m.name}`, selected: n.match === m.name || null }, `${label(m)} (${t("records")})`));
      const fns = h("optgroup", { label: t("behaviour") });
      for (const f of App.vocab.functions.filter((x) => OLD_FUNCTIONS.has(x.name))) fns.append(h("option", { value: `fn:${f.name}`, selected: n.fn === f.name || null }, `${label(f)} (${t("in_period")})`));
      sel.append(fields, records, fns);
      sel.addEventListener("change", () => {
        const v = sel.value;
        for (const k of ["field", "fn", "args", "value", "value2", "match", "matchNot", "tests"]) delete n[k];
        if (v.startsWith("match:")) {
          // a new MATCHES starts with the function's first row test and the last 90 days
          n.match = v.slice(6); n.matchNot = false; n.tests = [];
          const spec = matchSpec(n.match);
          const first = spec.args.find((a) => !a.aggregate && a.type !== "date");
          if (first) n.tests.push({ arg: first.name, op: "=", value: "", value2: "" });
          if (spec.args.some((a) => a.name === "date")) n.tests.push({ arg: "date", op: ">=", value: "-90d", value2: "" });
        } else if (v === "fn:anniversary") {
          n.fn = "anniversary"; n.args = { date: "birth_date" }; n.op = "BETWEEN"; n.value = "today"; n.value2 = "+30d";
        } else if (v.startsWith("fn:")) {
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
      // a day counted from the as-of date, back (-90d) or ahead (+30d), the day itself, or an
      // exact date, in words that follow the operator: "최근 [90][일] 이내" (>=), "[90][일]
      // 전보다 이전" (<), "[30][일] 후" (ahead)
      const v = get() || "";
      let kind = "ago", amountV = "90", unitV = "d", dayV = "", m;
      if (/^\d{4}-\d{2}-\d{2}$/.test(v)) { kind = "date"; dayV = v; }
      else if (v === "today") kind = "today";
      else if (v === "yesterday") amountV = "1";
      else if ((m = /^(\d+)_days_ago$/.exec(v))) amountV = m[1];
      else if ((m = /^([+-]?)(\d+)([dwmy])$/.exec(v))) { kind = m[1] === "+" ? "ahead" : "ago"; amountV = m[2]; unitV = m[3]; }
      const mode = h("select", { class: "date-mode", "aria-label": t("date_mode") },
        [["ago", "date_relative"], ["ahead", "date_ahead"], ["today", "date_today"], ["date", "date_exact"]].map(([k, w]) => h("option", { value: k, selected: kind === k || null }, t(w))));
      const amount = h("input", { type: "number", min: 0, class: "amount", value: amountV, "aria-label": t("value") });
      const unit = h("select", { class: "unit", "aria-label": t("unit") }, UNITS.map((u) => h("option", { value: u, selected: unitV === u || null }, t(UNIT_WORDS[u]))));
      const day = h("input", { type: "date", value: dayV, "aria-label": t("date_exact") });
      const box = h("span", { class: "date-input" });
      const slug = OP_SLUG[op] || "ge";
      const before = t(`ago_before_${slug}`), after = t(`ago_after_${slug}`);
      const text = () => {
        if (mode.value === "today") return "today";
        if (mode.value === "date") return day.value;
        const k = Number(amount.value || 0);
        if (k === 0) return "today";
        return `${mode.value === "ahead" ? "+" : "-"}${k}${unit.value}`;
      };
      const sync = () => { set(text()); changed(); };
      const show = () => box.replaceChildren(mode, ...(
        mode.value === "ago" ? [before ? h("span", { class: "muted small" }, before) : null, amount, unit, h("span", { class: "muted small date-words" }, after)]
          : mode.value === "ahead" ? [amount, unit, h("span", { class: "muted small date-words" }, t("ahead_after"))]
            : mode.value === "date" ? [day] : []).filter(Boolean));
      mode.addEventListener("change", () => { show(); sync(); });
      for (const el of [amount, unit, day]) el.addEventListener("change", sync);
      if (!v) set("-90d");
      show();
      return box;
    }

    //: several values (IN, NOT IN) picked one by one: chips with a remove button
    function multiInput(get, set, adder, wordsOf) {
      const vals = () => String(get() || "").split(",").map((x) => x.trim()).filter(Boolean);
      const chips = vals().map((v) => h("span", { class: "chip", "data-value": v }, wordsOf(v),
        h("button", { class: "small chip-x", type: "button", "aria-label": t("remove"), onclick: () => { set(vals().filter((x) => x !== v).join(", ")); changed(); } }, "✕")));
      const add = (v) => { if (v && !vals().includes(v)) { set([...vals(), v].join(", ")); changed(); } };
      return h("span", { class: "multi" }, chips, adder(add));
    }

    //: the input of one value: a date, yes/no, a choice, a picker of the shop's values, a
    //: number or text; ``o[key]`` holds it
    function oneInput(o, key, { type, op, pick, values, wordsOf }) {
      const get = () => o[key], set = (v) => { o[key] = v; };
      const words = (v) => { const w = wordsOf(v); return w ? w : dv(v); };
      if (type === "date") return dateInput(get, set, op);
      if (type === "boolean") {
        const sel = h("select", { class: "value" }, h("option", { value: "true", selected: o[key] !== "false" || null }, t("yes")), h("option", { value: "false", selected: o[key] === "false" || null }, t("no")));
        sel.addEventListener("change", () => { set(sel.value); changed(); });
        return sel;
      }
      const list = op === "IN" || op === "NOT IN";
      if (values && values.length) {
        const choose = (onPick, current) => {
          const sel = h("select", { class: "value" }, h("option", { value: "" }, "…"), values.map((v) => h("option", { value: v, selected: current === v || null }, wordsOf(v) || v)));
          sel.addEventListener("change", () => onPick(sel.value));
          return sel;
        };
        if (list) return multiInput(get, set, (add) => choose(add, ""), words);
        return choose((v) => { set(v); changed(); }, o[key]);
      }
      if (CODED.has(pick)) {
        // coded values (event names, order channels): a choice in words, of the shop's values
        const choose = (onPick, current) => {
          const sel = h("select", { class: `value coded ${pick}`, "aria-label": t(`pick_${pick}`) }, h("option", { value: "" }, t(`pick_${pick}`)));
          if (current) sel.append(h("option", { value: current, selected: true }, wordsOf(current) || current));
          api(`/api/values/${pick}?limit=200`).then((rows) => {
            for (const r of rows) if (r.value !== current) sel.append(h("option", { value: r.value }, wordsOf(r.value) || r.value));
            sel.dataset.loaded = String(rows.length);
          }).catch(() => {});
          sel.addEventListener("change", () => onPick(sel.value));
          return sel;
        };
        if (list) return multiInput(get, set, (add) => choose(add, ""), words);
        return choose((v) => { set(v); changed(); }, o[key]);
      }
      if (pick) {
        if (list) return multiInput(get, set, (add) => { const box = valuePicker(pick, "", add, { placeholder: t("pick_more"), "aria-label": t("pick_more") }); return box; }, words);
        return valuePicker(pick, get() || "", (v) => { set(v); changed(); });
      }
      const numeric = type === "number" || type === "integer";
      const pct = /percentile/.test(String(o.field || ""));
      const input = h("input", { class: "value", type: numeric && !list ? "number" : "text", value: o[key] || "", placeholder: pct ? t("percentile_hint") : list ? t("list_hint") : "", min: pct ? 0 : null, max: pct ? 100 : null, step: "any", "aria-label": t("value") });
      input.addEventListener("input", () => { set(input.value); clearTimeout(input._t); input._t = setTimeout(changed, 300); });
      return input;
    }
    function betweenOr(o, opts) {
      if (opts.op.endsWith("BETWEEN")) return h("span", { class: "between" }, oneInput(o, "value", opts), ` ${t("and_between")} `, oneInput(o, "value2", opts));
      return oneInput(o, "value", opts);
    }

    function valueInput(n) {
      if (n.match) return null;
      if (n.fn) return fnInputs(n);
      const type = fieldType(n.field);
      if (NO_VALUE.has(n.op)) return null;
      const f = App.vocab.fields.find((x) => x.name === n.field);
      return betweenOr(n, { type, op: n.op, pick: PICKED[n.field] || null, values: type === "enum" ? f.values : null, wordsOf: (v) => valueName(n.field, v) });
    }

    //: products_purchased MATCHES ( … ): whether a matching record exists, and its tests
    function matchInputs(n) {
      const spec = matchSpec(n.match);
      const yes = h("select", { class: "match-not", "aria-label": t("match_yes") },
        h("option", { value: "", selected: !n.matchNot || null }, t("match_yes")),
        h("option", { value: "not", selected: n.matchNot || null }, t("match_no")));
      yes.addEventListener("change", () => { n.matchNot = yes.value === "not"; changed(); });
      const rows = n.tests.map((x) => {
        const a = argSpec(n.match, x.arg);
        const argSel = h("select", { class: "arg-pick", "aria-label": t("detail") }, spec.args.map((y) => h("option", { value: y.name, selected: y.name === x.arg || null }, y.aggregate ? `${label(y)} ${t("agg_note")}` : label(y))));
        argSel.addEventListener("change", () => {
          const b = argSpec(n.match, argSel.value);
          Object.assign(x, { arg: b.name, op: MATCH_OPS[b.type][0], value: b.type === "date" ? "-90d" : "", value2: "" });
          changed();
        });
        const op = h("select", { class: "op", "aria-label": t("operator") }, MATCH_OPS[a.type].map((o) => h("option", { value: o, selected: x.op === o || null }, opWords(o, a.type))));
        op.addEventListener("change", () => {
          x.op = op.value;
          if (x.op.endsWith("IN") || x.op === "BETWEEN") x.value2 = a.type === "date" ? "today" : x.value2;
          changed();
        });
        const pick = argPick(n.match, x.arg);
        const value = betweenOr(x, { type: a.type, op: x.op, pick, values: null, wordsOf: (v) => (pick === "event" || pick === "channel" ? valueWords(pick, v) : null) });
        const remove = h("button", { class: "small danger", type: "button", "aria-label": t("remove"), onclick: () => { n.tests.splice(n.tests.indexOf(x), 1); changed(); } }, "✕");
        return h("div", { class: "match-test", "data-arg": x.arg }, argSel, op, value, remove);
      });
      const add = h("button", { class: "small add-detail", type: "button", onclick: () => {
        const used = new Set(n.tests.map((x) => x.arg));
        const b = spec.args.find((y) => !used.has(y.name)) || spec.args[0];
        n.tests.push({ arg: b.name, op: MATCH_OPS[b.type][0], value: b.type === "date" ? "-90d" : "", value2: "" });
        changed();
      } }, t("add_detail"));
      return h("div", { class: "match-box" }, yes, rows.length ? rows : h("p", { class: "muted small" }, t("match_any")), add);
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
      if (n.fn === "anniversary") {
        // anniversary(date: 'birth_date') BETWEEN today AND +30d: the next one, on or after the as-of date
        const known = (App.vocab.anniversary_dates || []).filter((d) => valueWords("anniversary_date", d) || d === n.args.date);
        const which = h("select", { class: "value anniversary-pick", "aria-label": t("anniversary_of") }, known.map((d) => h("option", { value: d, selected: n.args.date === d || null }, valueWords("anniversary_date", d) || d)));
        which.addEventListener("change", () => { n.args.date = which.value; changed(); });
        const op = h("select", { class: "op", "aria-label": t("operator") }, OPS.date.filter((o) => !NO_VALUE.has(o)).map((o) => h("option", { value: o, selected: n.op === o || null }, opWords(o, "date"))));
        op.addEventListener("change", () => { n.op = op.value; if (n.op === "BETWEEN" && !n.value2) n.value2 = "+30d"; changed(); });
        parts.push(h("span", { class: "muted small" }, t("anniversary_of")), which, op, betweenOr(n, { type: "date", op: n.op, pick: null, values: null, wordsOf: () => null }));
        return h("span", { class: "fn-args" }, parts);
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
      if (n.match) {
        parts.push(remove);
        return h("div", { class: "cond match", "data-kind": "match", "data-match": n.match }, h("div", { class: "cond-head" }, parts), matchInputs(n));
      }
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
        h("section", { class: "card count-card" }, h("h2", {}, t("live_count")), h("div", { class: "count-row" }, count, share, countNote), warns, preview),
        card(t("query_text"), qtext, qerr),
        card(t("save_segment"),
          h("label", {}, t("name"), nameIn), h("label", {}, t("goal"), goalSel),
          h("label", {}, `${t("seg_title")} (${t("in_korean")})`, titleKo), h("label", {}, `${t("seg_title")} (${t("in_english")})`, titleEn),
          h("label", {}, t("description"), descIn),
          save, saveMsg))));
    if (query) { qtext.value = query; await applyText(true); } else { st.root.children.push(newCond()); changed(); }
  }

  window.Builder = { page, toWhere, fromWhere, parseCond };
})();
