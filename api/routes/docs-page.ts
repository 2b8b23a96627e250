// A small page that renders /openapi.json: operations by tag, the role each needs, parameters, request and
// response schemas. Self-contained so that /docs works without network access.
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Ratchet API</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #222; }
  h2 { border-bottom: 1px solid #ddd; text-transform: capitalize; }
  details { border: 1px solid #ddd; border-radius: 4px; margin: .4rem 0; padding: .3rem .6rem; }
  summary { cursor: pointer; }
  .method { display: inline-block; width: 4.2rem; font-weight: 600; text-transform: uppercase; }
  .role { color: #666; font-size: .85em; margin-left: .5rem; }
  code, pre { font: 13px ui-monospace, monospace; }
  pre { background: #f6f6f6; padding: .5rem; overflow-x: auto; }
</style>
</head>
<body>
<h1>Ratchet API</h1>
<p>Send <code>Authorization: Bearer &lt;key&gt;</code>. Errors are OpenAI's envelope, <code>{"error": {message, type, param, code}}</code>.
The machine-readable document is <a href="/openapi.json">/openapi.json</a>.</p>
<main id="ops">Loading…</main>
<script>
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};
const json = (value) => el('pre', {}, JSON.stringify(value, null, 2));
fetch('/openapi.json').then((r) => r.json()).then((doc) => {
  const byTag = {};
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) (byTag[op.tags[0]] ??= []).push({ path, method, op });
  }
  const main = document.getElementById('ops');
  main.replaceChildren();
  for (const [tag, ops] of Object.entries(byTag)) {
    main.append(el('h2', {}, tag));
    for (const { path, method, op } of ops) {
      const body = op.requestBody && Object.entries(op.requestBody.content)[0];
      main.append(el('details', {},
        el('summary', {}, el('span', { className: 'method' }, method), el('code', {}, path), ' ', op.summary,
          el('span', { className: 'role' }, op['x-required-role'] ? 'role: ' + op['x-required-role'] : 'no key needed')),
        ...(op.parameters ? [el('h4', {}, 'Parameters'), json(op.parameters.map((p) => ({ name: p.name, in: p.in, required: p.required, schema: p.schema })))] : []),
        ...(body ? [el('h4', {}, 'Request body (' + body[0] + ')'), json(body[1].schema)] : []),
        el('h4', {}, 'Responses'),
        json(Object.fromEntries(Object.entries(op.responses).map(([s, r]) => [s, r.description]))),
      ));
    }
  }
  main.append(el('h2', {}, 'Schemas'), json(doc.components.schemas));
}).catch((error) => { document.getElementById('ops').textContent = 'Could not load /openapi.json: ' + error; });
</script>
</body>
</html>
`;
