// danggol dashboard: one page, hash routes, vanilla JS. Every data value goes into the page as
// text (textContent / setAttribute), never as markup.
"use strict";

const App = {
  lang: "ko",
  status: null,
  vocab: null,
  refreshTimer: null,
};

// ------------------------------------------------------------------------------------
// words, numbers and dates
// ------------------------------------------------------------------------------------

function t(key, vars) {
  const table = window.I18N[App.lang] || window.I18N.ko;
  let text = key in table ? table[key] : key;
  for (const [k, v] of Object.entries(vars || {})) text = text.split(`{${k}}`).join(String(v));
  return text;
}
const locale = () => (App.lang === "ko" ? "ko-KR" : "en-US");
const label = (item) => (item ? item[App.lang] || item.en || item.ko || "" : "");

function fmtInt(n) {
  return n === null || n === undefined ? "–" : new Intl.NumberFormat(locale()).format(Math.round(n));
}
function fmtNum(n, digits = 2) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(n);
}
function fmtPct(x, digits = 1) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  return new Intl.NumberFormat(locale(), { style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits }).format(x);
}
function fmtMoney(v, compact = false) {
  if (v === null || v === undefined) return "–";
  const currency = (App.status && App.status.currency) || "KRW";
  if (compact && App.lang === "ko" && currency === "KRW") {
    const a = Math.abs(v);
    if (a >= 1e8) return `${fmtNum(v / 1e8, 1)}억원`;
    if (a >= 1e4) return `${fmtInt(v / 1e4)}만원`;
    return `${fmtInt(v)}원`;
  }
  const opts = { style: "currency", currency };
  if (compact) Object.assign(opts, { notation: "compact", maximumFractionDigits: 1 });
  return new Intl.NumberFormat(locale(), opts).format(v);
}
function fmtDate(iso) {
  if (!iso) return "–";
  const d = new Date(iso.length === 10 ? `${iso}T00:00:00` : iso);
  if (Number.isNaN(d.getTime())) return iso;
  const opts = iso.length === 10 ? { dateStyle: "medium" } : { dateStyle: "medium", timeStyle: "short" };
  return new Intl.DateTimeFormat(locale(), opts).format(d);
}
function fieldLabel(name) {
  const f = App.vocab && App.vocab.fields.find((x) => x.name === name);
  return f ? label(f) : name;
}
function fmtValue(name, v) {
  if (v === null || v === undefined) return "–";
  const f = App.vocab && App.vocab.fields.find((x) => x.name === name);
  if (f && f.money) return fmtMoney(v);
  const names = App.vocab && App.vocab.value_labels[name];
  if (names && names[v]) return label(names[v]);
  if (typeof v === "boolean") return v ? t("yes") : t("no");
  if (typeof v === "number") return Number.isInteger(v) ? fmtInt(v) : fmtNum(v);
  if (Array.isArray(v)) return v.join(", ");
  if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}/.test(v)) return fmtDate(v);
  return String(v);
}

// ------------------------------------------------------------------------------------
// DOM and SVG
// ------------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const SVGNS = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
function svgText(x, y, text, attrs) {
  return s("text", Object.assign({ x, y }, attrs || {}), text);
}
function card(title, ...body) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, ...body);
}
function inkOn(hex) {
  const n = parseInt(hex.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? "#1f2933" : "#ffffff";
}

// ------------------------------------------------------------------------------------
// the API
// ------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || { code: "error", message: `HTTP ${status}` };
    super(e.message);
    this.status = status;
    this.detail = e;
  }
}
async function api(path, options) {
  const opts = Object.assign({ headers: {} }, options || {});
  if (opts.json !== undefined) {
    opts.method = opts.method || "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(opts.json);
    delete opts.json;
  }
  const r = await fetch(path, opts);
  if (r.status === 204) return null;
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) throw new ApiError(r.status, body);
  return body;
}
function errorBox(err) {
  const d = err.detail || { message: String(err) };
  return h("div", { class: "error", role: "alert" },
    h("strong", {}, `${t("error")}: `), d.message,
    d.suggestion ? h("span", {}, ` — ${App.lang === "ko" ? "혹시" : "did you mean"} '${d.suggestion}'?`) : null,
    d.caret ? h("pre", { class: "caret" }, d.caret) : null);
}
function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") u.set(k, v);
  const text = u.toString();
  return text ? `?${text}` : "";
}

// ------------------------------------------------------------------------------------
// charts
// ------------------------------------------------------------------------------------

function sparkline(values, w = 110, hgt = 28) {
  const svg = s("svg", { width: w, height: hgt, viewBox: `0 0 ${w} ${hgt}`, class: "spark", role: "img" });
  if (!values.length) return svg;
  const max = Math.max(...values), min = Math.min(...values), span = max - min || 1;
  const step = values.length > 1 ? (w - 4) / (values.length - 1) : 0;
  const pts = values.map((v, i) => `${2 + i * step},${hgt - 3 - ((v - min) / span) * (hgt - 6)}`);
  if (values.length === 1) pts.push(`${w - 2},${pts[0].split(",")[1]}`);
  svg.append(s("polyline", { points: pts.join(" "), fill: "none", stroke: "#3d8fc6", "stroke-width": 2 }));
  return svg;
}

function lineChart(points, opts) {
  // points: [{x: label, y: number}]
  const w = 560, hgt = 220, left = 64, right = 12, top = 12, bottom = 36;
  const svg = s("svg", { viewBox: `0 0 ${w} ${hgt}`, class: "chart", role: "img", "aria-label": opts.title || "" });
  if (!points.length) { svg.append(svgText(12, 30, t("none"))); return svg; }
  const ys = points.map((p) => p.y), max = Math.max(...ys, 0) || 1;
  const step = points.length > 1 ? (w - left - right) / (points.length - 1) : 0;
  const X = (i) => left + i * step, Y = (v) => top + (1 - v / max) * (hgt - top - bottom);
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    svg.append(s("line", { x1: left, x2: w - right, y1: Y(v), y2: Y(v), stroke: "#e3e7ec" }));
    svg.append(svgText(left - 6, Y(v) + 4, opts.fmt ? opts.fmt(v) : fmtInt(v), { "text-anchor": "end", class: "axis" }));
  }
  svg.append(s("polyline", { points: points.map((p, i) => `${X(i)},${Y(p.y)}`).join(" "), fill: "none", stroke: "#1d4e89", "stroke-width": 2.5 }));
  points.forEach((p, i) => {
    svg.append(s("circle", { cx: X(i), cy: Y(p.y), r: 3.5, fill: "#1d4e89" }, s("title", {}, `${p.x}: ${opts.fmt ? opts.fmt(p.y) : fmtInt(p.y)}`)));
    if (points.length <= 12 || i % Math.ceil(points.length / 12) === 0)
      svg.append(svgText(X(i), hgt - 14, p.x, { "text-anchor": "middle", class: "axis" }));
  });
  return svg;
}

function funnelChart(funnel) {
  const w = 560, row = 38, hgt = funnel.length * row + 8, lw = 110, bw = 330;
  const max = Math.max(...funnel.map((f) => f.customers), 1);
  const total = funnel.reduce((a, f) => a + f.customers, 0) || 1;
  const svg = s("svg", { viewBox: `0 0 ${w} ${hgt}`, class: "chart funnel", role: "img", "aria-label": t("funnel") });
  funnel.forEach((f, i) => {
    const y = 4 + i * row, bar = Math.max(2, (f.customers / max) * bw);
    svg.append(svgText(lw - 8, y + 22, label(f), { "text-anchor": "end" }));
    svg.append(s("rect", { x: lw + (bw - bar) / 2, y: y + 4, width: bar, height: row - 10, rx: 4, fill: f.color, "data-stage": f.stage, "data-customers": f.customers }));
    svg.append(svgText(lw + bw + 10, y + 22, `${fmtInt(f.customers)} · ${fmtPct(f.customers / total)}`));
  });
  return svg;
}

function sharesChart(data) {
  const dates = [...new Set(data.rows.map((r) => r.as_of))].sort();
  const w = 560, hgt = 240, left = 44, top = 10, bottom = 56, bw = (w - left - 10) / Math.max(dates.length, 1);
  const svg = s("svg", { viewBox: `0 0 ${w} ${hgt}`, class: "chart", role: "img", "aria-label": t("shares") });
  const H = hgt - top - bottom;
  [0, 0.25, 0.5, 0.75, 1].forEach((v) => {
    svg.append(s("line", { x1: left, x2: w - 10, y1: top + (1 - v) * H, y2: top + (1 - v) * H, stroke: "#e3e7ec" }));
    svg.append(svgText(left - 6, top + (1 - v) * H + 4, fmtPct(v, 0), { "text-anchor": "end", class: "axis" }));
  });
  dates.forEach((d, i) => {
    let acc = 0;
    for (const st of data.stages) {
      const r = data.rows.find((x) => x.as_of === d && x.stage === st.stage);
      const share = r ? r.share || 0 : 0;
      const y = top + (1 - acc - share) * H;
      svg.append(s("rect", { x: left + i * bw + 3, y, width: bw - 6, height: share * H, fill: st.color },
        s("title", {}, `${d} ${label(st)}: ${fmtPct(share)} (${fmtInt(r ? r.customers : 0)})`)));
      acc += share;
    }
    svg.append(svgText(left + i * bw + bw / 2, hgt - bottom + 16, d.slice(0, 7), { "text-anchor": "middle", class: "axis" }));
  });
  data.stages.forEach((st, i) => {
    const x = left + (i % 5) * 100;
    svg.append(s("rect", { x, y: hgt - 24, width: 12, height: 12, fill: st.color }));
    svg.append(svgText(x + 16, hgt - 14, label(st), { class: "axis" }));
  });
  return svg;
}

function lorenzChart(conc) {
  const w = 380, hgt = 300, left = 48, top = 10, size = 240;
  const svg = s("svg", { viewBox: `0 0 ${w} ${hgt}`, class: "chart lorenz", role: "img", "aria-label": t("concentration") });
  const X = (v) => left + v * size, Y = (v) => top + (1 - v) * size;
  [0, 0.5, 1].forEach((v) => {
    svg.append(svgText(left - 6, Y(v) + 4, fmtPct(v, 0), { "text-anchor": "end", class: "axis" }));
    svg.append(svgText(X(v), top + size + 16, fmtPct(v, 0), { "text-anchor": "middle", class: "axis" }));
  });
  svg.append(s("rect", { x: left, y: top, width: size, height: size, fill: "none", stroke: "#d9dee4" }));
  svg.append(s("line", { x1: X(0), y1: Y(0), x2: X(1), y2: Y(1), stroke: "#9aa5b1", "stroke-dasharray": "4 4" }));
  const pts = (conc.lorenz || []).map(([x, y]) => `${X(x)},${Y(y)}`).join(" ");
  svg.append(s("polyline", { points: pts, fill: "none", stroke: "#c2342b", "stroke-width": 2.5 }));
  const top10 = (conc.tops || []).find((x) => Math.abs(x.top - 0.1) < 1e-9);
  if (top10 && top10.revenue_share !== null) {
    const y = Y(1 - top10.revenue_share);
    svg.append(s("line", { x1: X(0.9), x2: X(0.9), y1: Y(0), y2: y, stroke: "#1d4e89", "stroke-dasharray": "3 3" }));
    svg.append(svgText(X(0.9) - 6, y - 6, `${t("top10")} ${fmtPct(top10.revenue_share)}`, { "text-anchor": "end", class: "note", "font-weight": 700 }));
  }
  svg.append(svgText(left + size / 2, hgt - 10, t("x_buyers"), { "text-anchor": "middle", class: "axis" }));
  return svg;
}

function rfmGrid(rfm) {
  const n = rfm.size, cw = 112, ch = 70, left = 40, top = 30;
  const w = left + n * cw + 4, hgt = top + n * ch + 4;
  const svg = s("svg", { viewBox: `0 0 ${w} ${hgt}`, class: "chart rfm", role: "img", "aria-label": t("rfm") });
  const cells = new Map(rfm.cells.map((c) => [`${c.r}-${c.fm}`, c]));
  svg.append(svgText(left + (n * cw) / 2, 14, t("fm_axis"), { "text-anchor": "middle", "font-weight": 600 }));
  svg.append(svgText(12, top + (n * ch) / 2, t("r_axis"), { "text-anchor": "middle", "font-weight": 600, transform: `rotate(-90 12 ${top + (n * ch) / 2})` }));
  for (const m of rfm.map) {
    const row = n - m.r, col = n - m.fm, x = left + col * cw, y = top + row * ch;
    const c = cells.get(`${m.r}-${m.fm}`) || { customers: 0, revenue: 0, group: m.group };
    const fill = rfm.colors[c.group] || "#ccc", ink = inkOn(fill);
    const g = s("g", { class: "rfm-cell", tabindex: 0, role: "link", "data-r": m.r, "data-fm": m.fm, "data-group": c.group, "data-customers": c.customers });
    const go = () => { location.hash = `#/grid/${m.r}/${m.fm}/${encodeURIComponent(c.group)}`; };
    g.addEventListener("click", go);
    g.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
    g.append(s("title", {}, `R${m.r} · FM${m.fm} · ${label(rfm.groups[c.group])}: ${t("people", { n: fmtInt(c.customers) })}, ${fmtMoney(c.revenue)}`));
    g.append(s("rect", { x, y, width: cw, height: ch, fill, stroke: "#fff", "stroke-width": 2 }));
    g.append(svgText(x + 5, y + 12, `R${m.r}·FM${m.fm}`, { fill: ink, "font-size": 9, opacity: 0.7 }));
    g.append(svgText(x + cw / 2, y + 32, label(rfm.groups[c.group]), { fill: ink, "text-anchor": "middle", "font-weight": 700, "font-size": 11.5 }));
    g.append(svgText(x + cw / 2, y + 50, t("people", { n: fmtInt(c.customers) }), { fill: ink, "text-anchor": "middle", "font-size": 12 }));
    g.append(svgText(x + cw / 2, y + 64, fmtMoney(c.revenue, true), { fill: ink, "text-anchor": "middle", "font-size": 10, opacity: 0.85 }));
    svg.append(g);
  }
  return svg;
}

// ------------------------------------------------------------------------------------
// pages
// ------------------------------------------------------------------------------------

function kpi(name, shown, extra) {
  return h("div", { class: "kpi", "data-kpi": name }, h("div", { class: "kpi-label" }, t(name)), h("div", { class: "kpi-value" }, shown), extra ? h("div", { class: "kpi-extra" }, extra) : null);
}

async function pageOverview(main) {
  const o = await api("/api/overview");
  const sm = o.summary;
  const top10 = (o.concentration.tops || []).find((x) => Math.abs(x.top - 0.1) < 1e-9);
  main.append(h("h1", {}, t("nav_overview"), h("small", {}, ` ${t("as_of", { d: fmtDate(o.as_of) })}`)));
  main.append(h("div", { class: "kpis" },
    kpi("customers", fmtInt(sm.customers)),
    kpi("buyers", fmtInt(sm.buyers)),
    kpi("revenue", fmtMoney(sm.revenue, true), fmtMoney(sm.revenue)),
    kpi("repeat_rate", fmtPct(sm.repeat_rate)),
    kpi("aov", fmtMoney(sm.aov)),
    kpi("top10", fmtPct(top10 ? top10.revenue_share : sm.top10_share))));
  const shares = h("div", { class: "chart-box" }, h("p", { class: "muted" }, t("loading")));
  main.append(h("div", { class: "two" },
    card(t("funnel"), funnelChart(o.funnel)),
    card(t("shares"), shares)));
  main.append(h("div", { class: "two" },
    card(t("rfm"), h("p", { class: "muted" }, t("rfm_note")), h("div", { class: "scroll" }, rfmGrid(o.rfm)),
      h("p", { class: "muted" }, t("prospects_note", { n: fmtInt(o.rfm.prospects) }))),
    card(t("concentration"), lorenzChart(o.concentration), h("p", { class: "muted" }, `${t("gini")} ${fmtNum(o.concentration.gini, 3)}`))));
  // computed in the background on a large shop: the API answers 202 until it is ready
  const here = location.hash;
  const loadShares = () => api("/api/analytics/lifecycle?months=6").then((data) => {
    if (data && data.state === "computing") { if (location.hash === here) setTimeout(loadShares, 1000); return; }
    shares.replaceChildren(sharesChart(data));
  }).catch((e) => shares.replaceChildren(errorBox(e)));
  loadShares();
}

async function pageSegments(main) {
  const items = await api("/api/segments");
  main.append(h("div", { class: "title-row" }, h("h1", {}, t("segments_title")), h("a", { class: "button primary", href: "#/builder" }, t("new_segment"))));
  const row = (sg) => h("tr", { "data-segment": sg.name },
    h("td", {}, h("a", { href: `#/segment/${encodeURIComponent(sg.name)}` }, label(sg.title)), h("div", { class: "muted small" }, sg.name, " · ", sg.builtin ? t("builtin") : t("saved"))),
    h("td", { class: "num" }, sg.size === null ? h("span", { class: "muted small" }, t("needs", { p: sg.needs.join(", ") })) : fmtInt(sg.size)),
    h("td", { class: "num" }, fmtPct(sg.customer_share)),
    h("td", { class: "num" }, fmtPct(sg.revenue_share)),
    h("td", {}, sg.trend.length ? sparkline(sg.trend.map((x) => x.size)) : h("span", { class: "muted" }, "–")));
  const table = (list) => h("div", { class: "scroll" }, h("table", { class: "data seglist" },
    h("thead", {}, h("tr", {}, h("th", {}, t("name")), h("th", { class: "num" }, t("size")), h("th", { class: "num" }, t("share_customers")), h("th", { class: "num" }, t("share_revenue")), h("th", {}, t("trend")))),
    h("tbody", {}, list.map(row))));
  const own = items.filter((x) => !x.builtin);
  if (own.length) main.append(card(t("shop_segments"), table(own)));
  const goals = [...new Set(items.filter((x) => x.builtin).map((x) => x.goal))];
  const lib = card(t("library"));
  for (const g of goals) {
    const list = items.filter((x) => x.builtin && x.goal === g);
    lib.append(h("h3", {}, label(list[0].goal_title)), table(list));
  }
  main.append(lib);
}

function membersTable(fetchPage, opts) {
  // fetchPage({page, sort, order, search}) -> {total, page, pages, fields, rows}
  const st = { page: 1, sort: opts.sort || "customer_id", order: opts.order || "asc", search: "" };
  const box = h("div", { class: "members" });
  const info = h("span", { class: "muted" });
  const search = h("input", { type: "search", placeholder: t("search"), "aria-label": t("search"), class: "search" });
  let timer = null;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { st.search = search.value; st.page = 1; load(); }, 250); });
  const tableBox = h("div", { class: "scroll" });
  const prev = h("button", { onclick: () => { st.page -= 1; load(); } }, t("prev"));
  const next = h("button", { onclick: () => { st.page += 1; load(); } }, t("next"));
  box.append(h("div", { class: "toolbar" }, search, opts.extra || null), tableBox, h("div", { class: "pager" }, prev, info, next));
  async function load() {
    try {
      const r = await fetchPage(st);
      info.textContent = `${t("page", { p: fmtInt(r.page), n: fmtInt(r.pages) })} · ${t("people", { n: fmtInt(r.total) })}`;
      prev.disabled = r.page <= 1;
      next.disabled = r.page >= r.pages;
      if (!r.rows.length) { tableBox.replaceChildren(h("p", { class: "muted" }, t("no_members"))); return; }
      const head = r.fields.map((f) => h("th", { class: typeof r.rows[0][f] === "number" ? "sortable num" : "sortable", "data-field": f, onclick: () => { st.order = st.sort === f && st.order === "asc" ? "desc" : "asc"; st.sort = f; st.page = 1; load(); } },
        fieldLabel(f), st.sort === f ? (st.order === "asc" ? " ▲" : " ▼") : ""));
      const rows = r.rows.map((row) => h("tr", {}, r.fields.map((f) => h("td", { class: typeof row[f] === "number" ? "num" : "" },
        f === "customer_id" ? h("a", { href: `#/customer/${encodeURIComponent(row[f])}` }, row[f]) : fmtValue(f, row[f])))));
      tableBox.replaceChildren(h("table", { class: "data", "data-total": r.total }, h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows)));
    } catch (e) {
      tableBox.replaceChildren(errorBox(e));
    }
  }
  load();
  return box;
}

const MEMBER_FIELDS = ["customer_id", "amount_spent", "number_of_orders", "last_order_date", "rfm_group", "lifecycle_stage"];

async function pageSegment(main, name) {
  const sg = await api(`/api/segments/${encodeURIComponent(name)}`);
  main.append(h("div", { class: "title-row" },
    h("h1", {}, label(sg.title), h("small", {}, ` ${sg.name} · ${sg.builtin ? t("builtin") : t("saved")}`)),
    h("div", {},
      h("a", { class: "button", href: `#/builder/${encodeURIComponent(sg.name)}` }, t("edit")),
      sg.builtin ? null : h("button", { class: "danger", onclick: async () => {
        if (!confirm(t("confirm_delete", { n: sg.name }))) return;
        await api(`/api/segments/${encodeURIComponent(sg.name)}`, { method: "DELETE" });
        location.hash = "#/segments";
      } }, t("delete")))));
  const desc = sg.description[App.lang] || sg.description.en || sg.description.ko;
  const lines = sg.words ? sg.words[App.lang] : [];
  main.append(h("div", { class: "two" },
    card(null,
      desc ? h("p", { class: "lead" }, desc) : null,
      h("div", { class: "kpis small" }, kpi("size", fmtInt(sg.size)), kpi("goal", label(sg.goal_title))),
      h("h3", {}, t("words")), h("pre", { class: "words" }, lines.join("\n")),
      h("h3", {}, t("query")), h("code", { class: "query", "data-query": sg.query || "" }, sg.query || "–"),
      sg.last_change ? h("p", { class: "muted" }, t("last_change", { e: fmtInt(sg.last_change.entered), l: fmtInt(sg.last_change.left) })) : null),
    card(t("size_over_time"), lineChart(sg.trend.map((x) => ({ x: x.as_of, y: x.size })), { title: t("size_over_time") }))));
  if (sg.needs && sg.needs.length) { main.append(h("p", { class: "muted" }, t("needs", { p: sg.needs.join(", ") }))); return; }
  const exportLink = h("a", { class: "button", href: `/api/segments/${encodeURIComponent(name)}/export${qs({ fields: MEMBER_FIELDS.join(",") })}`, download: `${name}.csv`, id: "export" }, t("export"));
  const dest = h("p", { class: "small" }, t("export_for"), " ", ["sms", "esp", "ads", "parquet"].map((f) =>
    h("a", { class: "button small", href: `/api/segments/${encodeURIComponent(name)}/export/${f}`, download: `${name}-${f}` }, f)));
  main.append(card(t("members"), membersTable((st) => api(`/api/segments/${encodeURIComponent(name)}/members${qs({ fields: MEMBER_FIELDS.join(","), page: st.page, sort: st.sort, order: st.order, search: st.search, page_size: 25 })}`), { extra: exportLink })));
  const sqlBox = h("pre", { class: "sql" });
  const details = h("details", {}, h("summary", {}, t("sql")), sqlBox);
  details.addEventListener("toggle", async () => {
    if (details.open && !sqlBox.textContent) {
      try { sqlBox.textContent = (await api(`/api/segments/${encodeURIComponent(name)}/sql`)).sql; } catch (e) { sqlBox.replaceChildren(errorBox(e)); }
    }
  });
  main.append(card(null, details, dest));
}

async function pageQueryMembers(main, title, query) {
  main.append(h("div", { class: "title-row" }, h("h1", {}, title), h("a", { class: "button", href: `#/builder?q=${encodeURIComponent(query)}` }, t("open_builder"))));
  main.append(h("code", { class: "query" }, query));
  main.append(card(t("members"), membersTable((st) => api("/api/query/preview", { json: { query, fields: MEMBER_FIELDS, page: st.page, sort: st.sort, order: st.order, search: st.search || null, page_size: 25 } }), {})));
}

async function pageCustomer(main, id) {
  const c = await api(`/api/customers/${encodeURIComponent(id)}`);
  const p = c.profile;
  main.append(h("h1", {}, `${t("customer")} ${c.customer_id}`, h("small", {}, ` ${t("as_of", { d: fmtDate(c.as_of) })}`)));
  main.append(h("div", { class: "kpis" },
    kpi("revenue", fmtMoney(p.amount_spent)), kpi("orders", fmtInt(p.number_of_orders)),
    kpi("stage", fmtValue("lifecycle_stage", p.lifecycle_stage)), kpi("grade", p.grade || "–"), kpi("rfm_group", fmtValue("rfm_group", p.rfm_group))));
  const keys = Object.keys(p).filter((k) => k !== "customer_id");
  const dl = h("dl", { class: "profile" }, keys.map((k) => [h("dt", {}, fieldLabel(k)), h("dd", {}, fmtValue(k, p[k]))]));
  const preds = Object.keys(c.predictions);
  const segs = h("ul", { class: "chips" }, c.segments.map((sg) => h("li", {}, h("a", { href: `#/segment/${encodeURIComponent(sg)}` }, sg))));
  main.append(h("div", { class: "two" },
    card(t("profile"), dl),
    h("div", {},
      preds.length ? card(t("predictions"), h("dl", { class: "profile", id: "predictions" }, preds.map((k) => [h("dt", {}, fieldLabel(k)), h("dd", {}, fmtValue(k, c.predictions[k]))]))) : null,
      card(t("in_segments"), c.segments.length ? segs : h("p", { class: "muted" }, t("none"))),
      c.grades.length ? card(t("grades"), h("ul", {}, c.grades.map((g) => h("li", {}, `${fmtDate(g.as_of)} · ${g.grade}${g.previous_grade ? ` ← ${g.previous_grade}` : ""}`)))) : null,
      explainCard(c))));
  const events = [
    ...c.orders.map((o) => ({ at: o.ordered_at, kind: "order", text: `${t("order")} ${o.order_id} · ${fmtMoney(o.total)} · ${o.status}${o.coupon_code ? ` · ${o.coupon_code}` : ""}` })),
    ...c.events.map((e) => ({ at: e.occurred_at, kind: "event", text: `${e.event}${e.product_id ? ` · ${e.product_id}` : ""}${e.category ? ` · ${e.category}` : ""}` })),
  ].sort((a, b) => (a.at < b.at ? 1 : -1));
  main.append(card(t("timeline"), h("ol", { class: "timeline" }, events.map((e) => h("li", { class: e.kind }, h("time", {}, fmtDate(e.at)), " ", e.text)))));
}

function explainCard(c) {
  const box = h("div", { class: "explain" });
  const select = h("select", { class: "explain-pick", "aria-label": t("choose_segment") }, h("option", { value: "" }, t("choose_segment")));
  api("/api/segments").then((items) => {
    for (const sg of items.filter((x) => !x.needs.length)) select.append(h("option", { value: sg.name }, `${label(sg.title)} (${sg.name})`));
  });
  select.addEventListener("change", async () => {
    if (!select.value) { box.replaceChildren(); return; }
    try {
      const r = await api(`/api/customers/${encodeURIComponent(c.customer_id)}/explain/${encodeURIComponent(select.value)}?lang=${App.lang}`);
      box.replaceChildren(h("p", { class: r.in_segment ? "verdict in" : "verdict out" }, r.in_segment ? t("in") : t("out")), explainTree(r.tree));
    } catch (e) { box.replaceChildren(errorBox(e)); }
  });
  return card(t("explain"), select, box);
}
function explainTree(node) {
  const mark = h("span", { class: node.held ? "ok" : "no" }, node.held ? "✓ " : "✗ ");
  if (node.children) return h("div", { class: "xgroup" }, h("div", {}, mark, t(node.group)), node.children.map(explainTree));
  const val = node.value === null || node.value === undefined ? t("none") : String(node.value);
  return h("div", { class: "xcond" }, mark, node.words, h("span", { class: "muted small" }, ` (${t("value_was", { v: val })})`));
}

async function pagePredictions(main) {
  main.append(h("h1", {}, t("predictions_title")));
  const metrics = h("div", {}, h("p", { class: "muted" }, t("loading")));
  const preds = await api("/api/predictions");
  main.append(h("div", { class: "two" }, card(t("backtest"), metrics), predictionsCard(preds)));
  try {
    const b = await api("/api/predictions/backtest");
    metrics.replaceChildren(
      h("p", { class: "muted" }, t("backtest_note", { c: fmtDate(b.cutoff), h: b.horizon_days, m: b.model })),
      h("div", { class: "kpis small", id: "backtest" },
        kpi("auc", fmtNum(b.auc, 3)), kpi("mae", fmtNum(b.mae, 3)), kpi("rmse", fmtNum(b.rmse, 3)),
        kpi("correlation", fmtNum(b.correlation, 3)), kpi("actual_total", fmtInt(b.actual_total)), kpi("predicted_total", fmtInt(b.predicted_total))),
      h("h3", {}, t("calibration")), calibrationChart(b.calibration || []));
  } catch (e) { metrics.replaceChildren(errorBox(e)); }
}
async function pageCampaigns(main) {
  main.append(h("h1", {}, t("campaigns_title")));
  const list = await api("/api/campaigns");
  if (!list.length) { main.append(card(null, h("p", { class: "muted", id: "no-campaigns" }, t("no_campaigns")))); return; }
  for (const c of list) {
    const r = await api(`/api/campaigns/${encodeURIComponent(c.name)}/report`);
    const k = r.kpi;
    const money = c.kpi !== "conversion_rate";
    const show = (v) => (money ? fmtMoney(v) : fmtPct(v));
    main.append(card(`${t("campaign")}: ${c.name}`,
      h("p", { class: "muted" }, `${c.segment} · ${t("kpi_name")} ${c.kpi} · ${t("window")} ${fmtDate(c.window_start)} – ${fmtDate(c.window_end)}`,
        r.complete ? "" : ` · ${t("window_open", { d: fmtDate(r.data_through) })}`),
      h("div", { class: "kpis small", "data-campaign": c.name },
        kpi("treated", `${show(k.treated)} (${fmtInt(r.treated.customers)})`),
        kpi("holdout", `${show(k.holdout)} (${fmtInt(r.holdout.customers)})`),
        kpi("difference", show(k.difference)),
        kpi("relative_uplift", fmtPct(k.relative_uplift)),
        kpi("interval", `${show(k.ci_low)} … ${show(k.ci_high)}`),
        kpi("p_value", fmtNum(k.p_value, 3)),
        kpi("incremental_revenue", fmtMoney(r.incremental_revenue)))));
  }
}

function predictionsCard(p) {
  if (!p.columns.length) return card(t("predictions"), h("p", { class: "muted", id: "no-predictions" }, t("no_predictions")));
  const fields = ["customer_id", ...p.columns.filter((c) => c !== "customer_id")];
  return card(t("top_predicted"),
    h("div", { class: "kpis small" }, Object.entries(p.averages).map(([k, v]) => h("div", { class: "kpi" }, h("div", { class: "kpi-label" }, `${t("average")} ${fieldLabel(k)}`), h("div", { class: "kpi-value" }, fmtValue(k, v))))),
    h("div", { class: "scroll" }, h("table", { class: "data" }, h("thead", {}, h("tr", {}, fields.map((f) => h("th", {}, fieldLabel(f))))),
      h("tbody", {}, p.rows.map((r) => h("tr", {}, fields.map((f) => h("td", {}, f === "customer_id" ? h("a", { href: `#/customer/${encodeURIComponent(r[f])}` }, r[f]) : fmtValue(f, r[f])))))))));
}
function calibrationChart(rows) {
  const w = 420, hgt = 200, left = 40, bottom = 30, top = 10;
  const svg = s("svg", { viewBox: `0 0 ${w} ${hgt}`, class: "chart", role: "img", "aria-label": t("calibration") });
  const H = hgt - top - bottom, bw = (w - left) / Math.max(rows.length, 1);
  rows.forEach((r, i) => {
    const x = left + i * bw;
    const pred = r.mean_predicted ?? r.predicted ?? 0, obs = r.observed_rate ?? r.observed ?? 0;
    svg.append(s("rect", { x: x + 2, y: top + (1 - pred) * H, width: bw / 2 - 3, height: pred * H, fill: "#8cc8e8" }, s("title", {}, `${t("predicted")} ${fmtPct(pred)}`)));
    svg.append(s("rect", { x: x + bw / 2, y: top + (1 - obs) * H, width: bw / 2 - 3, height: obs * H, fill: "#1d4e89" }, s("title", {}, `${t("observed")} ${fmtPct(obs)}`)));
  });
  [0, 0.5, 1].forEach((v) => svg.append(svgText(left - 4, top + (1 - v) * H + 4, fmtPct(v, 0), { "text-anchor": "end", class: "axis" })));
  svg.append(s("rect", { x: left, y: hgt - 18, width: 10, height: 10, fill: "#8cc8e8" }), svgText(left + 14, hgt - 9, t("predicted"), { class: "axis" }));
  svg.append(s("rect", { x: left + 110, y: hgt - 18, width: 10, height: 10, fill: "#1d4e89" }), svgText(left + 124, hgt - 9, t("observed"), { class: "axis" }));
  return svg;
}

// ------------------------------------------------------------------------------------
// shell: header, language, refresh, routes
// ------------------------------------------------------------------------------------

function renderHeader() {
  document.documentElement.lang = App.lang;
  document.title = `${t("brand")} · danggol`;
  const nav = document.getElementById("nav");
  const here = location.hash || "#/";
  const link = (href, key) => h("a", { href, class: here === href || (href !== "#/" && here.startsWith(href)) ? "active" : "" }, t(key));
  nav.replaceChildren(link("#/", "nav_overview"), link("#/segments", "nav_segments"), link("#/builder", "nav_builder"), link("#/predictions", "nav_predictions"), link("#/campaigns", "nav_campaigns"));
  const lang = document.getElementById("lang");
  lang.textContent = t("lang_switch");
  const info = document.getElementById("refresh-info");
  const st = App.status;
  info.replaceChildren(
    h("span", { class: "muted small" }, st.last_refresh ? t("last_refresh", { d: fmtDate(st.last_refresh.as_of) }) : t("no_refresh")),
    h("button", { class: "small", id: "refresh", onclick: startRefresh }, t("refresh")));
}

async function startRefresh() {
  const btn = document.getElementById("refresh");
  btn.disabled = true;
  btn.textContent = t("refreshing");
  try {
    await api("/api/refresh", { method: "POST" });
    const poll = async () => {
      const r = await api("/api/refresh");
      if (r.state === "running") { App.refreshTimer = setTimeout(poll, 1000); return; }
      App.status = await api("/api/status");
      route();
    };
    poll();
  } catch (e) {
    btn.disabled = false;
    btn.textContent = t("refresh");
    alert(e.message);
  }
}

async function route() {
  const main = document.getElementById("main");
  renderHeader();
  main.replaceChildren(h("p", { class: "muted" }, t("loading")));
  const hash = decodeURIComponent((location.hash || "#/").slice(1));
  const [path, query] = hash.split("?");
  const parts = path.split("/").filter(Boolean);
  const params = new URLSearchParams(query || "");
  const page = h("div", { class: "page" });
  try {
    if (!parts.length) await pageOverview(page);
    else if (parts[0] === "segments") await pageSegments(page);
    else if (parts[0] === "segment") await pageSegment(page, parts.slice(1).join("/"));
    else if (parts[0] === "builder") await window.Builder.page(page, parts[1] || null, params.get("q"));
    else if (parts[0] === "customer") await pageCustomer(page, parts.slice(1).join("/"));
    else if (parts[0] === "predictions") await pagePredictions(page);
    else if (parts[0] === "campaigns") await pageCampaigns(page);
    else if (parts[0] === "grid") {
      const [r, fm, group] = parts.slice(1);
      await pageQueryMembers(page, t("grid_members", { r, fm, g: fmtValue("rfm_group", group) }), `r_score = ${Number(r)} AND fm_score = ${Number(fm)}`);
    } else await pageOverview(page);
    main.replaceChildren(page);
  } catch (e) {
    main.replaceChildren(errorBox(e));
  }
}

async function start() {
  App.status = await api("/api/status");
  App.vocab = await api("/api/vocabulary");
  App.lang = localStorage.getItem("danggol.lang") || App.status.lang || "ko";
  document.getElementById("lang").addEventListener("click", () => {
    App.lang = App.lang === "ko" ? "en" : "ko";
    localStorage.setItem("danggol.lang", App.lang);
    route();
  });
  window.addEventListener("hashchange", route);
  await route();
  document.body.dataset.ready = "1";
}

window.App = App;
window.Dash = { t, h, s, api, card, label, fmtInt, fmtPct, fmtMoney, fmtDate, errorBox, kpi, membersTable, fieldLabel, MEMBER_FIELDS };
document.addEventListener("DOMContentLoaded", () => { start().catch((e) => document.getElementById("main").replaceChildren(errorBox(e))); });
