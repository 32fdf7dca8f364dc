// Calls through the preview server's proxy, which adds the sidecar's and the org's credentials. Errors are
// shaped like Apex / UI API errors ({ status, body: { message } }) so the components' errorMessage() reads them.
import { previewConfig } from './config';

async function send(base, path, init = {}) {
  const { token } = previewConfig();
  const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  if (init.body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(`${base}${path}`, {
    method: init.method || 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { message: text };
  }
  if (!response.ok) {
    throw { status: response.status, statusText: response.statusText, body: errorBody(body, response) };
  }
  return body;
}

/** Salesforce REST errors are [{ message, errorCode }]; the sidecar's are { error: { code, message } }. */
function errorBody(body, response) {
  if (Array.isArray(body) && body[0] && body[0].message) {
    return { message: body.map((e) => e.message).join(', ') };
  }
  if (body && body.error && typeof body.error.message === 'string') {
    return { message: body.error.message };
  }
  if (body && typeof body.message === 'string') {
    return { message: body.message };
  }
  return { message: `${response.status} ${response.statusText}` };
}

export function sidecar(path, init) {
  return send(previewConfig().sidecarBase, path, init);
}

export function org(path, init) {
  return send(previewConfig().orgBase, path, init);
}

/** All records of a SOQL query (the preview's queries are small: one page). */
export async function orgQuery(soql) {
  const result = await org(`/query?q=${encodeURIComponent(soql)}`);
  return result.records.map(({ attributes: _attributes, ...fields }) => fields);
}

/** SOQL string literal. */
export function quote(value) {
  return `'${String(value).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
