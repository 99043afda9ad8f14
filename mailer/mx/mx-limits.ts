// Limits of the MX listener that are protocol rules or safety margins rather than settings.
// (Connection counts and the idle timeout are settings: MX_MAX_CONNECTIONS, MX_MAX_CONNECTIONS_PER_IP,
// MX_IDLE_TIMEOUT.)

/** RFC 5321 §4.5.3.1.8: at least 100 recipients must be accepted; more get 452 4.5.3. */
export const MAX_RECIPIENTS = 100;

/** RFC 5321 §6.3 lets a server count Received fields to detect loops; Postfix's hopcount_limit is 50, we stop at 30. */
export const MAX_RECEIVED_HEADERS = 30;

/** RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets, CRLF included. */
export const MAX_TEXT_LINE = 1000;

/** After this many 5yz replies in a session the client is told 421 and disconnected (Postfix: smtpd_hard_error_limit). */
export const MAX_ERRORS = 20;

/**
 * Messages are held in memory from DATA until they are committed. All messages in transit together
 * may use this much (counted with their copies, see memory-budget.ts); past it a message is
 * deferred with 452 4.3.1, so a flood of large messages cannot exhaust the process. One client
 * address gets a share of it (MX_MEMORY_PER_IP_MB).
 */
export const MEMORY_BUDGET = 256 * 1024 * 1024;

/**
 * The largest message the MX takes, whatever a domain allows: a message is stored in one statement,
 * and with its two copies it must fit in the memory budget with room to spare (64 MB takes half).
 */
export const MESSAGE_SIZE_CAP = 64 * 1024 * 1024;

/** Advertised with SIZE when no domain is hosted yet (the domain default). */
export const DEFAULT_MESSAGE_SIZE = 25 * 1024 * 1024;
