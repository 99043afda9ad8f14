// What staff and customers both see of an ODMR login: its facts, its secrets, and the rotation form.
import { ActionForm } from "./action-form.tsx";
import { DomainName } from "./domain-name.tsx";
import { Field } from "./field.tsx";
import { formatTime } from "./format.ts";
import { Badge, Card, Facts, StateBadge } from "./page-header.tsx";
import { SubmitButton } from "./submit-button.tsx";
import { rotateLoginAction } from "@/app/_actions/rotate-login.ts";

interface LoginView {
  id: string;
  login: string;
  status: string;
  allDomains: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  domains: { domain: { id: string; name: string } }[];
  secrets: { id: string; createdAt: Date; expiresAt: Date | null }[];
}

// eslint-disable-next-line react-hooks/purity -- a server component renders once per request: "now" is that request's time
export function LoginFacts({ login, now = Date.now() }: { login: LoginView; now?: number }) {
  return (
    <Card title="Login">
      <Facts
        items={[
          ["Login", <code key="l">{login.login}</code>],
          ["Status", <StateBadge key="s" state={login.status} />],
          [
            "May collect",
            login.allDomains ? (
              "every domain of the customer"
            ) : login.domains.length ? (
              <ul key="dom">
                {login.domains.map((d) => (
                  <li key={d.domain.id}>
                    <DomainName name={d.domain.name} />
                  </li>
                ))}
              </ul>
            ) : (
              "no domain"
            ),
          ],
          ["Last used", login.lastUsedAt ? `${formatTime(login.lastUsedAt)} from ${login.lastUsedIp ?? "unknown address"}` : "never"],
          ["Created", formatTime(login.createdAt)],
          [
            "Secrets",
            <ul key="sec" className="space-y-1">
              {login.secrets.map((s, i) => {
                const live = !s.expiresAt || s.expiresAt.getTime() > now;
                return (
                  <li key={s.id}>
                    issued {formatTime(s.createdAt)}{" "}
                    {!live ? (
                      <Badge tone="slate">expired</Badge>
                    ) : s.expiresAt ? (
                      <Badge tone="amber">works until {formatTime(s.expiresAt)}</Badge>
                    ) : (
                      <Badge tone="green">{i === 0 ? "current" : "no expiry"}</Badge>
                    )}
                  </li>
                );
              })}
            </ul>,
          ],
        ]}
      />
    </Card>
  );
}

export function RotateLoginCard({ loginId }: { loginId: string }) {
  return (
    <Card title="Rotate the secret">
      <p className="mb-4 text-sm text-slate-600">
        A new secret is issued and shown once. The current one can keep working for a while, so the server can be updated without missing a collection.
      </p>
      <ActionForm action={rotateLoginAction} label="Rotate the secret" confirm="Issue a new secret for this login?">
        <input type="hidden" name="id" value={loginId} />
        <Field
          label="Keep the old secret working for (hours)"
          name="keepOldHours"
          type="number"
          min={0}
          max={2160}
          defaultValue={24}
          required
          hint="0 stops the old secret at once."
        />
        <SubmitButton>Issue a new secret</SubmitButton>
      </ActionForm>
    </Card>
  );
}
