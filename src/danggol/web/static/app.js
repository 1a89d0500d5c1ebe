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
// words, numbers and dates (the words come from the API: one table with the report's)
// ------------------------------------------------------------------------------------

function t(key, vars) {
  const table = (window.I18N && (window.I18N[App.lang] || window.I18N.ko)) || {};
  let text = key in table ? table[key] : key;
  for (const [k, v] of Object.entries(vars || {})) text = text.split(`{${k}}`).join(String(v));
  return text;
}
const locale = () => (App.lang === "ko" ? "ko-KR" : "en-US");
const label = (item) => (item ? item[App.lang] || item.en || item.ko || "" : "");
//: data as it came (a name, an id, a product): never translated, and marked so
//: a line of a segment's words: what is quoted ('서울특별시', a product id) is the shop's data
const wordsLine = (line) => line.split(/('(?:[^'\\]|\\.)*')/).map((part, i) => (i % 2 ? dv(part) : part));
//: a segment's title: the shop's own words when it was not written in this language
const ownTitle = (sg) => !sg.title_langs || sg.title_langs.includes(App.lang);
const titleOf = (sg) => (ownTitle(sg) ? label(sg.title) : dv(label(sg.title)));
const dv = (text) => h("span", { translate: "no", class: "dv" }, text === null || text === undefined ? "–" : String(text));
//: probabilities shown as percentages
const PROBABILITIES = new Set(["p_alive", "repurchase_probability"]);

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
function fmtPeople(n) { return t("people", { n: fmtInt(n) }); }
function fmtMoney(v, compact = false) {
  if (v === null || v === undefined) return "–";
  const currency = (App.status && App.status.currency) || "KRW";
  if (App.lang === "ko" && currency === "KRW") {
    // 원, no decimals; compact: 억원 / 만원
    const a = Math.abs(v);
    if (compact && a >= 1e8) return `${fmtNum(v / 1e8, 1)}억원`;
    if (compact && a >= 1e4) return `${fmtInt(v / 1e4)}만원`;
    return `${fmtInt(v)}원`;
  }
  const opts = { style: "currency", currency };
  if (currency === "KRW") opts.maximumFractionDigits = 0;
  if (compact) Object.assign(opts, { notation: "compact", maximumFractionDigits: 1 });
  return new Intl.NumberFormat(locale(), opts).format(v);
}
function fmtDate(iso) {
  if (!iso) return "–";
  // a day is that calendar day wherever the browser is (read and written in UTC); a time
  // (with its offset, as the API sends it) is shown in the shop's time zone
  const day = iso.length === 10;
  const d = new Date(day ? `${iso}T00:00:00Z` : iso);
  if (Number.isNaN(d.getTime())) return iso;
  const opts = day ? { dateStyle: "medium", timeZone: "UTC" } : { dateStyle: "medium", timeStyle: "short", timeZone: (App.status && App.status.timezone) || "Asia/Seoul" };
  return new Intl.DateTimeFormat(locale(), opts).format(d);
}
function fmtShortDate(iso) {
  if (!iso) return "–";
  const d = new Date(`${iso.slice(0, 10)}T00:00:00`);
  return new Intl.DateTimeFormat(locale(), { month: "short", day: "numeric" }).format(d);
}
function fieldSpec(name) { return App.vocab && App.vocab.fields.find((x) => x.name === name); }
function fieldLabel(name) {
  const f = fieldSpec(name);
  if (f) return label(f);
  const extra = { name: "contact_name", email: "contact_email", phone: "contact_phone", events_total: "events_total" };
  return name in extra ? t(extra[name]) : t(`col_${name}`);
}
function valueWords(column, code) {
  const table = App.values && App.values[column];
  return table && table[code] ? label(table[code]) : null;
}
function fmtValue(name, v) {
  if (v === null || v === undefined) return "–";
  const f = fieldSpec(name);
  const column = f ? f.column || name : name;
  if (f && f.money) return fmtMoney(v);
  if (PROBABILITIES.has(name)) return fmtPct(v);
  const words = typeof v === "string" ? valueWords(name, v) || valueWords(column, v) : null;
  if (words) return words;
  if (column === "country" && /^[A-Z]{2}$/.test(v)) return countryName(v);
  if (typeof v === "boolean") return v ? t("yes") : t("no");
  if (typeof v === "number") return Number.isInteger(v) ? fmtInt(v) : fmtNum(v);
  if (Array.isArray(v)) return v.join(", ");
  if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}/.test(v)) return fmtDate(v);
  return String(v);
}
// an ISO 3166 country code in the page's language (KR → 대한민국), by the browser's own names
function countryName(code) {
  try { return new Intl.DisplayNames([locale()], { type: "region" }).of(code) || code; } catch (e) { return code; }
}
// a value on the page: words, numbers and dates as text; anything else is the shop's data
function showValue(name, v) {
  const shown = fmtValue(name, v);
  const raw = typeof v === "string" && shown === v && !/^\d{4}-\d{2}-\d{2}/.test(v);
  return raw || Array.isArray(v) ? dv(shown) : shown;
}
const ERROR_WORDS = { builtin_segment: "err_builtin", segment_exists: "err_exists", bad_date: "err_date", unauthorized: "err_token", not_found: "err_not_found", bad_segment: "err_segment", busy: "err_busy", conflict: "err_conflict", bad_request: "err_input", invalid_input: "err_input" };
//: errors told in general words: the server's own message follows, as it came, for the details
const GENERIC_ERRORS = new Set(["bad_segment", "bad_request", "invalid_input"]);
function errorText(d) {
  // the UI's own words for the errors it knows; the server's message otherwise (in English)
  if (d.code && ERROR_WORDS[d.code] && (App.lang === "ko" || !GENERIC_ERRORS.has(d.code))) return t(ERROR_WORDS[d.code]);
  return d.message;
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
  return h("div", { class: "error", role: "alert", "data-code": d.code || "" },
    h("strong", {}, `${t("error")}: `), errorText(d),
    App.lang === "ko" && GENERIC_ERRORS.has(d.code) && d.message ? h("span", { class: "muted small" }, " (", dv(d.message), ")") : null,
    d.position !== undefined && d.position !== null ? h("span", {}, ` (${t("err_position", { p: d.position + 1 })})`) : null,
    d.suggestion ? h("span", {}, ` — ${t("did_you_mean")} `, dv(d.suggestion), "?") : null,
    d.caret ? h("pre", { class: "caret", translate: "no" }, d.caret) : null);
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

//: the width of a chart's drawing: narrower on a phone, so that its text stays readable (≥ 11 px)
function chartWidth(wide = 560) {
  const room = Math.max(300, Math.min(window.innerWidth - 48, wide));
  return window.innerWidth < 700 ? room : wide;
}

function sparkline(values, w = 110, hgt = 28) {
  // from zero: 40 → 39 → 40 is a flat line, not a deep V
  const svg = s("svg", { width: w, height: hgt, viewBox: `0 0 ${w} ${hgt}`, class: "spark", role: "img" });
  if (!values.length) return svg;
  const max = Math.max(...values, 0) || 1;
  const step = values.length > 1 ? (w - 4) / (values.length - 1) : 0;
  const Y = (v) => hgt - 3 - (v / max) * (hgt - 6);
  svg.append(s("line", { x1: 2, x2: w - 2, y1: Y(0), y2: Y(0), stroke: "#c9d1da", "stroke-width": 1, class: "baseline" }));
  const pts = values.map((v, i) => `${2 + i * step},${Y(v)}`);
  if (values.length === 1) pts.push(`${w - 2},${Y(values[0])}`);
  svg.append(s("polyline", { points: pts.join(" "), fill: "none", stroke: "#3d8fc6", "stroke-width": 2 }));
  return svg;
}

function lineChart(points, opts) {
  // points: [{x: ISO date, y: number}], drawn in date order (not in the order they came)
  points = [...points].sort((a, b) => (a.x < b.x ? -1 : a.x > b.x ? 1 : 0));
  const w = chartWidth(), hgt = 220, left = 64, right = 16, top = 12, bottom = 36;
  const svg = s("svg", { viewBox: `0 0 ${w} ${hgt}`, class: "chart line", role: "img", "aria-label": opts.title || "" });
  if (!points.length) { svg.append(svgText(12, 30, t("nothing"))); return svg; }
  const ys = points.map((p) => p.y), max = Math.max(...ys, 0) || 1;
  const step = points.length > 1 ? (w - left - right) / (points.length - 1) : 0;
  const X = (i) => left + i * step, Y = (v) => top + (1 - v / max) * (hgt - top - bottom);
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    svg.append(s("line", { x1: left, x2: w - right, y1: Y(v), y2: Y(v), stroke: "#e3e7ec" }));
    svg.append(svgText(left - 6, Y(v) + 4, opts.fmt ? opts.fmt(v) : fmtInt(v), { "text-anchor": "end", class: "axis" }));
  }
  svg.append(s("polyline", { points: points.map((p, i) => `${X(i)},${Y(p.y)}`).join(" "), fill: "none", stroke: "#1d4e89", "stroke-width": 2.5 }));
  const every = Math.ceil(points.length / Math.max(2, Math.floor((w - left) / 70)));
  points.forEach((p, i) => {
    svg.append(s("circle", { cx: X(i), cy: Y(p.y), r: 3.5, fill: "#1d4e89", "data-x": p.x }, s("title", {}, `${fmtDate(p.x)}: ${opts.fmt ? opts.fmt(p.y) : fmtInt(p.y)}`)));
    if (i % every === 0 || i === points.length - 1)
      svg.append(svgText(X(i), hgt - 14, fmtShortDate(p.x), { "text-anchor": points.length > 1 && i === points.length - 1 ? "end" : i === 0 && points.length > 1 ? "start" : "middle", class: "axis x-label" }));
  });
  return svg;
}

function funnelChart(funnel) {
  const w = chartWidth(), row = 38, hgt = funnel.length * row + 8, lw = w < 500 ? 84 : 110, bw = w - lw - (w < 500 ? 118 : 120);
  const max = Math.max(...funnel.map((f) => f.customers), 1);
  const total = funnel.reduce((a, f) => a + f.customers, 0) || 1;
  const svg = s("svg", { viewBox: `0 0 ${w} ${hgt}`, class: "chart funnel", role: "img", "aria-label": t("stage_funnel") });
  funnel.forEach((f, i) => {
    const y = 4 + i * row, bar = Math.max(2, (f.customers / max) * bw);
    svg.append(svgText(lw - 8, y + 22, label(f), { "text-anchor": "end" }));
    svg.append(s("rect", { x: lw + (bw - bar) / 2, y: y + 4, width: bar, height: row - 10, rx: 4, fill: f.color, "data-stage": f.stage, "data-customers": f.customers }));
    svg.append(svgText(lw + bw + 8, y + 22, `${fmtInt(f.customers)} · ${fmtPct(f.customers / total)}`));
  });
  return svg;
}

function sharesChart(data) {
  const dates = [...new Set(data.rows.map((r) => r.as_of))].sort();
  const w = chartWidth(), perRow = Math.max(1, Math.floor((w - 44) / 100)), legendRows = Math.ceil(data.stages.length / perRow);
  const hgt = 220 + legendRows * 18, left = 44, top = 10, bottom = 36 + legendRows * 18, bw = (w - left - 10) / Math.max(dates.length, 1);
  const svg = s("svg", { viewBox: `0 0 ${w} ${hgt}`, class: "chart", role: "img", "aria-label": t("stage_shares") });
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
    const x = left + (i % perRow) * 100, y = hgt - 6 - (legendRows - Math.floor(i / perRow)) * 18 + 18;
    svg.append(s("rect", { x, y: y - 10, width: 12, height: 12, fill: st.color }));
    svg.append(svgText(x + 16, y, label(st), { class: "axis" }));
  });
  return svg;
}

function lorenzChart(conc) {
  const w = chartWidth(380), left = 48, top = 10, size = Math.min(240, w - left - 24), hgt = size + 60;
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

function wrapWords(text, width, size) {
  // greedy lines that fit `width` at font `size` (a Hangul glyph ≈ 1 em, Latin ≈ 0.58 em)
  const em = (w) => [...w].reduce((a, c) => a + (/[\u3131-\uD79D]/.test(c) ? 1 : 0.58), 0) * size;
  const lines = [];
  for (const word of text.split(" ")) {
    const last = lines[lines.length - 1];
    if (last !== undefined && em(`${last} ${word}`) <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

function rfmGrid(rfm) {
  // the whole grid on a phone too: smaller cells, the same readable text
  const n = rfm.size, phone = window.innerWidth < 700;
  const left = phone ? 22 : 40, top = 30;
  const cw = phone ? Math.floor((chartWidth() - left - 4) / n) : 112, ch = phone ? 64 : 70;
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
    const name = label(rfm.groups[c.group]);
    g.append(s("title", {}, `R${m.r} · FM${m.fm} · ${name}: ${fmtPeople(c.customers)}, ${fmtMoney(c.revenue)}`));
    g.append(s("rect", { x, y, width: cw, height: ch, fill, stroke: "#fff", "stroke-width": 2 }));
    if (phone) {
      const lines = wrapWords(name, cw - 4, 11).slice(0, 2);
      lines.forEach((line, k) => g.append(svgText(x + cw / 2, y + 16 + k * 13, line, { fill: ink, "text-anchor": "middle", "font-weight": 700, "font-size": 11 })));
      g.append(svgText(x + cw / 2, y + ch - 10, fmtInt(c.customers), { fill: ink, "text-anchor": "middle", "font-size": 11 }));
    } else {
      g.append(svgText(x + 5, y + 13, `R${m.r}·FM${m.fm}`, { fill: ink, "font-size": 11, opacity: 0.7 }));
      g.append(svgText(x + cw / 2, y + 32, name, { fill: ink, "text-anchor": "middle", "font-weight": 700, "font-size": 11.5 }));
      g.append(svgText(x + cw / 2, y + 50, fmtPeople(c.customers), { fill: ink, "text-anchor": "middle", "font-size": 12 }));
      g.append(svgText(x + cw / 2, y + 64, fmtMoney(c.revenue, true), { fill: ink, "text-anchor": "middle", "font-size": 11, opacity: 0.85 }));
    }
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
    card(t("stage_funnel"), funnelChart(o.funnel)),
    card(t("stage_shares"), shares)));
  main.append(h("div", { class: "two" },
    card(t("rfm"), h("p", { class: "muted" }, t("rfm_click_note")), h("div", { class: "scroll" }, rfmGrid(o.rfm)),
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
    h("td", {}, h("a", { href: `#/segment/${encodeURIComponent(sg.name)}` }, titleOf(sg)), h("div", { class: "muted small" }, dv(sg.name), " · ", sg.builtin ? t("builtin") : t("saved"))),
    h("td", { class: "num" }, sg.size === null ? h("a", { class: "small", href: `#/segment/${encodeURIComponent(sg.name)}` }, t("fill_params")) : fmtInt(sg.size)),
    h("td", { class: "num" }, fmtPct(sg.customer_share)),
    h("td", { class: "num" }, fmtPct(sg.revenue_share)),
    h("td", {}, sg.trend.length ? sparkline(byDate(sg.trend).map((x) => x.size)) : h("span", { class: "muted" }, "–")));
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
const byDate = (rows) => [...rows].sort((a, b) => (a.as_of < b.as_of ? -1 : a.as_of > b.as_of ? 1 : (a.refresh_id || 0) - (b.refresh_id || 0)));

// ------------------------------------------------------------------ member lists
const MEMBER_FIELDS = ["customer_id", "amount_spent", "number_of_orders", "last_order_date", "rfm_group", "lifecycle_stage"];
const CONTACT = ["name", "email", "phone"];
//: the columns a member list can show, contact first
function choosableFields() {
  const preds = new Set((App.status && App.status.predictions) || []);
  const base = ["amount_spent", "number_of_orders", "aov", "first_order_date", "last_order_date", "days_since_last_order",
    "rfm_group", "lifecycle_stage", "grade", "gender", "age", "customer_regions", "customer_cities", "signup_channel",
    "email_subscription_status", "favourite_category"];
  const predicted = ["predicted_clv", "p_alive", "expected_orders"].filter((f) => preds.has(f));
  return [...CONTACT, ...base, ...predicted];
}

function membersTable(fetchPage, opts) {
  // fetchPage({page, sort, order, search, fields}) -> {total, page, pages, fields, rows}
  const st = { page: 1, sort: opts.sort || "customer_id", order: opts.order || "asc", search: "", fields: opts.fields || MEMBER_FIELDS };
  const box = h("div", { class: "members" });
  const info = h("span", { class: "muted" });
  const search = h("input", { type: "search", placeholder: t("search_people"), "aria-label": t("search_people"), class: "search" });
  let timer = null;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { st.search = search.value; st.page = 1; load(); }, 250); });
  const tableBox = h("div", { class: "scroll table-box" });
  const prev = h("button", { onclick: () => { st.page -= 1; load(); } }, t("prev"));
  const next = h("button", { onclick: () => { st.page += 1; load(); } }, t("next"));
  const chooser = h("details", { class: "columns" }, h("summary", {}, t("choose_columns")),
    h("div", { class: "column-picks" }, choosableFields().map((f) => {
      const box = h("input", { type: "checkbox", value: f, checked: st.fields.includes(f) || null });
      box.addEventListener("change", () => {
        st.fields = box.checked ? [...st.fields, f] : st.fields.filter((x) => x !== f);
        if (!st.fields.includes(st.sort)) st.sort = "customer_id";
        st.page = 1; load(); if (opts.onFields) opts.onFields(st.fields);
      });
      return h("label", { class: `pick${CONTACT.includes(f) ? " contact" : ""}`, "data-field": f }, box, " ", fieldLabel(f));
    })),
    App.status && App.status.personal_data_needs_token ? h("p", { class: "muted small" }, t("contact_guarded")) : null);
  box.append(h("div", { class: "toolbar" }, search, opts.extra || null), opts.choose === false ? null : chooser, tableBox, h("div", { class: "pager" }, prev, info, next));
  async function load() {
    try {
      const r = await fetchPage(st);
      info.textContent = `${t("page", { p: fmtInt(r.page), n: fmtInt(r.pages) })} · ${fmtPeople(r.total)}`;
      prev.disabled = r.page <= 1;
      next.disabled = r.page >= r.pages;
      if (!r.rows.length) { tableBox.replaceChildren(h("p", { class: "muted" }, t("no_members"))); return; }
      const numeric = (f) => r.rows.some((row) => typeof row[f] === "number");
      const head = r.fields.map((f) => h("th", { class: numeric(f) ? "sortable num" : "sortable", "data-field": f, onclick: () => { st.order = st.sort === f && st.order === "asc" ? "desc" : "asc"; st.sort = f; st.page = 1; load(); } },
        fieldLabel(f), st.sort === f ? (st.order === "asc" ? " ▲" : " ▼") : ""));
      const rows = r.rows.map((row) => h("tr", {}, r.fields.map((f) => h("td", { class: typeof row[f] === "number" ? "num" : "" },
        f === "customer_id" ? h("a", { href: `#/customer/${encodeURIComponent(row[f])}`, translate: "no" }, row[f]) : showValue(f, row[f])))));
      tableBox.replaceChildren(h("table", { class: "data", "data-total": r.total, "data-fields": r.fields.join(",") }, h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows)));
    } catch (e) {
      tableBox.replaceChildren(errorBox(e));
    }
  }
  load();
  box.state = st;
  return box;
}

// the destination exports: a button each, and what was left out (and why) on screen
const DESTINATIONS = ["sms", "esp", "ads", "parquet"];
function reasonWords(reason) {
  return reason.split(" and ").map((part) => {
    const w = App.exportReasons && App.exportReasons[part];
    return w ? label(w) : part;
  }).join(" · ");
}
async function download(url, filename, summaryBox) {
  summaryBox.replaceChildren(h("p", { class: "muted" }, t("preparing")));
  try {
    const r = await fetch(url);
    if (!r.ok) { let body = null; try { body = await r.json(); } catch (e) { body = null; } throw new ApiError(r.status, body); }
    const blob = await r.blob();
    const header = r.headers.get("X-Danggol-Export");
    const link = h("a", { href: URL.createObjectURL(blob), download: filename });
    document.body.append(link); link.click(); link.remove();
    if (!header) { summaryBox.replaceChildren(h("p", { class: "ok" }, t("downloaded", { f: filename }))); return; }
    const sm = JSON.parse(header);
    const left = Object.entries(sm.left_out || {});
    const total = left.reduce((a, [, n]) => a + n, 0);
    summaryBox.replaceChildren(h("div", { class: "export-summary", "data-written": sm.written, "data-left-out": total },
      h("p", {}, h("strong", {}, t("export_written", { w: fmtInt(sm.written), m: fmtInt(sm.members) }))),
      total ? h("p", {}, t("export_left_out", { n: fmtInt(total) })) : h("p", { class: "muted" }, t("export_none_left")),
      left.length ? h("ul", {}, left.map(([why, n]) => h("li", { "data-reason": why }, `${reasonWords(why)}: ${fmtPeople(n)}`))) : null));
  } catch (e) { summaryBox.replaceChildren(errorBox(e)); }
}

async function pageSegment(main, name) {
  const sg = await api(`/api/segments/${encodeURIComponent(name)}`);
  const enc = encodeURIComponent(sg.name);
  const actions = h("div", { class: "actions" });
  if (sg.builtin) {
    if (!(sg.needs && sg.needs.length)) actions.append(h("a", { class: "button", id: "copy-edit", href: `#/builder?from=${enc}` }, t("copy_edit")));
  } else {
    actions.append(h("a", { class: "button", href: `#/builder/${enc}` }, t("edit")),
      h("button", { class: "danger", onclick: async () => {
        if (!confirm(t("confirm_delete", { n: sg.name }))) return;
        await api(`/api/segments/${enc}`, { method: "DELETE" });
        location.hash = "#/segments";
      } }, t("delete")));
  }
  main.append(h("div", { class: "title-row" },
    h("h1", {}, titleOf(sg), h("small", {}, " ", dv(sg.name), ` · ${sg.builtin ? t("builtin") : t("saved")}`)), actions));
  const desc = sg.description[App.lang] || sg.description.en || sg.description.ko;
  const lines = sg.words ? sg.words[App.lang] : [];
  const share = sg.size !== null && App.status.customers ? sg.size / App.status.customers : null;
  main.append(h("div", { class: "two" },
    card(null,
      desc ? h("p", { class: "lead" }, desc) : null,
      h("div", { class: "kpis small" }, kpi("size", sg.size === null ? "–" : fmtPeople(sg.size), share === null ? null : t("of_customers", { p: fmtPct(share) })), kpi("goal", label(sg.goal_title))),
      lines.length ? [h("h3", {}, t("words")), h("pre", { class: "words" }, lines.map((line, i) => [i ? "\n" : "", wordsLine(line)]))] : null,
      sg.query ? h("details", {}, h("summary", {}, t("query_label")), h("code", { class: "query", "data-query": sg.query, translate: "no" }, sg.query)) : null,
      sg.last_change ? h("p", { class: "muted" }, t("last_change", { e: fmtInt(sg.last_change.entered), l: fmtInt(sg.last_change.left) })) : null),
    sg.needs && sg.needs.length ? paramsCard(sg) : card(t("size_over_time"), lineChart(sg.trend.map((x) => ({ x: x.as_of, y: x.size })), { title: t("size_over_time") }))));
  if (sg.needs && sg.needs.length) return;
  if (sg.builtin && Object.keys(sg.params || {}).length) main.append(paramsCard(sg));
  const exportBox = h("div", { class: "export-box" });
  const summary = h("div", { class: "summary", id: "export-summary", "aria-live": "polite" });
  const inWords = h("input", { type: "checkbox", id: "csv-words", checked: App.lang === "ko" || null });
  let members = null;
  const csvButton = h("button", { class: "button", id: "export", onclick: () => {
    const fields = members.state.fields.join(",");
    download(`/api/segments/${enc}/export${qs({ fields, labels: inWords.checked ? App.lang : null })}`, `${sg.name}.csv`, summary);
  } }, t("export"));
  exportBox.append(csvButton, h("label", { class: "inline small" }, inWords, ` ${t("csv_in_words")}`));
  members = membersTable((st) => api(`/api/segments/${enc}/members${qs({ fields: st.fields.join(","), page: st.page, sort: st.sort, order: st.order, search: st.search, page_size: 25 })}`), { extra: exportBox });
  main.append(card(t("members"), members, summary));
  const dest = h("div", { class: "destinations" }, DESTINATIONS.map((f) =>
    h("button", { class: "dest", "data-format": f, onclick: () => download(`/api/segments/${enc}/export/${f}`, `${sg.name}-${f}.${f === "parquet" ? "parquet" : "csv"}`, destSummary) },
      h("strong", {}, t(`dest_${f}`)), h("span", { class: "muted small" }, t(`dest_${f}_note`)))));
  const destSummary = h("div", { class: "summary", id: "dest-summary", "aria-live": "polite" });
  main.append(card(t("destinations"), dest, destSummary));
  const sqlBox = h("pre", { class: "sql", translate: "no" });
  const details = h("details", {}, h("summary", {}, t("sql")), sqlBox);
  details.addEventListener("toggle", async () => {
    if (details.open && !sqlBox.textContent) {
      try { sqlBox.textContent = (await api(`/api/segments/${enc}/sql`)).sql; } catch (e) { sqlBox.replaceChildren(errorBox(e)); }
    }
  });
  main.append(card(null, details));
}

// a built-in's parameters: pickers from the shop's own values; saves a NEW segment
const PARAM_PICKERS = { product: "products", product_a: "products", product_b: "products", category: "categories", region: "customer_regions" };
function paramsCard(sg) {
  const inputs = {};
  const rows = Object.entries(sg.params).map(([p, v]) => {
    const kind = PARAM_PICKERS[p];
    let input;
    if (kind) input = valuePicker(kind, v || "", () => {}, { id: `param-${p}` });
    else input = h("input", { id: `param-${p}`, type: typeof v === "number" ? "number" : "text", value: v === null ? "" : v, step: "any" });
    inputs[p] = input.input || input;
    return h("label", { class: "param" }, h("span", {}, t(`param_${p}`)), input);
  });
  const nameIn = h("input", { id: "copy-name", pattern: "[a-z][a-z0-9_]{0,62}", placeholder: t("name_hint"), value: `${sg.name}_1` });
  const titleKo = h("input", { id: "copy-title-ko", placeholder: "한국어", lang: "ko" });
  const titleEn = h("input", { id: "copy-title-en", placeholder: "English", lang: "en" });
  const msg = h("div", {});
  const make = h("button", { class: "primary", id: "copy-save", onclick: async () => {
    const params = {};
    for (const [p, el] of Object.entries(inputs)) {
      const raw = el.value.trim();
      if (raw === "") continue;
      params[p] = typeof sg.params[p] === "number" && Number.isFinite(Number(raw)) ? Number(raw) : raw;
    }
    const title = {};
    if (titleKo.value.trim()) title.ko = titleKo.value.trim();
    if (titleEn.value.trim()) title.en = titleEn.value.trim();
    try {
      const r = await api(`/api/segments/${encodeURIComponent(sg.name)}/copy`, { json: { name: nameIn.value.trim(), params, title } });
      location.hash = `#/segment/${encodeURIComponent(r.name)}`;
    } catch (e) { msg.replaceChildren(errorBox(e)); }
  } }, t("make_segment"));
  return card(t("params_title"), h("p", { class: "muted" }, t("params_note")), h("div", { class: "params" }, rows),
    h("label", {}, t("new_name"), nameIn), h("label", {}, `${t("seg_title")} (${t("in_korean")})`, titleKo), h("label", {}, `${t("seg_title")} (${t("in_english")})`, titleEn), make, msg);
}

// a text input whose suggestions are the shop's own values (products, categories, regions …)
function valuePicker(kind, value, onPick, attrs) {
  const id = `dl-${Math.random().toString(36).slice(2)}`;
  const list = h("datalist", { id });
  const placeholder = t(`pick_${kind}`);
  const input = h("input", Object.assign({ type: "search", list: id, value: value || "", placeholder, class: `picker ${kind}`, "aria-label": placeholder, autocomplete: "off" }, attrs || {}));
  let timer = null;
  const sourceOf = () => (kind === "products" || kind === "categories" ? `/api/catalog/${kind}?q=${encodeURIComponent(input.value)}&limit=30` : `/api/values/${kind}?q=${encodeURIComponent(input.value)}&limit=50`);
  const load = () => api(sourceOf()).then((rows) => {
    list.replaceChildren(...rows.map((r) => {
      if (kind === "products") return h("option", { value: r.product_id }, `${r.product_name || ""} · ${r.category || ""}`);
      if (kind === "categories") return h("option", { value: r.category }, t("n_products", { n: fmtInt(r.products) }));
      return h("option", { value: r.value }, `${valueWords(kind.replace(/^customer_/, ""), r.value) || r.value} · ${fmtInt(r.count)}`);
    }));
    input.dataset.loaded = String(rows.length);
  }).catch(() => {});
  input.addEventListener("focus", load);
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(load, 200); });
  input.addEventListener("change", () => onPick(input.value.trim()));
  const box = h("span", { class: "picker-box" }, input, list);
  box.input = input;
  return box;
}

async function pageQueryMembers(main, title, query) {
  main.append(h("div", { class: "title-row" }, h("h1", {}, title), h("a", { class: "button", href: `#/builder?q=${encodeURIComponent(query)}` }, t("open_builder"))));
  main.append(card(t("members"), membersTable((st) => api("/api/query/preview", { json: { query, fields: st.fields, page: st.page, sort: st.sort, order: st.order, search: st.search || null, page_size: 25 } }), {})));
}

// ------------------------------------------------------------------ one customer
async function pageCustomer(main, id) {
  const c = await api(`/api/customers/${encodeURIComponent(id)}`);
  const p = c.profile, contact = c.contact;
  const who = contact && contact.name ? contact.name : c.customer_id;
  main.append(h("h1", {}, dv(who), h("small", {}, " ", dv(c.customer_id), ` · ${t("as_of", { d: fmtDate(c.as_of) })}`)));
  main.append(h("div", { class: "kpis" },
    kpi("revenue", fmtMoney(p.amount_spent)), kpi("orders", fmtInt(p.number_of_orders)),
    kpi("stage", fmtValue("lifecycle_stage", p.lifecycle_stage), fmtValue("lifecycle_reason", p.lifecycle_reason)),
    kpi("grade", fmtValue("grade", p.grade)), kpi("rfm_group", fmtValue("rfm_group", p.rfm_group), p.r_score ? `R${p.r_score} · F${p.f_score} · M${p.m_score}` : null)));
  const contactCard = card(t("contact"), contact
    ? h("dl", { class: "profile", id: "contact" }, CONTACT.map((k) => [h("dt", {}, fieldLabel(k)), h("dd", {}, dv(contact[k] || "–"))]),
      h("dt", {}, fieldLabel("email_subscription_status")), h("dd", {}, fmtValue("email_subscription_status", p.email_subscription_status)))
    : h("p", { class: "muted", id: "contact-guarded" }, t("contact_guarded")));
  const groups = [
    ["sec_purchases", ["number_of_orders", "amount_spent", "aov", "first_order_date", "last_order_date", "days_since_last_order", "avg_days_between_orders", "refunds", "favourite_category", "distinct_products", "distinct_categories"]],
    ["sec_person", ["gender", "age", "customer_countries", "customer_regions", "customer_cities", "signup_date", "signup_channel", "customer_tags", "known_customer", "guest"]],
    ["sec_scores", ["amount_spent_percentile", "frequency_percentile", "spend_tier", "frequency_tier", "r_score", "f_score", "m_score", "fm_score", "grade_amount", "grade_orders"]],
    ["sec_activity", ["first_event_date", "last_event_date", "events_total"]],
  ];
  const column = (f) => { const spec = fieldSpec(f); return spec && spec.column ? spec.column : f; };
  const profileCard = card(t("profile"), groups.map(([title, fields]) => {
    const shown = fields.filter((f) => column(f) in p);
    return shown.length ? [h("h3", {}, t(title)), h("dl", { class: "profile" }, shown.map((f) => [h("dt", {}, fieldLabel(f)), h("dd", {}, showValue(f, p[column(f)]))]))] : null;
  }), Object.keys(c.activity || {}).length ? [h("h3", {}, t("sec_events")), h("dl", { class: "profile", id: "activity" }, Object.entries(c.activity).map(([ev, n]) => [h("dt", {}, valueWords("event", ev) || dv(ev)), h("dd", {}, t("times", { n: fmtInt(n) }))]))] : null);
  const segs = h("ul", { class: "chips", id: "customer-segments" }, c.segments.map((sg) => h("li", { "data-segment": sg.name }, h("a", { href: `#/segment/${encodeURIComponent(sg.name)}` }, titleOf(sg)))));
  main.append(h("div", { class: "two" },
    h("div", {}, contactCard, profileCard),
    h("div", {},
      card(t("in_segments"), c.segments.length ? segs : h("p", { class: "muted", id: "customer-segments" }, t("in_no_segment")), h("p", { class: "muted small" }, t("segments_live"))),
      predictionCard(c.predictions),
      c.grades.length ? card(t("grades"), h("ul", {}, c.grades.map((g) => h("li", {}, `${fmtDate(g.as_of)} · ${fmtValue("grade", g.grade)}${g.previous_grade ? ` ← ${fmtValue("grade", g.previous_grade)}` : ""} (${fmtValue("change", g.change)})`)))) : null,
      explainCard(c))));
  const events = [
    ...c.orders.map((o) => ({ at: o.ordered_at, kind: "order", parts: [t("order"), dv(o.order_id), fmtMoney(o.total), fmtValue("status", o.status), o.refunded_amount ? `${t("refunded")} ${fmtMoney(o.refunded_amount)}` : null, o.channel ? fmtValue("channel", o.channel) : null, o.coupon_code ? dv(o.coupon_code) : null] })),
    ...c.events.map((e) => ({ at: e.occurred_at, kind: "event", parts: [valueWords("event", e.event) || dv(e.event), e.product_id ? dv(e.product_id) : null, e.category ? dv(e.category) : null] })),
  ].sort((a, b) => (a.at < b.at ? 1 : -1));
  const sep = (parts) => parts.filter((x) => x !== null && x !== undefined).flatMap((x, i) => (i ? [" · ", x] : [x]));
  main.append(card(t("timeline"), h("ol", { class: "timeline" }, events.map((e) => h("li", { class: e.kind }, h("time", {}, fmtDate(e.at)), " ", sep(e.parts))))));
}

// a prediction with its 90% interval when the run stored one: "3.2 (1.1 – 5.0)"
function withInterval(k, row) {
  const v = fmtValue(k, row[k]);
  const lo = row[`${k}_low`], hi = row[`${k}_high`];
  return lo !== undefined && hi !== undefined && lo !== null && hi !== null ? `${v} (${fmtValue(k, lo)} – ${fmtValue(k, hi)})` : v;
}
function predictionCard(pred) {
  const keys = Object.keys(pred || {}).filter((k) => !/_(low|high)$/.test(k));
  if (!keys.length || keys.every((k) => pred[k] === null)) return null;
  return card(t("predictions"), h("dl", { class: "profile", id: "predictions" }, keys.map((k) => [h("dt", {}, fieldLabel(k)), h("dd", {}, withInterval(k, pred))])),
    h("p", { class: "muted small" }, t("predictions_note")));
}

function explainCard(c) {
  const box = h("div", { class: "explain" });
  const select = h("select", { class: "explain-pick", "aria-label": t("choose_segment") }, h("option", { value: "" }, t("choose_segment")));
  api("/api/segments").then((items) => {
    for (const sg of items.filter((x) => !x.needs.length)) select.append(h("option", { value: sg.name, translate: ownTitle(sg) ? null : "no" }, label(sg.title)));
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
  const field = /^([a-z_][a-z0-9_]*)\s/.exec(node.condition || "");
  const val = node.value === null || node.value === undefined ? t("nothing") : field ? showValue(field[1], node.value) : dv(node.value);
  return h("div", { class: "xcond" }, mark, wordsLine(node.words), h("span", { class: "muted small" }, " (", t("value_was", { v: "" }), val, ")"));
}

// ------------------------------------------------------------------ predictions
async function pagePredictions(main) {
  main.append(h("h1", {}, t("predictions_title")));
  const metrics = h("div", {}, h("p", { class: "muted" }, t("loading")));
  const preds = await api("/api/predictions");
  main.append(h("div", { class: "two" }, card(t("backtest"), metrics), predictionsCard(preds)));
  try {
    const b = await api("/api/predictions/backtest");
    metrics.replaceChildren(
      h("p", { class: "muted" }, t("backtest_note", { c: fmtDate(b.cutoff), h: b.horizon_days, m: t(`model_${b.model}`) })),
      h("p", { class: "lead", id: "backtest-sentence" }, t("backtest_sentence", { auc: fmtPct(b.auc, 0), mae: fmtNum(b.mae, 2), a: fmtInt(b.actual_total), p: fmtInt(b.predicted_total), h: b.horizon_days })),
      h("div", { class: "kpis small", id: "backtest" },
        kpi("auc", fmtNum(b.auc, 3), t("auc_note")), kpi("mae", fmtNum(b.mae, 3), t("mae_note")), kpi("rmse", fmtNum(b.rmse, 3), t("rmse_note")),
        kpi("correlation", fmtNum(b.correlation, 3), t("correlation_note")), kpi("actual_total", fmtInt(b.actual_total)), kpi("predicted_total", fmtInt(b.predicted_total))),
      h("h3", {}, t("calibration")), calibrationChart(b.calibration || []));
  } catch (e) { metrics.replaceChildren(noticeOrError(e)); }
  const diag = h("div", { id: "diagnostics" }, h("p", { class: "muted" }, t("loading")));
  main.append(card(t("diagnostics"), diag));
  try { diag.replaceChildren(...diagnosticsParts(await api("/api/predictions/diagnostics"))); } catch (e) { diag.replaceChildren(noticeOrError(e)); }
}
// a shop whose history is still too short is told so in its language, not shown an error
function noticeOrError(e) {
  const d = e.detail || {};
  if (d.code !== "too_little_data") return errorBox(e);
  return h("p", { class: "muted notice", "data-code": d.code }, App.lang === "ko" && d.message_ko ? d.message_ko : d.message);
}
function predictionsCard(p) {
  if (!p.columns.length) return card(t("predictions"), h("p", { class: "muted", id: "no-predictions" }, t("no_predictions")));
  const fields = ["customer_id", ...p.columns.filter((c) => c !== "customer_id" && !/_(low|high)$/.test(c))];
  return card(t("top_predicted"),
    h("div", { class: "kpis small" }, Object.entries(p.averages).filter(([k]) => !/_(low|high|percentile)$/.test(k)).map(([k, v]) => h("div", { class: "kpi" }, h("div", { class: "kpi-label" }, `${t("average")} ${fieldLabel(k)}`), h("div", { class: "kpi-value" }, fmtValue(k, v))))),
    h("div", { class: "scroll" }, h("table", { class: "data" }, h("thead", {}, h("tr", {}, fields.map((f) => h("th", {}, fieldLabel(f))))),
      h("tbody", {}, p.rows.map((r) => h("tr", {}, fields.map((f) => h("td", { class: typeof r[f] === "number" ? "num" : "" }, f === "customer_id" ? h("a", { href: `#/customer/${encodeURIComponent(r[f])}`, translate: "no" }, r[f]) : `${f}_low` in r ? withInterval(f, r) : showValue(f, r[f])))))))),
    p.not_made && !p.rows.length ? h("p", { class: "muted notice", id: "not-made" }, App.lang === "ko" ? p.not_made.ko : p.not_made.en) : null,
    h("p", { class: "muted small" }, t("predictions_note")));
}

// predictions: the purchase model's diagnostics, drawn as the report draws them
// (src/danggol/outputs/charts/predictions.py), at their own pixel size (text ≥ 11 px on a phone;
// a wide chart scrolls sideways instead of shrinking)
const DIAG = { actual: "#1d4e89", predicted: "#e8703f", grid: "#d9dee4", muted: "#5f6b7a" };
function diagSvg(w, hgt, name, caption) {
  return s("svg", { viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, class: `chart diag ${name}`, style: `width:${w}px;height:${hgt}px;max-width:none`, role: "img", "aria-label": caption });
}
function diagTicks(hi, count = 4) {
  if (!(hi > 0) || !Number.isFinite(hi)) return [0, 1];
  const raw = hi / count, power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((v) => v >= raw * (1 - 1e-9));
  return Array.from({ length: Math.ceil(hi / step - 1e-9) + 1 }, (_, i) => Math.round(i * step * 1e10) / 1e10);
}
const diagScale = (lo, hi, a, b) => (v) => (hi === lo ? (a + b) / 2 : a + ((v - lo) * (b - a)) / (hi - lo));
function diagYAxis(svg, y, ticks, x0, x1, fmt) {
  for (const v of ticks) svg.append(s("line", { x1: x0, x2: x1, y1: y(v), y2: y(v), stroke: DIAG.grid }), svgText(x0 - 5, y(v) + 4, fmt(v), { "text-anchor": "end", class: "axis" }));
}
function diagLegend(svg, x, items) {
  for (const [words, colour, kind] of items) {
    svg.append(kind === "bar" ? s("rect", { x, y: 4, width: 11, height: 11, rx: 2, fill: colour })
      : s("line", { x1: x, x2: x + 15, y1: 10, y2: 10, stroke: colour, "stroke-width": 2.5, "stroke-dasharray": kind === "dash" ? "5 3" : null }));
    svg.append(svgText(x + 19, 14, words));
    x += 19 + words.length * (App.lang === "ko" ? 12 : 7) + 16;
  }
}
function diagMark(tag, attrs, tip) { return s(tag, attrs, s("title", {}, tip)); }
function condExpChart(rows) {
  const left = 44, top = 26, slot = 36, plotH = 160, w = left + slot * rows.length + 6, hgt = top + plotH + 52;
  const svg = diagSvg(w, hgt, "cond-exp", t("diag_cond_exp"));
  const ticks = diagTicks(Math.max(...rows.map((r) => Math.max(r.actual_mean, r.predicted_mean))));
  const y = diagScale(0, ticks[ticks.length - 1], top + plotH, top);
  diagLegend(svg, left, [[t("diag_actual"), DIAG.actual, "bar"], [t("diag_predicted"), DIAG.predicted, "bar"]]);
  diagYAxis(svg, y, ticks, left, w - 6, (v) => fmtNum(v, 1));
  rows.forEach((r, i) => {
    const x = left + i * slot + 4, bw = (slot - 8) / 2;
    ["actual", "predicted"].forEach((series, j) => {
      const v = r[`${series}_mean`];
      svg.append(diagMark("rect", { x: x + j * bw, y: y(v), width: bw, height: Math.max(0, y(0) - y(v)), fill: DIAG[series], class: "ce-bar", "data-frequency": r.frequency, "data-series": series, "data-value": v },
        `${t("diag_repeat_purchases")} ${r.frequency} · ${t(`diag_${series}`)} ${fmtNum(v, 3)} (${fmtPeople(r.customers)})`));
    });
    svg.append(svgText(x + bw, top + plotH + 15, r.frequency, { "text-anchor": "middle", class: "axis" }));
  });
  svg.append(svgText(left + (w - left) / 2, hgt - 8, t("diag_x_repeat"), { "text-anchor": "middle", class: "axis" }));
  return svg;
}
function trackingChart(rows, cumulative, unit) {
  const keys = cumulative ? ["cumulative_actual", "cumulative_predicted"] : ["actual", "predicted"];
  const left = 48, top = 26, plotH = 150, step = Math.max(14, Math.min(40, 280 / Math.max(rows.length - 1, 1)));
  const w = left + step * Math.max(rows.length - 1, 1) + 22, hgt = top + plotH + 48;
  const svg = diagSvg(w, hgt, cumulative ? "tracking-cumulative" : "tracking-weekly", cumulative ? t("diag_tracking_cumulative") : t("diag_tracking_weekly", { unit }));
  const ticks = diagTicks(Math.max(...rows.map((r) => Math.max(r[keys[0]], r[keys[1]]))));
  const y = diagScale(0, ticks[ticks.length - 1], top + plotH, top), x = diagScale(1, Math.max(rows.length, 2), left, w - 22);
  diagLegend(svg, left, [[t("diag_actual"), DIAG.actual, "line"], [t("diag_predicted"), DIAG.predicted, "dash"]]);
  diagYAxis(svg, y, ticks, left, w - 22, (v) => fmtNum(v, 0));
  const every = Math.max(1, Math.round(48 / step));
  const day = (iso) => (App.lang === "ko" ? `${iso.slice(5, 7)}.${iso.slice(8)}` : `${iso.slice(5, 7)}-${iso.slice(8)}`);
  for (const r of rows) if ((r.period - 1) % every === 0) svg.append(svgText(x(r.period), top + plotH + 15, day(r.end), { "text-anchor": "middle", class: "axis" }));
  [[keys[1], DIAG.predicted, "6 4"], [keys[0], DIAG.actual, null]].forEach(([k, colour, dash]) =>
    svg.append(s("polyline", { points: rows.map((r) => `${x(r.period).toFixed(1)},${y(r[k]).toFixed(1)}`).join(" "), fill: "none", stroke: colour, "stroke-width": 2, "stroke-dasharray": dash })));
  for (const r of rows) keys.forEach((k, j) => {
    const series = j ? "predicted" : "actual";
    svg.append(diagMark("circle", { cx: x(r.period), cy: y(r[k]), r: j ? 2.2 : 3, fill: DIAG[series], stroke: "#fff", class: "tracking-point", "data-period": r.period, "data-end": r.end, "data-series": series, "data-value": r[k] },
      `${fmtDate(r.end)} · ${t(`diag_${series}`)} ${fmtNum(r[k], 1)}`));
  });
  svg.append(svgText(left + (w - left) / 2, hgt - 6, t("diag_x_period_end", { unit }), { "text-anchor": "middle", class: "axis" }));
  return svg;
}
function diagCalibrationChart(rows) {
  const left = 48, top = 26, side = 240, w = left + side + 16, hgt = top + side + 40;
  const svg = diagSvg(w, hgt, "diag-calibration", t("diag_calibration"));
  const hi = Math.max(...rows.map((r) => Math.max(r.predicted, r.observed)));
  let ticks = diagTicks(Math.min(hi, 1), 4).filter((v) => v <= 1);
  if (ticks[ticks.length - 1] < hi) ticks = [...ticks, 1];
  const top1 = ticks[ticks.length - 1], x = diagScale(0, top1, left, left + side), y = diagScale(0, top1, top + side, top);
  diagLegend(svg, left, [[t("diag_actual"), DIAG.actual, "bar"], [t("diag_perfect"), DIAG.muted, "dash"]]);
  diagYAxis(svg, y, ticks, left, left + side, (v) => fmtPct(v, 0));
  for (const v of ticks) svg.append(s("line", { x1: x(v), x2: x(v), y1: top, y2: top + side, stroke: DIAG.grid }), svgText(x(v), top + side + 15, fmtPct(v, 0), { "text-anchor": "middle", class: "axis" }));
  svg.append(s("line", { x1: x(0), y1: y(0), x2: x(top1), y2: y(top1), stroke: DIAG.muted, "stroke-dasharray": "5 4" }));
  svg.append(s("polyline", { points: rows.map((r) => `${x(r.predicted).toFixed(1)},${y(r.observed).toFixed(1)}`).join(" "), fill: "none", stroke: DIAG.actual, "stroke-width": 1.5 }));
  for (const r of rows) svg.append(diagMark("circle", { cx: x(r.predicted), cy: y(r.observed), r: 5, fill: DIAG.actual, stroke: "#fff", "stroke-width": 1.5, class: "calibration-point", "data-bin": r.bin, "data-predicted": r.predicted, "data-observed": r.observed, "data-customers": r.customers },
    `${r.bin}/10 · ${t("diag_predicted")} ${fmtPct(r.predicted)} · ${t("diag_actual")} ${fmtPct(r.observed)} (${fmtPeople(r.customers)})`));
  svg.append(svgText(left + side / 2, hgt - 4, t("diag_x_predicted_p"), { "text-anchor": "middle", class: "axis" }));
  return svg;
}
function pAliveChart(m, unit) {
  const labelW = 46, head = 40, cw = 36, ch = 24, w = labelW + m.frequency.length * cw + 4, hgt = head + m.recency.length * ch + 4;
  const svg = diagSvg(w, hgt, "p-alive", t("diag_p_alive"));
  const mix = (p) => "#" + [[0xf3, 0x1d], [0xf7, 0x4e], [0xfb, 0x89]].map(([a, b]) => Math.round(a + (b - a) * p).toString(16).padStart(2, "0")).join("");
  svg.append(svgText(labelW, 14, `${t("diag_x_frequency")} →  ·  ${t("diag_y_recency", { unit })} ↓`, { class: "axis" }));
  m.frequency.forEach((f, j) => svg.append(svgText(labelW + j * cw + cw / 2, head - 7, f, { "text-anchor": "middle", class: "axis" })));
  [...m.recency.keys()].reverse().forEach((i, row) => {
    const yy = head + row * ch, rec = m.recency[i];
    svg.append(svgText(labelW - 5, yy + ch / 2 + 4, fmtNum(rec, 1), { "text-anchor": "end", class: "axis" }));
    m.frequency.forEach((f, j) => {
      const p = m.p_alive[i][j], fill = p === null ? "#fafbfc" : mix(p);
      const g = s("g", { class: "p-alive-cell", "data-frequency": f, "data-recency": rec, "data-p-alive": p === null ? "" : p },
        s("rect", { x: labelW + j * cw, y: yy, width: cw, height: ch, fill, stroke: "#fff" }));
      if (p !== null) g.append(s("title", {}, `${t("diag_x_frequency")} ${f} · ${t("diag_y_recency", { unit })} ${fmtNum(rec, 1)}: ${t("diag_alive")} ${fmtPct(p)}`),
        svgText(labelW + j * cw + cw / 2, yy + ch / 2 + 4, fmtPct(p, 0), { "text-anchor": "middle", fill: inkOn(fill), "font-size": 11 }));
      svg.append(g);
    });
  });
  return svg;
}
function diagnosticsParts(d) {
  const unit = t(`diag_unit_${d.time_unit}`);
  const part = (key, vars, ...body) => h("div", { class: "diagnostic", id: `diag-${key}` }, h("h3", {}, t(`diag_${key}`)), h("p", { class: "muted small" }, t(`diag_${key}_note`, vars)), ...body);
  const end = new Date(`${d.cutoff}T00:00:00Z`);
  end.setUTCDate(end.getUTCDate() + d.horizon_days);
  const rows = d.conditional_expectations;
  const mean3 = (v) => new Intl.NumberFormat(locale(), { minimumFractionDigits: 3, maximumFractionDigits: 3 }).format(v);
  const table = h("table", { class: "data", id: "cond-exp-table" },
    h("thead", {}, h("tr", {}, ["diag_repeat_purchases", "customers", "diag_actual_mean", "diag_predicted_mean"].map((k, i) => h("th", { class: i ? "num" : "" }, t(k))))),
    h("tbody", {}, rows.map((r) => h("tr", {}, h("td", {}, r.frequency), h("td", { class: "num" }, fmtInt(r.customers)), h("td", { class: "num" }, mean3(r.actual_mean)), h("td", { class: "num" }, mean3(r.predicted_mean))))));
  return [
    h("p", { class: "muted", id: "diag-summary" }, t("diag_note", { model: t(`model_${d.model}`), cutoff: d.cutoff, days: fmtInt(d.horizon_days), end: end.toISOString().slice(0, 10), n: fmtInt(d.customers), actual: fmtInt(d.actual_total), predicted: fmtInt(d.predicted_total), auc: fmtNum(d.auc, 3), brier: fmtNum(d.brier, 4) })),
    part("cond_exp", { days: fmtInt(d.horizon_days) }, h("div", { class: "two" }, h("div", { class: "scroll" }, condExpChart(rows)), h("div", { class: "scroll" }, table))),
    part("tracking", { unit }, h("h4", {}, t("diag_tracking_weekly", { unit })), h("div", { class: "scroll" }, trackingChart(d.tracking, false, unit)),
      h("h4", {}, t("diag_tracking_cumulative")), h("div", { class: "scroll" }, trackingChart(d.tracking, true, unit))),
    part("calibration", {}, h("div", { class: "scroll" }, diagCalibrationChart(d.calibration))),
    part("p_alive", { T: t(`diag_units_${d.time_unit}`, { n: fmtNum(d.p_alive_matrix.T, 1) }) }, h("div", { class: "scroll" }, pAliveChart(d.p_alive_matrix, unit))),
  ];
}

// ------------------------------------------------------------------ campaigns
const KPIS = ["conversion_rate", "revenue_per_customer", "aov", "orders"];
async function pageCampaigns(main) {
  main.append(h("h1", {}, t("campaigns_title")));
  const list = await api("/api/campaigns");
  const segments = new Map((await api("/api/segments")).map((sg) => [sg.name, sg]));
  // the segment by its title (a link), its name only when it is gone
  const segOf = (name) => { const sg = segments.get(name); return sg ? h("a", { href: `#/segment/${encodeURIComponent(name)}` }, titleOf(sg)) : dv(name); };
  if (!list.length) main.append(card(null, h("p", { class: "muted", id: "no-campaigns" }, t("no_campaigns"))));
  for (const c of list) {
    const r = await api(`/api/campaigns/${encodeURIComponent(c.name)}/report`);
    const k = r.kpi, v = r.verdict;
    const money = c.kpi === "revenue_per_customer" || c.kpi === "aov";
    const show = (x) => (money ? fmtMoney(x) : c.kpi === "orders" ? fmtNum(x, 3) : fmtPct(x));
    const level = fmtPct(v.level, 0);
    const verdict = !v.known ? t("verdict_unknown")
      : v.significant ? t(v.direction === "down" ? "verdict_worse" : "verdict_better", { l: level })
      : t("verdict_none", { l: level });
    main.append(card(h("span", {}, `${t("campaign")}: `, dv(c.name)),
      h("p", { class: `verdict ${v.significant ? (v.direction === "down" ? "out" : "in") : ""}`, "data-significant": String(v.significant) }, verdict),
      h("p", { class: "muted" }, `${t("segment")}: `, segOf(c.segment), ` · ${t("kpi_name")} ${t(`kpi_${c.kpi}`)} · ${t("window")} ${fmtDate(c.window_start)} – ${fmtDate(c.window_end)}`,
        r.complete ? "" : ` · ${t("window_open", { d: fmtDate(r.data_through) })}`),
      h("div", { class: "kpis small", "data-campaign": c.name },
        kpi("treated", `${show(k.treated)} (${fmtInt(r.treated.customers)})`),
        kpi("holdout", `${show(k.holdout)} (${fmtInt(r.holdout.customers)})`),
        kpi("difference", show(k.difference)),
        kpi("relative_uplift", fmtPct(k.relative_uplift)),
        kpi("interval", `${show(k.ci_low)} … ${show(k.ci_high)}`, t("interval_note", { l: level })),
        kpi("p_value", fmtNum(k.p_value, 3)),
        kpi("incremental_revenue", fmtMoney(r.incremental_revenue)))));
  }
  main.append(await campaignForm());
}
async function campaignForm() {
  const items = (await api("/api/segments")).filter((x) => !x.needs.length);
  const name = h("input", { id: "cmp-name", pattern: "[a-z0-9][a-z0-9_\\-]*", placeholder: t("campaign_name_hint") });
  const seg = h("select", { id: "cmp-segment" }, items.map((sg) => h("option", { value: sg.name, translate: ownTitle(sg) ? null : "no" }, `${label(sg.title)} (${fmtPeople(sg.size)})`)));
  const goal = h("select", { id: "cmp-goal" }, h("option", { value: "" }, t("goal_of_segment")), App.vocab.goals.map((g) => h("option", { value: g.goal }, label(g))));
  const kpiSel = h("select", { id: "cmp-kpi" }, KPIS.map((k) => h("option", { value: k }, t(`kpi_${k}`))));
  const share = h("input", { id: "cmp-holdout", type: "number", min: 1, max: 50, value: 10, step: 1 });
  const windowDays = h("input", { id: "cmp-window", type: "number", min: 1, max: 730, value: 30 });
  const msg = h("div", {});
  const save = h("button", { class: "primary", id: "cmp-save", onclick: async () => {
    try {
      await api("/api/campaigns", { json: { name: name.value.trim(), segment: seg.value, goal: goal.value || null, kpi: kpiSel.value, holdout_share: Number(share.value) / 100, window_days: Number(windowDays.value) } });
      route();
    } catch (e) { msg.replaceChildren(errorBox(e)); }
  } }, t("campaign_create"));
  return card(t("campaign_new"), h("p", { class: "muted" }, t("campaign_new_note")), h("div", { class: "form-grid" },
    h("label", {}, t("name"), name), h("label", {}, t("segment"), seg), h("label", {}, t("goal"), goal), h("label", {}, t("kpi_name"), kpiSel),
    h("label", {}, t("holdout_share"), share), h("label", {}, t("window_days"), windowDays)), save, msg);
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
  document.querySelector(".brand").replaceChildren(t("brand"), App.lang === "ko" ? h("span", { translate: "no" }, " danggol") : "");
  const nav = document.getElementById("nav");
  const here = location.hash || "#/";
  const link = (href, key) => h("a", { href, class: here === href || (href !== "#/" && here.startsWith(href)) ? "active" : "" }, t(key));
  nav.replaceChildren(link("#/", "nav_overview"), link("#/segments", "nav_segments"), link("#/builder", "nav_builder"), link("#/predictions", "nav_predictions"), link("#/campaigns", "nav_campaigns"));
  const lang = document.getElementById("lang");
  lang.textContent = t("lang_switch");
  lang.setAttribute("lang", App.lang === "ko" ? "en" : "ko");
  const info = document.getElementById("refresh-info");
  const st = App.status;
  info.replaceChildren(
    h("span", { class: "muted small refresh-date" }, st.last_refresh ? t("last_refresh", { d: fmtDate(st.last_refresh.as_of) }) : t("no_refresh")),
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
    alert(errorText(e.detail || { message: String(e) }));
  }
}

async function route() {
  const main = document.getElementById("main");
  renderHeader();
  main.replaceChildren(h("p", { class: "muted" }, t("loading")));
  // decoded once: the parameters by URLSearchParams (a '+' in a query stays a '+')
  const [path, query] = (location.hash || "#/").slice(1).split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  const page = h("div", { class: "page" });
  try {
    if (!parts.length) await pageOverview(page);
    else if (parts[0] === "segments") await pageSegments(page);
    else if (parts[0] === "segment") await pageSegment(page, parts.slice(1).join("/"));
    else if (parts[0] === "builder") await window.Builder.page(page, parts[1] || null, params.get("q"), params.get("from"));
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
  const [status, vocab, words] = await Promise.all([api("/api/status"), api("/api/vocabulary"), api("/api/words")]);
  App.status = status;
  App.vocab = vocab;
  window.I18N = { ko: words.ko, en: words.en };
  App.values = words.values;
  App.exportReasons = words.export_reasons;
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
window.Dash = { t, h, s, api, card, label, dv, ownTitle, titleOf, fmtInt, fmtPct, fmtMoney, fmtDate, fmtPeople, fmtValue, showValue, valueWords, errorBox, kpi, membersTable, fieldLabel, valuePicker, MEMBER_FIELDS };
document.addEventListener("DOMContentLoaded", () => { start().catch((e) => document.getElementById("main").replaceChildren(errorBox(e))); });
