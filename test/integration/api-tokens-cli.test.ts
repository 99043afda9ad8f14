// API tokens from the CLI: shown once, stored only as a SHA-256, listed without the token,
// authenticated (and stamped) until revoked.
import crypto from "node:crypto";
import { describe, expect, it } from "vitest";
import { authenticateApiToken } from "../../lib/api-tokens/authenticate-api-token.ts";
import { getDb } from "../../lib/db/client.ts";
import { isMailharborError } from "../../lib/errors.ts";
import { runCli } from "../helpers/cli.ts";
import { useTestDatabase } from "../helpers/database.ts";

useTestDatabase();

async function authFails(header: string | null): Promise<boolean> {
  return authenticateApiToken(header).then(
    () => false,
    (error) => isMailharborError(error, "AUTH_FAILED"),
  );
}

describe("mailharbor token", () => {
  it("creates a token shown once and stored hashed, lists it without the token, revokes it", async () => {
    const customer = await runCli(["customer", "add", "--name", "Tok Ltd", "--json"]);
    const added = await runCli(["token", "add", "--name", "billing", "--scopes", "read,provision", "--customer", "Tok Ltd", "--json"]);
    expect(added.code).toBe(0);
    expect(added.json).toMatchObject({ name: "billing", scopes: ["read", "provision"], customerId: customer.json.id });
    const secret: string = added.json.token;
    expect(secret).toMatch(/^mh_[A-Za-z0-9]{40}$/);

    const row = await getDb().apiToken.findUniqueOrThrow({ where: { name: "billing" } });
    expect(row.tokenHash).toBe(crypto.createHash("sha256").update(secret).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(secret.slice(3));
    expect(row.createdBy).toBe("cli");
    expect(row.lastUsedAt).toBeNull();

    const listed = await runCli(["token", "list", "--json"]);
    expect(listed.code).toBe(0);
    expect(listed.json).toEqual([expect.objectContaining({ name: "billing", prefix: secret.slice(0, 11), customer: "Tok Ltd", revokedAt: null })]);
    expect(listed.stdout).not.toContain(secret);
    expect(listed.stdout).not.toContain(row.tokenHash);

    const caller = await authenticateApiToken(`Bearer ${secret}`);
    expect(caller.actor).toEqual({ type: "customer", id: row.id, label: "api:billing", customerId: customer.json.id });
    expect(caller.scopes).toEqual(["read", "provision"]);
    expect((await getDb().apiToken.findUniqueOrThrow({ where: { id: row.id } })).lastUsedAt).not.toBeNull();

    const revoked = await runCli(["token", "revoke", "--token", "billing", "--json"]);
    expect(revoked.code).toBe(0);
    expect(revoked.json.revokedAt).toBeTruthy();
    expect(await authFails(`Bearer ${secret}`)).toBe(true);

    const actions = await getDb().auditEvent.findMany({ where: { objectType: "api_token", objectId: row.id }, orderBy: { id: "asc" } });
    expect(actions.map((a) => [a.action, a.actorLabel])).toEqual([
      ["api_token.create", "cli"],
      ["api_token.revoke", "cli"],
    ]);
  });

  it("a token without a customer acts for the ISP; bad input exits non-zero with one line", async () => {
    const isp = await runCli(["token", "add", "--name", "isp-wide", "--scopes", "read", "--json"]);
    expect(isp.code).toBe(0);
    expect((await authenticateApiToken(`bearer ${isp.json.token}`)).actor).toMatchObject({ type: "staff", label: "api:isp-wide" });

    const again = await runCli(["token", "add", "--name", "isp-wide", "--scopes", "read", "--json"]);
    expect([again.code, again.json.error.code]).toEqual([4, "CONFLICT"]);
    const scope = await runCli(["token", "add", "--name", "x", "--scopes", "read,admin", "--json"]);
    expect([scope.code, scope.json.error.code]).toEqual([2, "INVALID_INPUT"]);
    expect(scope.stderr.trim().split("\n")).toHaveLength(1);
    const none = await runCli(["token", "add", "--name", "y", "--scopes", "", "--json"]);
    expect([none.code, none.json.error.code]).toEqual([2, "INVALID_INPUT"]);
    const name = await runCli(["token", "add", "--name", "-bad name", "--scopes", "read", "--json"]);
    expect([name.code, name.json.error.code]).toEqual([2, "INVALID_INPUT"]);
    const customer = await runCli(["token", "add", "--name", "z", "--scopes", "read", "--customer", "Nobody", "--json"]);
    expect([customer.code, customer.json.error.code]).toEqual([3, "NOT_FOUND"]);
    const revoke = await runCli(["token", "revoke", "--token", "nope", "--json"]);
    expect([revoke.code, revoke.json.error.code]).toEqual([3, "NOT_FOUND"]);
  });

  it("refuses a missing, foreign-scheme, malformed or unknown token alike", async () => {
    for (const header of [null, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer mh_short", `Bearer mh_${"A".repeat(40)}`, `Bearer mh_${"A".repeat(40)} extra`]) {
      expect(await authFails(header)).toBe(true);
    }
  });
});
