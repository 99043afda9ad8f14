// One real PostgreSQL (the embedded one) for the whole run, in a temporary directory on a free
// port, with the migrations applied to a template database; each test file clones the template.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { openEmbeddedDatabase } from "../../lib/db/embedded-postgres.ts";
import { migrateDatabase } from "../../lib/db/migrate.ts";

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgDataDir: string;
  }
}

export default async function setup(project: TestProject) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-test-pg-"));
  fs.chmodSync(dataDir, 0o755);
  const server = await openEmbeddedDatabase(dataDir, {
    // a throw-away cluster: durability across an operating-system crash is not under test
    settings: { fsync: "off", full_page_writes: "off", max_connections: "300" },
  });
  const admin = new URL(server.url);
  admin.pathname = "/postgres";
  const template = new URL(server.url);
  template.pathname = "/mailharbor_template";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query("DROP DATABASE IF EXISTS mailharbor_template");
  await client.query("CREATE DATABASE mailharbor_template");
  await client.end();
  await migrateDatabase(template.toString());
  project.provide("pgAdminUrl", admin.toString());
  project.provide("pgDataDir", dataDir);
  return async () => {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}
