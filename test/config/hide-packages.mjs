// Run with `node --import ./test/config/hide-packages.mjs`: the packages named in
// LLAMONITOR_TEST_HIDDEN_PACKAGES (comma-separated) cannot be imported, as if not installed.
import { register } from 'node:module';

const hidden = (process.env.LLAMONITOR_TEST_HIDDEN_PACKAGES ?? '').split(',').filter(Boolean);
const hook = `
let hidden = [];
export function initialize(data) { hidden = data.hidden; }
export async function resolve(specifier, context, next) {
  const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
  if (hidden.includes(name)) {
    const error = new Error("Cannot find package '" + name + "' imported from " + context.parentURL);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`, { data: { hidden } });
