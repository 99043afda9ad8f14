export { freePort } from "../../lib/system/free-port.ts";
