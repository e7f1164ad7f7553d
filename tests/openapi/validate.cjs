// Test-side only (never the product): checks the bridge's OpenAPI document with a standard
// validator (@apidevtools/swagger-parser: the OpenAPI 3.0 schema and its semantic rules), then,
// when given replies the real bridge sent, validates each against the schema the document gives
// for its route and status (Ajv), and that the status and content type are documented at all.
//   node validate.cjs DOC.json [REPLIES.json]
// REPLIES.json: [{"method": "post", "path": "/v1/campaigns/{id}", "status": 201,
//                 "content_type": "application/json", "body": <JSON or null>}, ...]
'use strict';
const fs = require('fs');
const SwaggerParser = require('@apidevtools/swagger-parser');
const Ajv = require('ajv');

async function main() {
  const [docFile, repliesFile] = process.argv.slice(2);
  const doc = JSON.parse(fs.readFileSync(docFile, 'utf8'));
  await SwaggerParser.validate(JSON.parse(JSON.stringify(doc)));  // throws, naming what is wrong
  const ids = new Set();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!op.operationId) throw new Error(`${method} ${path}: no operationId`);
      if (ids.has(op.operationId)) throw new Error(`operationId ${op.operationId} twice`);
      ids.add(op.operationId);
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) >= 400 && !(response.content || {})['application/problem+json'])
          throw new Error(`${method} ${path} ${status}: an error that is not application/problem+json`);
      }
    }
  }
  console.log(`OpenAPI ${doc.openapi} document valid: ${ids.size} operations`);
  if (!repliesFile) return;
  const dereferenced = await SwaggerParser.dereference(JSON.parse(JSON.stringify(doc)));
  const ajv = new Ajv({ strict: false, allErrors: true });
  const replies = JSON.parse(fs.readFileSync(repliesFile, 'utf8'));
  const failures = [];
  const covered = new Set();
  for (const r of replies) {
    const where = `${r.method} ${r.path} -> ${r.status}`;
    const op = (dereferenced.paths[r.path] || {})[r.method];
    if (!op) { failures.push(`${where}: no such operation`); continue; }
    covered.add(`${r.method} ${r.path}`);
    const response = op.responses[String(r.status)];
    if (!response) { failures.push(`${where}: status not documented`); continue; }
    if (!response.content) {
      if (r.body !== null && r.body !== '') failures.push(`${where}: documented without a body, got one`);
      continue;
    }
    const type = (r.content_type || '').split(';')[0].trim();
    const media = response.content[type];
    if (!media) { failures.push(`${where}: content type ${type} not documented (${Object.keys(response.content)})`); continue; }
    if (type !== 'application/json' && type !== 'application/problem+json') continue;
    const validate = ajv.compile(media.schema);
    if (!validate(r.body)) failures.push(`${where}: ${ajv.errorsText(validate.errors)}`);
  }
  if (failures.length) throw new Error(`${failures.length} replies do not match the document:\n  ${failures.join('\n  ')}`);
  console.log(`${replies.length} replies match the document, on ${covered.size} operations`);
}

main().catch((e) => {
  console.error(String(e.message || e));
  process.exit(1);
});
