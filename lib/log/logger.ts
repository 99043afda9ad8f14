// pino JSON logs. Each session gets a child logger carrying its id, so one ATRN session
// can be followed from AUTH to QUIT; operational errors carry a stable `code` to alert on.
import pino from "pino";

export const logger = pino({
  level: process.env.LOG_LEVEL || "info",
  base: { service: process.env.MAILHARBOR_COMPONENT || "mailharbor" },
  timestamp: pino.stdTimeFunctions.isoTime,
});

export type Logger = pino.Logger;
