/**
 * The protocol log: every command, answer, event, dropped message, card and frame change is
 * kept (`logEntries`, exposed to tests), sent to the emulator in batches, and shown in the
 * developer bar with tokens masked.
 *
 * @module
 */
import type { PageLogEntry } from "../registry.ts";
import { post } from "./api.ts";
import { byTestId, cfg } from "./page.ts";

/** Every entry of this page, oldest first. */
export const logEntries: PageLogEntry[] = [];

const pendingLog: PageLogEntry[] = [];
let logInFlight = false;
function flushLog(): void {
  if (logInFlight || pendingLog.length === 0) return;
  logInFlight = true;
  const batch = pendingLog.splice(0);
  post("log", batch).catch(() => {}).finally(() => {
    logInFlight = false;
    flushLog();
  });
}

function mask(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(mask);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v).map((
        [k, x],
      ) => [k, k === "AUTH_ID" || k === "REFRESH_ID" ? "***" : mask(x)]),
    );
  }
  return v;
}

/** Logs `e` (time, session and user are added). */
export function record(e: Omit<PageLogEntry, "at" | "sessionId" | "userId">): void {
  const entry = { at: Date.now(), sessionId: cfg.sessionId, userId: cfg.userId, ...e };
  logEntries.push(entry);
  pendingLog.push(entry);
  queueMicrotask(flushLog);
  const list = byTestId("protocol-log");
  if (list) {
    const li = document.createElement("li");
    li.className = `b24-log-${entry.kind}`;
    const time = new Date(entry.at).toLocaleTimeString();
    const body = entry.params === undefined ? "" : ` ${JSON.stringify(mask(entry.params))}`;
    const ans = entry.answered ? ` → ${JSON.stringify(mask(entry.answer)) ?? ""}` : "";
    const why = entry.reason ? ` (${entry.reason})` : "";
    const where = entry.placement ? ` [${entry.placement}]` : "";
    li.textContent = `${time} ${entry.kind} ${entry.name}${where}${body}${ans}${why}`;
    list.prepend(li);
    while (list.children.length > 300) list.lastElementChild?.remove();
  }
}
