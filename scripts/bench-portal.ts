// `npm run bench:portal`: how fast the staff queue and a customer's held mail answer with a million
// held deliveries. Builds its own embedded PostgreSQL cluster in a temporary directory, fills it
// with generate_series, then times the core queries and the real pages served by `next start`.
// Prints figures; asserts nothing.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { Actor } from "../lib/actor.ts";
import { CLI_ACTOR } from "../lib/actor.ts";
import { useConfig } from "../lib/config/config.ts";
import { getDb } from "../lib/db/client.ts";
import { closeDatabase } from "../lib/db/close-database.ts";
import { openEmbeddedDatabase } from "../lib/db/embedded-postgres.ts";
import { migrateDatabase } from "../lib/db/migrate.ts";
import { queueCsvLines } from "../lib/queue/export-queue.ts";
import { countBulkQueueAction } from "../lib/queue/queue-actions.ts";
import { searchQueue, type QueueSearch } from "../lib/queue/search-queue.ts";
import { getDashboardStats } from "../lib/stats/dashboard-stats.ts";
import { createPortalUser } from "../lib/users/users.ts";
import { startPortal, type Portal } from "../test/helpers/portal.ts";

const HELD = Number(process.env.BENCH_DELIVERIES ?? 1_000_000);
const CUSTOMERS = 200;
const RUNS = 15;
const PASSWORD = "bench-password-1";

function log(line: string) {
  process.stdout.write(`${line}\n`);
}

async function seed(client: pg.Client) {
  const started = Date.now();
  // Crockford base32, as lib/queue/queue-id.ts writes queue ids: 10 characters of time, 6 of sequence
  await client.query(`
    CREATE FUNCTION pg_temp.crockford(v bigint, len int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
      SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((v >> (5 * (len - 1 - i))) & 31)::int + 1, 1), '' ORDER BY i)
      FROM generate_series(0, len - 1) AS i $$`);
  await client.query(`
    INSERT INTO customer (id, name, email, updated_at)
    SELECT gen_random_uuid(), CASE WHEN c = 0 THEN 'Big Customer' ELSE 'Customer ' || lpad(c::text, 3, '0') END,
           'postmaster@c' || c || '.example', now()
    FROM generate_series(0, ${CUSTOMERS - 1}) AS c`);
  await client.query(`
    INSERT INTO domain (id, name, customer_id, recipient_policy, updated_at)
    SELECT gen_random_uuid(), 'd' || n || '.c' || split_part(c.email, '@c', 2), c.id, 'accept_all', now()
    FROM customer c, generate_series(1, 2) AS n`);
  // 30% of the mail for the big customer, the rest spread evenly over the other domains;
  // arrivals spread over the last 30 days, so ids are time-ordered like real queue ids
  await client.query(`
    CREATE TEMP TABLE bench_domains AS
    SELECT row_number() OVER (ORDER BY d.name) - 1 AS n, d.id, d.customer_id, d.name, c.name = 'Big Customer' AS big
    FROM domain d JOIN customer c ON c.id = d.customer_id`);
  await client.query(`
    CREATE TEMP TABLE bench_messages AS
    SELECT i, ms, pg_temp.crockford(ms, 10) || pg_temp.crockford(i % 1073741824, 6) AS id
    FROM (SELECT i, (extract(epoch FROM now()) * 1000)::bigint - (${HELD} - i::bigint) * ${Math.floor((30 * 86_400_000) / HELD)} AS ms
          FROM generate_series(1::bigint, ${HELD}) AS i) AS t`);
  await client.query(`
    INSERT INTO message (id, mail_from, size, received_at, from_header, subject, client_address)
    SELECT id, 'sender' || (i % 5000) || '@outside' || (i % 300) || '.example', 1500 + (i * 7919) % 200000,
           to_timestamp(ms / 1000.0) AT TIME ZONE 'UTC',
           'Sender ' || (i % 5000) || ' <sender' || (i % 5000) || '@outside' || (i % 300) || '.example>',
           (ARRAY['Invoice', 'Meeting notes', 'Re: quarterly figures', 'Order confirmation', 'Newsletter', 'Password reset'])[(1 + i % 6)::int] || ' #' || i,
           '192.0.2.' || (i % 250)
    FROM bench_messages`);
  await client.query(`
    INSERT INTO delivery (message_id, domain_id, customer_id, recipient, state, lease_owner, lease_until, created_at)
    SELECT b.id, d.id, d.customer_id, 'user' || (b.i % 40) || '@' || d.name,
           (CASE WHEN b.i % 997 = 0 THEN 'delivering' ELSE 'queued' END)::"DeliveryState",
           CASE WHEN b.i % 997 = 0 THEN 'mx1.bench:1' END, CASE WHEN b.i % 997 = 0 THEN now() + interval '10 minutes' END,
           to_timestamp(b.ms / 1000.0) AT TIME ZONE 'UTC'
    FROM bench_messages b
    JOIN bench_domains d ON d.n = CASE WHEN b.i % 10 < 3 THEN (SELECT min(n) FROM bench_domains WHERE big) + b.i % 2
                                       ELSE (SELECT count(*) FROM bench_domains) - 1 - (b.i % ((SELECT count(*) FROM bench_domains) - 2)) END`);
  await client.query(`
    INSERT INTO odmr_session (id, customer_id, login_name, remote_address, reply, messages_delivered, started_at, ended_at)
    SELECT gen_random_uuid(), (SELECT id FROM customer ORDER BY name OFFSET s % ${CUSTOMERS} LIMIT 1), 'login' || (s % ${CUSTOMERS}),
           '198.51.100.' || (s % 250), CASE WHEN s % 7 = 0 THEN '450 4.7.0 not your domain' WHEN s % 3 = 0 THEN '250 OK' ELSE '453 You have no mail' END,
           CASE WHEN s % 3 = 0 THEN s % 20 ELSE 0 END,
           (now() AT TIME ZONE 'UTC') - (s * interval '12 seconds'), (now() AT TIME ZONE 'UTC') - (s * interval '12 seconds') + interval '3 seconds'
    FROM generate_series(1, 100000) AS s`);
  await client.query("ANALYZE");
  const { rows } = await client.query(
    `SELECT (SELECT count(*) FROM delivery) AS deliveries, (SELECT count(*) FROM message) AS messages, pg_size_pretty(pg_database_size(current_database())) AS size`,
  );
  log(
    `seeded ${rows[0].deliveries} held deliveries in ${rows[0].messages} messages, ${CUSTOMERS} customers, 100000 sessions (${rows[0].size}) in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
}

async function time(work: () => Promise<unknown>): Promise<{ median: number; p90: number; max: number }> {
  for (let i = 0; i < 3; i++) await work();
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    await work();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)], p90: ms[Math.floor(ms.length * 0.9)], max: ms[ms.length - 1] };
}

function row(label: string, t: { median: number; p90: number; max: number }) {
  log(`  ${label.padEnd(58)} median ${t.median.toFixed(1).padStart(7)} ms   p90 ${t.p90.toFixed(1).padStart(7)} ms   max ${t.max.toFixed(1).padStart(7)} ms`);
}

/** Logs in through next-auth's credentials endpoint and returns the session cookie. */
async function logIn(url: string, email: string): Promise<string> {
  const csrf = await fetch(`${url}/api/auth/csrf`);
  const cookies = csrf.headers.getSetCookie().map((c) => c.split(";")[0]);
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const response = await fetch(`${url}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookies.join("; ") },
    body: new URLSearchParams({ csrfToken, email, password: PASSWORD }),
  });
  const session = response.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .find((c) => c.startsWith("next-auth.session-token="));
  if (!session) throw new Error(`login as ${email} failed (${response.status})`);
  return session;
}

async function page(url: string, cookie: string): Promise<void> {
  const response = await fetch(url, { headers: { cookie } });
  await response.text();
  if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mailharbor-bench-portal-"));
  fs.chmodSync(dir, 0o755);
  const server = await openEmbeddedDatabase(dir, {
    settings: { fsync: "off", full_page_writes: "off", synchronous_commit: "off", shared_buffers: "512MB", max_wal_size: "4GB" },
  });
  let portal: Portal | undefined;
  try {
    await migrateDatabase(server.url);
    useConfig({ ...process.env, DATABASE_URL: server.url, MAILHARBOR_DATA_DIR: dir });
    const client = new pg.Client({ connectionString: server.url });
    client.on("error", () => undefined); // a failure surfaces from the query itself
    await client.connect();
    try {
      await seed(client);
    } finally {
      await client.end();
    }

    const db = getDb();
    const big = await db.customer.findFirstOrThrow({ where: { name: "Big Customer" } });
    const normal = await db.customer.findFirstOrThrow({ where: { name: "Customer 042" } });
    const normalDomain = await db.domain.findFirstOrThrow({ where: { customerId: normal.id } });
    const staffUser = (await createPortalUser(CLI_ACTOR, { email: "staff@bench.example", role: "staff", password: PASSWORD })).user;
    const bigUser = (await createPortalUser(CLI_ACTOR, { email: "big@bench.example", role: "customer", customer: big.id, password: PASSWORD })).user;
    await createPortalUser(CLI_ACTOR, { email: "normal@bench.example", role: "customer", customer: normal.id, password: PASSWORD });
    const staff: Actor = { type: "staff", id: staffUser.id, label: staffUser.email };
    const bigActor: Actor = { type: "customer", id: bigUser.id, label: bigUser.email, customerId: big.id };

    const first = await searchQueue(staff);
    const middle = (await db.$queryRaw<{ id: string }[]>`SELECT id FROM message ORDER BY id OFFSET ${Math.floor(HELD / 2)} LIMIT 1`)[0].id;
    const bigMiddle = (await searchQueue(bigActor, { before: middle })).olderCursor!;

    log("\ncore queries (lib/queue/search-queue.ts searchQueue: one page of 50 plus the capped count)");
    const cases: [string, Actor, QueueSearch][] = [
      ["staff: held, first page", staff, {}],
      ["staff: held, second page (keyset)", staff, { before: first.olderCursor! }],
      ["staff: held, page in the middle of 1M", staff, { before: middle }],
      ["staff: held, newer page (going back)", staff, { after: middle }],
      ["staff: filter by the big customer", staff, { customerId: big.id }],
      ["staff: filter by a small customer", staff, { customerId: normal.id }],
      ["staff: filter by a small domain", staff, { domain: normalDomain.name }],
      ["staff: sender contains 'sender4242@'", staff, { sender: "sender4242@" }],
      ["staff: search 'quarterly'", staff, { q: "quarterly" }],
      ["staff: search that matches nothing", staff, { q: "no-such-text-anywhere" }],
      ["staff: recipient 'user7@<small domain>'", staff, { recipient: `user7@${normalDomain.name}` }],
      ["staff: recipient prefix 'user17@' (25k held)", staff, { recipient: "user17@" }],
      ["staff: recipient that matches nothing", staff, { recipient: "nobody-here@" }],
      ["staff: small customer + recipient 'user3@'", staff, { customerId: normal.id, recipient: "user3@" }],
      ["staff: older than 7 days", staff, { olderThanHours: 168 }],
      ["staff: state delivering", staff, { state: "delivering" }],
      ["customer (300k held): first page", bigActor, { state: "held" }],
      ["customer (300k held): page in the middle", bigActor, { state: "held", before: bigMiddle }],
      ["customer (300k held): recipient 'user3@'", bigActor, { state: "held", recipient: "user3@" }],
      ["customer (300k held): recipient matching nothing", bigActor, { state: "held", recipient: "nobody-here@" }],
    ];
    for (const [label, actor, search] of cases) row(label, await time(() => searchQueue(actor, search)));
    log("\nbulk confirmation counts (lib/queue/queue-actions.ts countBulkQueueAction: exact) and the CSV export");
    row(
      "count 'Bounce all matching' recipient 'user17@' (25k)",
      await time(() => countBulkQueueAction(staff, { action: "bounce", filter: { recipient: "user17@" } })),
    );
    row(
      "count 'Bounce all matching' one small domain (~2.5k)",
      await time(() => countBulkQueueAction(staff, { action: "bounce", filter: { domain: normalDomain.name } })),
    );
    row("count 'Bounce all matching' customer, all 300k held", await time(() => countBulkQueueAction(bigActor, { action: "bounce", filter: {} })));
    row(
      "CSV export: first 5,000 lines (lib/queue/export-queue.ts)",
      await time(async () => {
        let n = 0;
        for await (const line of queueCsvLines(staff, {})) if (line && ++n > 5000) break;
      }),
    );
    row("staff dashboard figures (lib/stats/dashboard-stats.ts)", await time(() => getDashboardStats(staff)));
    await closeDatabase();

    log("\npages served by `next start` (time to the last byte, logged in)");
    portal = await startPortal({ databaseUrl: server.url, dataDir: dir });
    const staffCookie = await logIn(portal.url, "staff@bench.example");
    const bigCookie = await logIn(portal.url, "big@bench.example");
    const normalCookie = await logIn(portal.url, "normal@bench.example");
    const pages: [string, string, string][] = [
      ["GET /staff/queue", "/staff/queue", staffCookie],
      ["GET /staff/queue?before=<middle>", `/staff/queue?before=${middle}`, staffCookie],
      ["GET /staff/queue?customerId=<big>", `/staff/queue?customerId=${big.id}`, staffCookie],
      ["GET /staff/queue?q=quarterly", "/staff/queue?q=quarterly", staffCookie],
      ["GET /staff/queue?recipient=user17@", "/staff/queue?recipient=user17%40", staffCookie],
      ["GET /staff/queue?recipient=<one address>", `/staff/queue?recipient=${encodeURIComponent(`user7@${normalDomain.name}`)}`, staffCookie],
      ["GET /my/mail (customer with 300k held)", "/my/mail", bigCookie],
      ["GET /my/mail?recipient=user3@ (300k held)", "/my/mail?recipient=user3%40", bigCookie],
      ["GET /my/mail?before=<middle> (300k held)", `/my/mail?before=${bigMiddle}`, bigCookie],
      ["GET /my/mail (customer with ~3.5k held)", "/my/mail", normalCookie],
      ["GET /staff (dashboard)", "/staff", staffCookie],
    ];
    for (const [label, p, cookie] of pages) row(label, await time(() => page(`${portal!.url}${p}`, cookie)));
  } finally {
    await portal?.stop();
    await closeDatabase();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`bench:portal failed: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
