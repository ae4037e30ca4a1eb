/**
 * Preloaded (`--import`) by `npm run test:express4`: every `express` the test process loads (the
 * router's, which an installed package resolves to the host's own copy through the peer
 * dependency, and the tests') is Express 4, installed as the `express4` dev dependency. Mocha
 * loads test files with `require`, and tsx compiles them to CommonJS, so redirecting CommonJS
 * resolution reaches every import.
 */
import Module from 'node:module';

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveExpress4(request, ...rest) {
  const redirected =
    request === 'express' || request.startsWith('express/')
      ? `express4${request.slice('express'.length)}`
      : request;
  return resolveFilename.call(this, redirected, ...rest);
};
