#!/usr/bin/env node
// Validates AsyncAPI documents with the official AsyncAPI parser (@asyncapi/parser, pinned in
// package.json): the same checks AsyncAPI Studio and the AsyncAPI CLI run, so a document that
// passes here is one partners' tools can read.
//
// Usage: node validate.mjs [--strict] FILE...
//   Prints each error and warning as `FILE: severity code at #/json/pointer: message`.
//   Exit 0: no document has an error (nor, with --strict, a warning).
//   Exit 1: some document has one. Exit 2: bad usage or a file that cannot be read.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { DiagnosticSeverity, Parser } from '@asyncapi/parser';

const SHOWN = new Map([
  [DiagnosticSeverity.Error, 'error'],
  [DiagnosticSeverity.Warning, 'warning'],
]);

// A JSON Pointer (RFC 6901): unambiguous where keys hold dots, as `Registered.v1` does.
function pointer(path) {
  const escaped = (path ?? []).map((key) => String(key).replaceAll('~', '~0').replaceAll('/', '~1'));
  return `#/${escaped.join('/')}`;
}

async function check(parser, file, strict) {
  const text = await readFile(file, 'utf8');
  // The source lets the parser name the file and resolve any relative $ref against it.
  const { diagnostics } = await parser.parse(text, { source: pathToFileURL(resolve(file)).href });
  let failed = false;
  for (const diagnostic of diagnostics) {
    const severity = SHOWN.get(diagnostic.severity);
    if (severity === undefined) continue; // information and hints say nothing is wrong
    console.log(
      `${file}: ${severity} ${diagnostic.code} at ${pointer(diagnostic.path)}: ${diagnostic.message}`,
    );
    if (diagnostic.severity === DiagnosticSeverity.Error || strict) failed = true;
  }
  return failed;
}

async function main(args) {
  const strict = args.includes('--strict');
  const files = args.filter((arg) => arg !== '--strict');
  if (files.length === 0) {
    console.error('usage: node validate.mjs [--strict] FILE...');
    return 2;
  }
  const parser = new Parser();
  let failures = 0;
  for (const file of files) {
    let failed;
    try {
      failed = await check(parser, file, strict);
    } catch (error) {
      console.error(`${file}: cannot be checked: ${error.message}`);
      return 2;
    }
    if (failed) failures += 1;
    console.log(`${file}: ${failed ? 'INVALID' : 'valid'}`);
  }
  console.log(`${files.length - failures} valid, ${failures} invalid`);
  return failures === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
