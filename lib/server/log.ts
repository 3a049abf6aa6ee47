/**
 * Structured logging: one JSON line per event on stdout, secrets redacted by key name and by
 * value shape before anything is written.
 *
 * @module
 */

/** Log levels in increasing severity. */
export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Keys whose values never reach the log (compared case-insensitively, `-` and `_` ignored). */
const SECRET_KEYS = new Set(
  [
    "auth",
    "auth_id",
    "authid",
    "refresh_id",
    "access_token",
    "refresh_token",
    "application_token",
    "client_secret",
    "clientsecret",
    "secretid",
    "secret_id",
    "role_id",
    "token",
    "client_token",
    "x-vault-token",
    "authorization",
    "cookie",
    "set-cookie",
    "password",
    "sip_password",
    "ciphertext",
    "key",
    "master_key",
  ].map(normalizeKey),
);

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, "");
}

/** Values shaped like tokens are masked wherever they appear inside strings. */
const SECRET_VALUE_PATTERNS: RegExp[] = [
  /\bhv[sbr]\.[A-Za-z0-9_-]{10,}/g, // Vault tokens
  /((?:auth|access_token|refresh_token|AUTH_ID|REFRESH_ID|password)=)[^&\s"]+/gi, // in URLs/forms
  /(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi,
];

/** What every value pattern above needs: strings without it are returned as they are. */
const SECRET_VALUE_HINT = /hv[sbr]\.|=|bearer/i;

const REDACTED = "[redacted]";

/** Returns a deep copy of `value` with secret keys and token-shaped strings masked. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return "[deep]";
  if (typeof value === "string") {
    if (!SECRET_VALUE_HINT.test(value)) return value;
    let s = value;
    for (const re of SECRET_VALUE_PATTERNS) {
      // Without a capture group the second argument is the match's offset, not a prefix.
      s = s.replace(
        re,
        (_m, prefix: unknown) => (typeof prefix === "string" ? prefix : "") + REDACTED,
      );
    }
    return s;
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) {
    // Query errors carry the query's parameters (hashes, ciphertexts): keep only the query text.
    const message = value.message.replace(/\nparams:[\s\S]*$/, "");
    const code = (value as { code?: unknown }).code;
    return {
      name: value.name,
      message: redact(message, depth + 1),
      ...(typeof code === "string" ? { code } : {}),
      ...(value.cause ? { cause: redact(value.cause, depth + 1) } : {}),
    };
  }
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEYS.has(normalizeKey(k)) ? REDACTED : redact(v, depth + 1);
    }
    return out;
  }
  return value;
}

/**
 * Keys that name the line itself (its time, level and message, also under the names log tools
 * read); a context field with one of these names is written as `ctx_<name>`, so it cannot
 * replace them.
 */
const RESERVED_KEYS = new Set(["time", "level", "event", "msg", "message"]);

/** Where log lines go; tests replace it to capture output. */
export type LogSink = (line: string) => void;

/** Level and sink shared by a logger and all its children. */
interface LogOutput {
  level: LogLevel;
  sink: LogSink;
}

/** A structured logger; children add fields and share the parent's level and sink. */
export class Logger {
  private constructor(
    private readonly output: LogOutput,
    private readonly base: Record<string, unknown>,
  ) {}

  /** A root logger writing lines at or above `level` to `sink` (stdout by default). */
  static create(level: LogLevel = "info", sink: LogSink = (line) => console.log(line)): Logger {
    return new Logger({ level, sink }, {});
  }

  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger {
    return new Logger(this.output, { ...this.base, ...fields });
  }

  /** Changes the minimum level (config is parsed after the first logger exists). */
  setLevel(level: LogLevel): void {
    this.output.level = level;
  }

  /** Replaces the sink; returns the previous one so tests can restore it. */
  setSink(sink: LogSink): LogSink {
    const previous = this.output.sink;
    this.output.sink = sink;
    return previous;
  }

  debug(event: string, fields?: Record<string, unknown>): void {
    this.write("debug", event, fields);
  }
  info(event: string, fields?: Record<string, unknown>): void {
    this.write("info", event, fields);
  }
  warn(event: string, fields?: Record<string, unknown>): void {
    this.write("warn", event, fields);
  }
  error(event: string, fields?: Record<string, unknown>): void {
    this.write("error", event, fields);
  }

  private write(level: LogLevel, event: string, fields?: Record<string, unknown>): void {
    if (LEVELS[level] < LEVELS[this.output.level]) return;
    const line: Record<string, unknown> = { time: new Date().toISOString(), level, event };
    for (const [key, value] of Object.entries({ ...this.base, ...fields })) {
      line[RESERVED_KEYS.has(key) ? `ctx_${key}` : key] = value;
    }
    this.output.sink(JSON.stringify(redact(line)));
  }
}

/** The process-wide logger. */
export const log: Logger = Logger.create();
