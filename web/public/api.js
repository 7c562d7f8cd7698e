import { prefs } from './prefs.js';

// ---------------------------------------------------------------------------
// HTTP

export class HttpError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.error) || (status === 0 ? 'network' : 'internal');
    this.field = body && typeof body.field === 'string' ? body.field : null;
  }
}

export async function api(method, path, body) {
  const init = { method, headers: { accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (prefs.token) init.headers.authorization = `Bearer ${prefs.token}`;
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new HttpError(0, null);
  }
  let json = null;
  try {
    json = await res.json();
  } catch {
    json = null;
  }
  if (!res.ok) throw new HttpError(res.status, json);
  return json;
}

