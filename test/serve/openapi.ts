/** Checks an API response against docs/openapi.json: the schema of its path, method GET and status. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { REPO } from '../support/child-process.js';

interface OpenApi {
  readonly paths: Record<
    string,
    { get: { responses: Record<string, { content?: Record<string, unknown> }> } }
  >;
}

export function openApiDocument(): OpenApi & Record<string, unknown> {
  return JSON.parse(readFileSync(join(REPO, 'docs', 'openapi.json'), 'utf8')) as OpenApi &
    Record<string, unknown>;
}

/** `(path, status, body) => problems`: an empty list when the body is what the document promises. */
export function apiValidator(): (path: string, status: number, body: unknown) => string[] {
  const document = openApiDocument();
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat('date-time', (text: string) => !Number.isNaN(Date.parse(text)) && /Z$/.test(text));
  ajv.addSchema({ ...document, $id: 'openapi' });
  const pointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');
  return (path, status, body) => {
    const responses = document.paths[path]?.get.responses;
    if (responses === undefined) return [`docs/openapi.json has no path ${path}`];
    const key = String(status) in responses ? String(status) : 'default';
    if (!(key in responses)) return [`docs/openapi.json has no response ${status} for ${path}`];
    const validate = ajv.compile({
      $ref: `openapi#/paths/${pointer(path)}/get/responses/${key}/content/${pointer('application/json')}/schema`,
    });
    if (validate(body)) return [];
    return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''}`);
  };
}
