// Each test file gets its own database, cloned from the migrated template, and its own data
// directory (for the generated server key and TLS certificate).
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, inject } from "vitest";
import { useConfig } from "../../lib/config/config.ts";
import { closeDatabase } from "../../lib/db/close-database.ts";

export async function createTestDatabase(): Promise<string> {
  const admin = inject("pgAdminUrl");
  const name = `t_${crypto.randomBytes(6).toString("hex")}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name} TEMPLATE mailharbor_template`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface TestEnvironment {
  url: string;
  dataDir: string;
}

/**
 * Points this test file's process at a fresh database and data directory (DATABASE_URL and
 * MAILHARBOR_DATA_DIR), so the core, and any mailer or CLI it spawns, use them.
 */
export function useTestDatabase(): TestEnvironment {
  const env = { url: "", dataDir: "" };
  beforeAll(async () => {
    env.url = await createTestDatabase();
    env.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-test-data-"));
    process.env.DATABASE_URL = env.url;
    process.env.MAILHARBOR_DATA_DIR = env.dataDir;
    // the core reads these through the configuration, which may have been loaded before
    useConfig(process.env);
  });
  afterAll(async () => {
    await closeDatabase();
    fs.rmSync(env.dataDir, { recursive: true, force: true });
  });
  return env;
}
