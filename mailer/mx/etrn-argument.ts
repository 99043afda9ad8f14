// The argument of ETRN (RFC 1985 §3, §5): `ETRN [option-character]<node>`. A node is a domain
// name; "@" (§5.1) asks for the domain and every domain below it; "#" (§5.2) names a queue,
// which this host has none of (every queue here is a domain's). Exactly one argument: Postfix
// answers anything else with 500, and a node that is not a domain name with 501.
import type { EtrnNode } from "../../lib/release/decide-etrn.ts";
import { normalizeDomainName } from "../../lib/validation/domain-name.ts";
import { ETRN_REPLIES, type EtrnReply } from "../etrn/etrn-replies.ts";

export type EtrnArgument =
  /** `name`: the node as the replies name it */
  { ok: true; kind: "node"; node: EtrnNode; name: string } | { ok: true; kind: "queue"; name: string } | { ok: false; reply: EtrnReply };

const QUEUE_NAME = /^#[\x21-\x7e]{1,64}$/;

export function parseEtrnArgument(argument: string): EtrnArgument {
  const words = argument
    .trim()
    .split(/[ \t]+/)
    .filter(Boolean);
  if (words.length !== 1) return { ok: false, reply: ETRN_REPLIES.syntax };
  const [word] = words;
  if (word.startsWith("#")) return QUEUE_NAME.test(word) ? { ok: true, kind: "queue", name: word } : { ok: false, reply: ETRN_REPLIES.badNode };
  const subdomains = word.startsWith("@");
  const domain = normalizeDomainName(subdomains ? word.slice(1) : word);
  if (!domain) return { ok: false, reply: ETRN_REPLIES.badNode };
  return { ok: true, kind: "node", node: { domain, subdomains }, name: `${subdomains ? "@" : ""}${domain}` };
}
