// pino JSON logs. Each session gets a child logger carrying its id, so one ATRN session
// can be followed from AUTH to QUIT; operational errors carry a stable `code` to alert on.
import pino from "pino";
import { logSettings } from "../config/config.ts";

const settings = logSettings();

export const logger = pino({
  level: settings.LOG_LEVEL,
  base: { service: settings.MAILHARBOR_COMPONENT },
  timestamp: pino.stdTimeFunctions.isoTime,
});

export type Logger = pino.Logger;
