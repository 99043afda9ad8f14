import { describe, expect, it } from "vitest";
import { MailharborError, classifyDbError, errorCode } from "../../lib/errors.ts";

describe("database errors become stable codes", () => {
  it.each([
    [{ code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:5432" }, "DB_UNAVAILABLE"],
    [{ code: "57P01", message: "terminating connection due to administrator command" }, "DB_UNAVAILABLE"],
    [{ code: "57014", message: "canceling statement due to statement timeout" }, "DB_UNAVAILABLE"],
    [new Error("Query read timeout"), "DB_UNAVAILABLE"],
    [{ code: "P2002", message: "Unique constraint failed" }, "CONFLICT"],
    [{ code: "23505", message: "duplicate key value" }, "CONFLICT"],
    [new Error("something else entirely"), "INTERNAL"],
  ])("%j → %s", (error, code) => {
    expect(classifyDbError(error).code).toBe(code);
  });

  it("keeps a MailharborError as it is", () => {
    const error = new MailharborError("NOT_FOUND", "no such thing");
    expect(classifyDbError(error)).toBe(error);
  });
});

describe("errorCode", () => {
  it("gives a MailharborError's own code and INTERNAL for anything else", () => {
    expect(errorCode(new MailharborError("DB_UNAVAILABLE"))).toBe("DB_UNAVAILABLE");
    expect(errorCode(new Error("boom"))).toBe("INTERNAL");
    expect(errorCode({ code: "NOT_FOUND" })).toBe("INTERNAL");
    expect(errorCode(undefined)).toBe("INTERNAL");
  });
});
