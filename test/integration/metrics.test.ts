// The mailer's Prometheus endpoint over real sockets against the real mailer process: off unless
// METRICS_PORT is set, 404 beside GET /metrics, and counters and gauges that move by what real
// SMTP and ODMR traffic did.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/database.ts";
import { holdMessage, makeCustomer, testMessage, type TestCustomer } from "../helpers/fixtures.ts";
import { freePort } from "../helpers/free-port.ts";
import { startMailer, type MailerProcess } from "../helpers/mailer-process.ts";
import { loggedInCustomer, OdmrCustomer } from "../helpers/odmr-customer.ts";
import { sleep } from "../helpers/sleep.ts";
import { SmtpDialog } from "../helpers/smtp-dialog.ts";
import { startSmtpReceiver } from "../helpers/smtp-receiver.ts";

useTestDatabase();

/** The samples of the text exposition format, keyed by `name{labels}` as printed. */
async function scrape(port: number): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

const sample = (samples: Map<string, number>, key: string) => samples.get(key) ?? 0;

describe("metrics endpoint", () => {
  let mailer: MailerProcess;
  let metricsPort: number;
  let customer: TestCustomer;

  beforeAll(async () => {
    customer = await makeCustomer("Metered", ["metered.example", "empty.example"]);
    metricsPort = await freePort();
    mailer = await startMailer({ METRICS_PORT: String(metricsPort), AUTH_DELAY_STEP_MS: "0", ODMR_MAX_CONNECTIONS_PER_IP: "2" });
    await mailer.waitForLog((l) => l.msg === "metrics listening");
  });

  afterAll(async () => {
    await mailer?.stop();
  });

  it("counts accepted and refused intake, held mail, an ODMR session and its ATRN decision", async () => {
    const before = await scrape(metricsPort);
    const dialog = await SmtpDialog.open(mailer.mxPort);
    expect((await dialog.command("EHLO client.example")).code).toBe(250);
    const raw = testMessage("metrics");
    const sent = await dialog.send("sender@origin.example", ["a@metered.example", "b@metered.example", "x@unknown.example"], raw);
    expect(sent.rcpt.map((r) => r.code)).toEqual([250, 250, 550]);
    expect(sent.final?.code).toBe(250);
    await dialog.command("QUIT");

    const odmr = await loggedInCustomer(mailer.odmrPort, customer.login, customer.secret);
    expect((await odmr.atrn(["empty.example"])).code).toBe(453);
    await odmr.command("QUIT");
    await odmr.closed;
    await sleep(300);

    // past the held-mail cache of the first scrape
    await sleep(5200);
    const after = await scrape(metricsPort);
    const moved = (key: string) => sample(after, key) - sample(before, key);
    expect(moved('mailharbor_intake_replies_total{command="RCPT",class="2xx"}')).toBe(2);
    expect(moved('mailharbor_intake_replies_total{command="RCPT",class="5xx"}')).toBe(1);
    expect(moved('mailharbor_intake_replies_total{command="DATA",class="2xx"}')).toBe(1);
    expect(moved('mailharbor_odmr_sessions_total{result="no-mail"}')).toBe(1);
    expect(moved('mailharbor_atrn_decision_seconds_count{decision="no-mail"}')).toBe(1);
    expect(moved('mailharbor_queue_commit_seconds_count{operation="intake"}')).toBe(1);
    expect(sample(after, 'mailharbor_held_messages{state="queued"}')).toBe(1);
    expect(sample(after, 'mailharbor_held_deliveries{state="queued"}')).toBe(2);
    expect(sample(after, 'mailharbor_held_bytes{state="queued"}')).toBeGreaterThanOrEqual(raw.length);
    expect(sample(after, 'mailharbor_connections{listener="mx"}')).toBe(0);
    expect(after.get("process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  it("counts a delivering ATRN session, its claims and results, and a refusal at the door", async () => {
    const other = await makeCustomer("Drained", ["drained.example"]);
    for (const n of [1, 2, 3]) await holdMessage([{ address: `u${n}@drained.example`, customer: other }], testMessage(`drain ${n}`));
    const before = await scrape(metricsPort);

    const odmr = await loggedInCustomer(mailer.odmrPort, other.login, other.secret);
    expect((await odmr.atrn(["drained.example"])).code).toBe(250);
    const receiver = await startSmtpReceiver({}, { listen: false });
    await odmr.serveWith(receiver);
    expect(receiver.messages).toHaveLength(3);

    // two held connections from one address, then a third is refused before it becomes a session
    const held = [
      await OdmrCustomer.connect(mailer.odmrPort, { localAddress: "127.0.0.7" }),
      await OdmrCustomer.connect(mailer.odmrPort, { localAddress: "127.0.0.7" }),
    ];
    await expect(OdmrCustomer.connect(mailer.odmrPort, { localAddress: "127.0.0.7" })).rejects.toThrow(/421/);
    for (const c of held) c.destroy();
    await sleep(300);

    const after = await scrape(metricsPort);
    const moved = (key: string) => sample(after, key) - sample(before, key);
    expect(moved('mailharbor_deliveries_total{outcome="delivered"}')).toBe(3);
    expect(moved('mailharbor_odmr_sessions_total{result="released"}')).toBe(1);
    expect(moved('mailharbor_atrn_decision_seconds_count{decision="release"}')).toBe(1);
    expect(moved("mailharbor_queue_claim_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(moved('mailharbor_queue_commit_seconds_count{operation="results"}')).toBeGreaterThanOrEqual(1);
    expect(moved('mailharbor_door_refusals_total{listener="odmr",reason="per-address"}')).toBe(1);
  });

  it("answers 404 beside GET /metrics", async () => {
    expect((await fetch(`http://127.0.0.1:${metricsPort}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: "POST" })).status).toBe(404);
  });
});

describe("metrics off by default", () => {
  it("opens no metrics listener without METRICS_PORT", async () => {
    const mailer = await startMailer();
    try {
      await mailer.waitForLog((l) => l.msg === "mailer ready");
      expect(mailer.logs.some((l) => l.msg === "metrics listening")).toBe(false);
    } finally {
      await mailer.stop();
    }
  });
});
