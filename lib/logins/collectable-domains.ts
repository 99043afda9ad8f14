// Which domains an authenticated ODMR login may release with ATRN (RFC 2645 §5: the provider
// must check that the login is authorised for every domain it asks for) or, after AUTH on the
// MX, with ETRN (RFC 1985). A login with allDomains collects all of its customer's domains,
// otherwise only its LoginDomain rows; either way only domains of an active customer, through an
// active login, that have the asked-for release (ATRN or ETRN) enabled.
import { dbWork, getDb } from "../db/client.ts";
import type { AuthenticatedLogin } from "./verify-odmr-login.ts";

export interface CollectableDomain {
  id: string;
  name: string;
}

export async function listCollectableDomains(login: AuthenticatedLogin, via: "atrn" | "etrn" = "atrn"): Promise<CollectableDomain[]> {
  return dbWork(async () => {
    const row = await getDb().odmrLogin.findUnique({
      where: { id: login.loginId },
      select: { customerId: true, status: true, allDomains: true, customer: { select: { status: true } } },
    });
    if (!row || row.status !== "active" || row.customer.status !== "active" || row.customerId !== login.customerId) return [];
    return getDb().domain.findMany({
      where: {
        customerId: row.customerId,
        ...(via === "atrn" ? { atrnEnabled: true } : { etrnEnabled: true }),
        ...(row.allDomains ? {} : { logins: { some: { loginId: login.loginId } } }),
      },
      select: { id: true, name: true },
      orderBy: { name: "asc" },
    });
  });
}
