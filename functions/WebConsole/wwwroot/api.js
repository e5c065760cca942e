// Every number on a page comes from here: the API, with the key entered once and kept in this browser session.
const keyName = 'siyu.apiKey';

export const key = {
  get: () => sessionStorage.getItem(keyName),
  set: (k) => sessionStorage.setItem(keyName, k),
  clear: () => sessionStorage.removeItem(keyName),
};

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export async function api(path, options = {}) {
  const headers = { Accept: 'application/json', Authorization: `Bearer ${key.get() ?? ''}` };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method: options.method ?? 'GET', headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

/** Polls an analysis job until it is no longer running; onProgress sees each read. */
export async function runJob(request, onProgress) {
  let job = await api('/api/analytics/jobs', { method: 'POST', body: request });
  while (job.status === 'running') {
    onProgress?.(job);
    await new Promise((r) => setTimeout(r, 700));
    job = await api(job.location);
  }
  return job;
}
