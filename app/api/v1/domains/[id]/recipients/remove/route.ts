import { apiRoute } from "../../../../_server/api-route.ts";
import { operations } from "../../../../_server/operations.ts";
import { removeRecipients } from "@/lib/recipients/recipients.ts";

export const POST = apiRoute(operations.removeRecipients, ({ actor, id, body }) => removeRecipients(actor, id, body.addresses));
