// "How to connect": what a customer's server needs to collect its mail (lib/logins/connection-guide.ts),
// the same for staff and for the customer; staff also see what in the configuration shapes it.
import { Card, Facts } from "./page-header.tsx";
import { CopyButton } from "./secret-reveal.tsx";
import type { ConnectionGuide } from "@/lib/logins/connection-guide.ts";
import { NO_DOMAIN_YET } from "@/lib/logins/connection-guide.ts";

function Snippet({ title, text, testId, children }: { title: string; text: string; testId: string; children?: React.ReactNode }) {
  return (
    <div className="space-y-2">
      <div className="flex items-center justify-between gap-2">
        <h3 className="text-sm font-semibold">{title}</h3>
        <CopyButton text={text} label="Copy" />
      </div>
      {children}
      <pre className="overflow-x-auto rounded bg-slate-900 p-3 font-mono text-xs text-slate-100" data-testid={testId}>
        {text}
      </pre>
    </div>
  );
}

export function ConnectionGuidePanel({ guide, staff }: { guide: ConnectionGuide; staff: boolean }) {
  return (
    <Card title="How to connect" className="lg:col-span-2">
      <div className="space-y-5" data-testid="connection-guide">
        <Facts
          items={[
            ["Host", <code key="h">{guide.host}</code>],
            [
              "ODMR port",
              <span key="p">
                <code>{guide.odmrPort}</code>: plain, STARTTLS offered; AUTH {guide.mechanisms.plain.join(", ")} (and{" "}
                {guide.mechanisms.tls.filter((m) => !guide.mechanisms.plain.includes(m)).join(", ")} after STARTTLS)
              </span>,
            ],
            [
              "TLS port",
              <span key="t">
                <code>{guide.odmrsPort}</code>: TLS from the first byte; AUTH {guide.mechanisms.tls.join(", ")}
              </span>,
            ],
            ["Login", <code key="l">{guide.login}</code>],
            ["Domains", guide.domains.length ? guide.domains.join(", ") : "none yet"],
            ...(guide.certificate || staff
              ? [
                  [
                    "Certificate",
                    guide.certificate ? (
                      guide.certificate.selfSigned ? (
                        <span key="c">
                          self-signed, MD5 fingerprint <code className="break-all">{guide.certificate.md5Fingerprint}</code>
                        </span>
                      ) : (
                        "signed by a certificate authority"
                      )
                    ) : (
                      "not readable by the portal (TLS_CERT_FILE, or the data directory's tls/cert.pem, is on another machine)"
                    ),
                  ] as [string, React.ReactNode],
                ]
              : []),
          ]}
        />
        {staff && !guide.hostConfigured ? (
          <p className="rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900">
            PUBLIC_HOSTNAME is not set, so the host shown is this server&apos;s MAIL_HOSTNAME. Set it to the name customers dial and your MX records point to.
          </p>
        ) : null}
        {guide.domains.length === 0 ? (
          <p className="rounded-md border border-slate-300 bg-slate-50 p-3 text-sm" data-testid="no-domain-yet">
            {NO_DOMAIN_YET}
          </p>
        ) : (
          <>
            <Snippet title="MX records to publish" text={guide.mxRecords.join("\n")} testId="mx-records">
              <p className="text-sm text-slate-600">
                In each domain&apos;s DNS zone, so that mail for it comes to us and is held until your server collects it.
              </p>
            </Snippet>
            <p className="text-sm text-slate-600">
              The snippets never contain the secret: put it where <code>&lt;your secret&gt;</code> stands. It was shown once when the login was created or
              rotated; issue a new one below if it is lost.
            </p>
            {guide.fetchmail ? (
              <>
                <Snippet title="fetchmail (CRAM-MD5, plain)" text={guide.fetchmail.plain} testId="fetchmail-plain" />
                <Snippet title="fetchmail with TLS (ssl)" text={guide.fetchmail.ssl} testId="fetchmail-ssl" />
              </>
            ) : null}
            {guide.exim ? (
              <>
                <Snippet title="Exim 4.99 (exim -atrn): configuration" text={guide.exim.config} testId="exim-config" />
                <Snippet title="Exim 4.99: collecting" text={guide.exim.commands} testId="exim-commands" />
              </>
            ) : null}
          </>
        )}
      </div>
    </Card>
  );
}
