// Explicit checks rather than a JSON schema: they let every message name the field and say exactly
// what is wrong with it, and report all the problems of a body at once.
import type { BookInput } from './store/book-store.ts';
import { ProblemError, type FieldError } from './problem.ts';

export const maxFieldLength = 500;
const bookFields = ['titulo', 'autor'] as const;

function checkText(body: Record<string, unknown>, field: string, errors: FieldError[]): string {
  if (!Object.hasOwn(body, field)) {
    errors.push({ field, detail: `${field} is required` });
    return '';
  }
  const value = body[field];
  if (typeof value !== 'string') {
    const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    errors.push({ field, detail: `${field} must be a string, got ${got}` });
    return '';
  }
  const text = value.trim();
  // Characters are Unicode code points, so an accented title counts as a person would count it.
  const length = [...text].length;
  if (length === 0) errors.push({ field, detail: `${field} must not be empty` });
  else if (length > maxFieldLength) {
    errors.push({ field, detail: `${field} must be at most ${maxFieldLength} characters, got ${length}` });
  }
  return text;
}

/** Validates a POST or PUT body; throws a 400 problem that lists every faulty field. */
export function parseBookInput(body: unknown): BookInput {
  if (body === undefined) {
    throw new ProblemError('invalid-book', 'request body is missing: send a JSON object with titulo and autor');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const got = body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`;
    throw new ProblemError('invalid-book', `request body must be a JSON object with titulo and autor, got ${got}`);
  }
  const record = body as Record<string, unknown>;
  const errors: FieldError[] = [];
  const details: string[] = [];
  const unknown = Object.keys(record).filter((key) => !(bookFields as readonly string[]).includes(key));
  if (unknown.length > 0) {
    const names = unknown.map((key) => JSON.stringify(key)).join(', ');
    details.push(`unknown field${unknown.length > 1 ? 's' : ''} ${names}; allowed fields are titulo and autor`);
    for (const field of unknown) errors.push({ field, detail: `unknown field ${JSON.stringify(field)}` });
  }
  const checked = errors.length;
  const titulo = checkText(record, 'titulo', errors);
  const autor = checkText(record, 'autor', errors);
  details.push(...errors.slice(checked).map((error) => error.detail));
  if (errors.length > 0) throw new ProblemError('invalid-book', details.join('; '), { errors });
  return { titulo, autor };
}

/** A book id is a positive integer that JavaScript can represent exactly. */
export function parseBookId(raw: string): number {
  const id = /^[1-9]\d{0,15}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(id)) {
    const shown = raw.length > 40 ? `${raw.slice(0, 40)}…` : raw;
    throw new ProblemError('invalid-id', `book id must be a positive integer up to ${Number.MAX_SAFE_INTEGER}, got '${shown}'`);
  }
  return id;
}
