// A hosted domain as people read it: an internationalized name in Unicode, with the A-label
// (RFC 5890) beside it, which is what DNS, SMTP and the logs use, and which shows a look-alike
// name for what it is.
import { unicodeDomainName } from "@/lib/validation/domain-name.ts";

export function DomainName({ name }: { name: string }) {
  const unicode = unicodeDomainName(name);
  if (unicode === name) return <>{name}</>;
  return (
    <>
      {unicode}{" "}
      <span className="font-mono text-xs font-normal text-slate-500" title="A-label: the name as DNS and SMTP spell it">
        ({name})
      </span>
    </>
  );
}
