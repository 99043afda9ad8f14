// ETRN on the MX (RFC 1985): the client's argument, then the shared decision
// (lib/release/decide-etrn.ts) with what the client proved: its address, and the ODMR login it
// authenticated as, if any. The run itself goes on after the reply (mailer/etrn).
import type { SMTPServerSession } from "smtp-server";
import { parseEtrnArgument } from "./etrn-argument.ts";
import { mxState } from "./mx-session.ts";
import type { AuthenticatedLogin } from "../../lib/logins/verify-odmr-login.ts";
import { decideEtrn } from "../../lib/release/decide-etrn.ts";
import { ETRN_REPLIES, type EtrnReply } from "../etrn/etrn-replies.ts";
import type { EtrnRunner } from "../etrn/etrn-runner.ts";

export async function answerEtrn(argument: string, session: SMTPServerSession, runner: EtrnRunner): Promise<EtrnReply> {
  const parsed = parseEtrnArgument(argument);
  if (!parsed.ok) return parsed.reply;
  if (parsed.kind === "queue") return ETRN_REPLIES.notAllowed(parsed.name, "queue names are not supported");
  const state = mxState(session);
  const login = (session.user as AuthenticatedLogin | undefined) ?? null;
  try {
    return await runner.answer(parsed.name, () => decideEtrn({ address: state.slot, login }, parsed.node), {
      remoteAddress: state.slot,
      login,
      customerId: login?.customerId ?? null,
      recordRefusal: login !== null,
      // ETRN_RATE_PER_MINUTE: per login, or per address for a listed network without AUTH
      rateKey: login ? `login:${login.loginId}` : `address:${state.slot}`,
      log: state.log,
    });
  } catch (error) {
    state.log.error({ code: "INTERNAL", err: error }, "ETRN failed");
    return ETRN_REPLIES.unable(parsed.name);
  }
}
