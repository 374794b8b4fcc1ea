import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Every envcapsule route lives under `<base_url>envcapsule/api/`. */
export const API_NAMESPACE = 'envcapsule/api';

/** A request the server answered with an error; `message` is its one-sentence `error`. */
export class EnvcapsuleRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: any
  ) {
    super(message);
    this.name = 'EnvcapsuleRequestError';
  }
}

/**
 * Call the envcapsule REST API.
 *
 * @param endPoint route below `envcapsule/api/`, e.g. `status` or `jobs/<id>`
 * @param init fetch options (method, body)
 * @param query query parameters, URL-encoded here
 * @returns the decoded JSON body
 * @throws EnvcapsuleRequestError with the server's sentence, or a sentence of our own
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  query: { [key: string]: string } = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url =
    URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint) +
    URLExt.objectToQueryString(query);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new EnvcapsuleRequestError(
      'The Jupyter server cannot be reached; check that it is still running.',
      0,
      error
    );
  }
  const text = await response.text();
  let body: any = null;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (!response.ok) {
    throw new EnvcapsuleRequestError(
      errorSentence(response, body),
      response.status,
      body
    );
  }
  return body as T;
}

/**
 * The URL of a job's server-sent events. EventSource cannot send headers, so the
 * token (when the page has one) goes in the query; otherwise the login cookie is used.
 */
export function jobEventsURL(
  jobId: string,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): string {
  const url = URLExt.join(
    settings.baseUrl,
    API_NAMESPACE,
    'jobs',
    encodeURIComponent(jobId),
    'events'
  );
  return settings.token
    ? url + URLExt.objectToQueryString({ token: settings.token })
    : url;
}

function errorSentence(response: Response, body: any): string {
  if (body && typeof body === 'object') {
    if (typeof body.error === 'string' && body.error) {
      return body.error;
    }
    if (typeof body.message === 'string' && body.message) {
      return body.message;
    }
  }
  if (response.status === 404) {
    return (
      'The envcapsule server extension is not answering; install envcapsule in the ' +
      'environment that runs Jupyter and restart the server.'
    );
  }
  if (response.status === 403) {
    return 'The Jupyter server refused the request; reload the page and log in again.';
  }
  return `The envcapsule server answered ${response.status} ${response.statusText}; see the server log for details.`;
}
