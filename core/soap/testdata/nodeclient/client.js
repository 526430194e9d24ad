// Calls the wfApi service through node-soap, which builds its requests
// from the WSDL the service serves. Usage: node client.js WSDL_URL PLAN.json
// with the HTTP Basic credentials in WFAPI_USER and WFAPI_PASSWORD.
// The plan is a list of {op, args}; the output is a JSON list of
// {op, result, error, request}.
'use strict';
const soap = require('soap');
const fs = require('fs');

async function main() {
  const [url, planFile] = process.argv.slice(2);
  const plan = JSON.parse(fs.readFileSync(planFile, 'utf8'));
  const client = await soap.createClientAsync(url);
  if (process.env.WFAPI_USER) {
    client.setSecurity(new soap.BasicAuthSecurity(process.env.WFAPI_USER, process.env.WFAPI_PASSWORD || ''));
  }
  const out = [];
  for (const step of plan) {
    try {
      const [result, , , request] = await client[step.op + 'Async'](step.args);
      out.push({ op: step.op, result: result, request: request });
    } catch (e) {
      out.push({ op: step.op, error: String(e.message || e) });
    }
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(String(e.stack || e));
  process.exit(1);
});
