// Keeps V8's fast path for string methods after a library subclasses String.
//
// `class X extends String` (ioredis's RESP3 VerbatimString does it) turns String.prototype into a
// dictionary-mode object. V8 then cannot fold a method load on a string (`text.indexOf`) to a
// constant in optimized code and calls the generic LoadIC for every such call, in every module
// of the process: measured here, a response-head parse took 2.5 times as long, and the gateway's
// request path lost about a tenth of its throughput. V8 only makes a prototype fast again when a
// lookup through it from an object (not a string primitive) updates an inline cache, and a
// function gets inline caches only after a few calls: so a lookup through a String wrapper
// object, repeated, does it. test/integration/fast-string-prototype.test.ts checks the result
// with V8's own %HasFastProperties, so a V8 that changes this rule fails the test rather than
// slows us quietly.

/** A String wrapper: its lookups go through String.prototype. */
const probe = Object(' ') as { indexOf: unknown };

function lookUp(target: { indexOf: unknown }): unknown {
  return target.indexOf;
}

/** Makes String.prototype a fast-mode object again; call after loading a module that subclasses String. */
export function restoreFastStringPrototype(): void {
  // lookUp gets inline caches after V8's --invocation-count-for-feedback-allocation calls (8 by
  // default), and their first update makes the prototype chain fast: 1,000 calls (a few µs, once)
  // leave room for a raised setting.
  for (let i = 0; i < 1000; i++) lookUp(probe);
}
