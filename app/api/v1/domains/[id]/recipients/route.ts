import { apiRoute } from "../../../_server/api-route.ts";
import { operations } from "../../../_server/operations.ts";
import { addRecipients, listRecipients } from "@/lib/recipients/recipients.ts";

export const GET = apiRoute(operations.listRecipients, async ({ actor, id }) => ({ items: await listRecipients(actor, id) }));

export const POST = apiRoute(operations.addRecipients, ({ actor, id, body }) => addRecipients(actor, id, body.addresses));
