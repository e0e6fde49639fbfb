// A fresh, empty control-plane store location for one test: a temporary SQLite file, or a
// PostgreSQL database made for this run and dropped after it. Every store test runs on both.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { serviceAvailable, testPostgresUrl } from './services.ts';

export type StoreKind = 'sqlite' | 'postgres';

/** The store URL, or undefined when PostgreSQL is absent (the test is then skipped). */
export async function freshStoreUrl(t: TestContext, kind: StoreKind, label: string): Promise<string | undefined> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), `stampgate-${label}-`));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    return `sqlite:${join(dir, 'control.db')}`;
  }
  if (!(await serviceAvailable('postgres'))) {
    t.skip(`PostgreSQL does not answer at ${testPostgresUrl}`);
    return undefined;
  }
  const name = `stampgate_${label.replace(/\W/g, '_')}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: testPostgresUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  t.after(async () => {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  const url = new URL(testPostgresUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
