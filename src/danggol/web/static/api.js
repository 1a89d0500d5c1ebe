// The API reference, drawn from the app's own OpenAPI schema (/openapi.json): no CDN.
"use strict";
(async function () {
  const main = document.getElementById("main");
  const el = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  };
  const schema = await (await fetch("openapi.json")).json();
  const ref = (s) => (s && s.$ref ? s.$ref.split("/").pop() : s && s.type ? s.type : s && (s.anyOf || s.allOf) ? (s.anyOf || s.allOf).map(ref).join(" | ") : "");
  const sections = [];
  for (const [path, methods] of Object.entries(schema.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = (op.parameters || []).map((p) => el("li", {}, el("code", {}, p.name), ` (${p.in}${p.required ? ", required" : ""}) ${ref(p.schema)}`, p.description ? ` — ${p.description}` : ""));
      const body = op.requestBody ? ref(Object.values(op.requestBody.content)[0].schema) : null;
      sections.push(el("section", { class: "card", "data-path": path },
        el("h2", {}, el("code", {}, `${method.toUpperCase()} ${path}`)),
        el("p", {}, op.summary || ""),
        params.length ? el("ul", {}, params) : null,
        body ? el("p", { class: "muted" }, `body: ${body}`) : null,
        el("p", { class: "muted small" }, `responses: ${Object.keys(op.responses || {}).join(", ")}`)));
    }
  }
  const models = Object.entries((schema.components || {}).schemas || {}).map(([name, s]) =>
    el("section", { class: "card" }, el("h2", {}, name),
      el("ul", {}, Object.entries(s.properties || {}).map(([k, v]) => el("li", {}, el("code", {}, k), ` ${ref(v)}${(s.required || []).includes(k) ? " (required)" : ""}`)))));
  main.replaceChildren(
    el("h1", {}, `${schema.info.title} ${schema.info.version}`, el("small", {}, " — ", el("a", { href: "openapi.json" }, "openapi.json"))),
    el("p", {}, schema.info.summary || ""),
    el("p", { class: "muted" }, 'Every error: {"error": {"code", "message", "position"?, "caret"?, "suggestion"?}}'),
    ...sections, el("h1", {}, "Models"), ...models);
  document.body.dataset.ready = "1";
})();
