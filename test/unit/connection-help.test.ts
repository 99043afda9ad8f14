// The bounded session transcript and the ready configurations of "How to connect".
import { describe, expect, it } from "vitest";
import { eximAtrnConfig } from "../../lib/logins/exim-atrn-config.ts";
import { fetchmailRc, SECRET_PLACEHOLDER } from "../../lib/logins/fetchmail-rc.ts";
import { messageLine, readTranscript, Transcript, TRANSCRIPT_MAX_BYTES, TRANSCRIPT_MAX_EVENTS } from "../../lib/sessions/session-transcript.ts";

describe("session transcript", () => {
  it("keeps at most 20 events before AUTH succeeds, then counts the rest, and always records the end", () => {
    const t = new Transcript();
    t.add("connect", "connected from 192.0.2.1");
    for (let i = 0; i < 500; i++) t.add("auth", `AUTH CRAM-MD5 as "acme": 535 Authentication credentials invalid (wrong secret) #${i}`);
    t.add("end", "authentication failed");
    const events = t.toJSON();
    expect(events).toHaveLength(22);
    expect(events.at(-2)).toMatchObject({ step: "note", text: "481 more events not recorded (the transcript is bounded)" });
    expect(events.at(-1)).toMatchObject({ step: "end", text: "authentication failed" });
  });

  it("bounds an authenticated session by events and bytes, each line by length", () => {
    const t = new Transcript();
    t.markAuthenticated();
    for (let i = 0; i < 5000; i++) t.add("message", `message ${i}: ${"x".repeat(2000)}`);
    t.add("end", "completed; 5000 messages delivered");
    const events = t.toJSON();
    expect(events.length).toBeLessThanOrEqual(TRANSCRIPT_MAX_EVENTS);
    expect(JSON.stringify(events).length).toBeLessThanOrEqual(TRANSCRIPT_MAX_BYTES);
    expect(Math.max(...events.map((e) => e.text.length))).toBeLessThanOrEqual(512);
    expect(events.at(-1)).toMatchObject({ step: "end" });
    expect(events.at(-2)?.text).toMatch(/^\d+ more events not recorded/);
    // what the page reads back; anything malformed is dropped
    expect(readTranscript([...events, { at: "x", step: "auth", text: 1 }, "junk"])).toEqual(events);
    expect(readTranscript(null)).toEqual([]);
  });

  it("writes one line per message, grouping recipients with the same reply", () => {
    expect(
      messageLine("0A1B", "s@origin.example", [
        { recipient: "a@x.example", outcome: "delivered", reply: "250 2.0.0 Ok" },
        { recipient: "b@x.example", outcome: "delivered", reply: "250 2.0.0 Ok" },
        { recipient: "c@x.example", outcome: "bounced", reply: "550 5.1.1 unknown" },
      ]),
    ).toBe(
      "message 0A1B from <s@origin.example>: a@x.example, b@x.example → 250 2.0.0 Ok (delivered); c@x.example → 550 5.1.1 unknown (bounced to the sender)",
    );
  });
});

describe("ready configuration", () => {
  const base = { host: "mx.isp.example", login: "acme", domains: ["a.example", "b.example"] };

  it("fetchmail: a marked placeholder without the secret, ssl with the fingerprint of a self-signed certificate, nothing without a domain", () => {
    const plain = fetchmailRc({ ...base, port: 366 })!;
    expect(plain).toContain(`poll mx.isp.example with protocol ODMR service 366 auth cram-md5\n`);
    expect(plain).toContain(
      `# replace ${SECRET_PLACEHOLDER} below with the login's secret\n  user "acme" there with password "${SECRET_PLACEHOLDER}"\n  fetchdomains a.example,b.example\n`,
    );
    expect(plain).not.toContain("ssl");
    const selfSigned = fetchmailRc({ ...base, port: 1366, ssl: { md5Fingerprint: "AB:CD" } })!;
    expect(selfSigned).toContain('  ssl\n  sslfingerprint "AB:CD"\n  no sslcertck\n');
    expect(fetchmailRc({ ...base, port: 1366, ssl: { md5Fingerprint: null } })).toContain("  ssl\n  sslcertck\n");
    expect(fetchmailRc({ ...base, port: 366, secret: "s3cret" })).not.toContain(SECRET_PLACEHOLDER);
    expect(fetchmailRc({ ...base, domains: [], port: 366 })).toBeNull();
  });

  it("exim: the router limited to _atrn, one exim -atrn per domain and the -odq alternative, each with its reason", () => {
    const exim = eximAtrnConfig({ ...base, port: 366, tlsPort: 1366 })!;
    expect(exim.config).toMatch(/condition = \$\{if eq \{\$atrn_mode\}\{C\}\}\n {2}local_parts = _atrn\n/);
    expect(exim.config).toContain('client_name = "acme"');
    expect(exim.config).toContain(`client_secret = "${SECRET_PLACEHOLDER}"`);
    expect(exim.config).toContain("port = 366");
    expect(exim.config).toContain("command_timeout = 10m");
    expect(exim.commands).toContain("exim -atrn mx.isp.example a.example\nexim -atrn mx.isp.example b.example\n");
    expect(exim.commands).toContain("# exim -odq -atrn mx.isp.example a.example,b.example && exim -q");
    expect(exim.commands).toMatch(/silently drops/);
    expect(eximAtrnConfig({ ...base, domains: [], port: 366, tlsPort: 1366 })).toBeNull();
  });
});
