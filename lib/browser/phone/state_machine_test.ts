import { assert, assertEquals, assertThrows } from "../../../tests/support/assert.ts";
import { CALL_EDGES, CallState } from "./call_state.ts";
import { REGISTRATION_EDGES, RegistrationState } from "./registration_state.ts";
import { IllegalTransitionError, StateMachine } from "./state_machine.ts";

Deno.test("[phone] registration machine follows the drawn edges and refuses others", () => {
  const m = new StateMachine("registration", RegistrationState.Unregistered, REGISTRATION_EDGES);
  const seen: string[] = [];
  m.stateChange.addListener(({ from, to }) => seen.push(`${from}>${to}`));
  m.transition(RegistrationState.Registering);
  m.transition(RegistrationState.Registered);
  m.transition(RegistrationState.Registering); // WebSocket lost, re-registering
  m.transition(RegistrationState.Failed);
  m.transition(RegistrationState.Registering); // retry
  m.transition(RegistrationState.Unregistered);
  assertEquals(seen, [
    "unregistered>registering",
    "registering>registered",
    "registered>registering",
    "registering>failed",
    "failed>registering",
    "registering>unregistered",
  ]);
  let error: unknown;
  try {
    m.transition(RegistrationState.Registered);
  } catch (e) {
    error = e;
  }
  assert(error instanceof IllegalTransitionError);
  assertEquals(m.state, RegistrationState.Unregistered);
  assertEquals(m.tryTransition(RegistrationState.Failed), false);
});

Deno.test("[phone] call machine: ended is final; incoming cannot jump to connected", () => {
  const m = new StateMachine("call", CallState.Incoming, CALL_EDGES);
  assertEquals(m.can(CallState.Connected), false);
  m.transition(CallState.Connecting);
  m.transition(CallState.Connected);
  m.transition(CallState.Held);
  m.transition(CallState.Connected);
  m.transition(CallState.Ending);
  m.transition(CallState.Ended);
  for (const s of Object.values(CallState)) {
    if (s !== CallState.Ended) assertEquals(m.can(s), false, s);
  }
  const out = new StateMachine("call", CallState.Dialing, CALL_EDGES);
  assertEquals(out.can(CallState.Held), false);
  out.transition(CallState.Ringing);
  out.transition(CallState.Connected);
  assertEquals(out.state, CallState.Connected);
});

/** Drawing characters the diagram grammar has no meaning for (a vertical edge would go unread). */
const UNREADABLE = /[│▲▼┌┐└┘├┤┬┴┼]/;
const ARROW = /(◀)?─+(?:([^─◀▶]+)─+)?(▶)?/g;

/**
 * The edges drawn in the first fenced block of `source`'s first doc comment, as `from>to` with
 * the names written there (see `state_machine.ts` for the grammar).
 */
function drawnEdges(source: string): Set<string> {
  const doc = source.match(/\/\*\*([\s\S]*?)\*\//)?.[1] ?? "";
  const lines = doc.split("\n").map((l) => l.replace(/^\s*\* ?/, ""));
  const open = lines.indexOf("```");
  const close = lines.indexOf("```", open + 1);
  assert(open >= 0 && close > open, "no fenced diagram in the module comment");
  const edges = new Set<string>();
  for (const line of lines.slice(open + 1, close)) {
    assert(!UNREADABLE.test(line), `unreadable drawing: ${line}`);
    const arrows = [...line.matchAll(ARROW)];
    if (arrows.length === 0) continue;
    const groups: string[][] = [];
    let at = 0;
    for (const arrow of [...arrows, undefined]) {
      const text = line.slice(at, arrow?.index ?? line.length).replace(/^\s*\w+:\s/, "");
      const names = text.split(",").map((n) => n.trim());
      for (const n of names) assert(/^[A-Z][A-Za-z]*$/.test(n), `not a state "${n}" in: ${line}`);
      groups.push(names);
      if (arrow) at = arrow.index + arrow[0].length;
    }
    arrows.forEach((arrow, i) => {
      const [, back, , forward] = arrow;
      assert(back || forward, `an arrow without a head in: ${line}`);
      for (const a of groups[i]) {
        for (const b of groups[i + 1]) {
          if (forward) edges.add(`${a}>${b}`);
          if (back) edges.add(`${b}>${a}`);
        }
      }
    });
  }
  return edges;
}

Deno.test("[phone] diagram reader: groups, chains, both-way arrows, refusals", () => {
  const doc = (body: string) => `/**\n * \`\`\`\n${body}\n * \`\`\`\n */`;
  assertEquals(
    [...drawnEdges(doc(" *  in:  A, B ──go, now──▶ C ◀──x──▶ D ──▶ E\n *  E ◀──back── A"))].sort(),
    ["A>C", "A>E", "B>C", "C>D", "D>C", "D>E"],
  );
  assertThrows(() => drawnEdges(doc(" *  A ──▶ B\n *  │")));
  assertThrows(() => drawnEdges(doc(" *  A ──x── B")));
  assertThrows(() => drawnEdges(doc(" *  A ──▶ any live state")));
});

Deno.test("[phone] every state machine's drawn diagram and its edge table agree", async () => {
  const dir = new URL("./", import.meta.url);
  const machines: string[] = [];
  for await (const file of Deno.readDir(dir)) {
    if (!file.name.endsWith(".ts") || file.name.endsWith("_test.ts")) continue;
    const source = await Deno.readTextFile(new URL(file.name, dir));
    for (const [, table, enumName] of source.matchAll(/export const (\w+): Edges<(\w+)>/g)) {
      const module = await import(new URL(file.name, dir).href);
      const states: Record<string, string> = module[enumName];
      const edges: Record<string, readonly string[]> = module[table];
      const name = Object.fromEntries(Object.entries(states).map(([k, v]) => [v, k]));
      const tabled = new Set(
        Object.entries(edges).flatMap(([from, tos]) =>
          tos.map((to) => `${name[from]}>${name[to]}`)
        ),
      );
      const drawn = drawnEdges(source);
      const missing = [...tabled].filter((e) => !drawn.has(e));
      const extra = [...drawn].filter((e) => !tabled.has(e));
      assertEquals({ missing, extra }, { missing: [], extra: [] }, `${file.name} ${table}`);
      machines.push(table);
    }
  }
  assertEquals(machines.sort(), [
    "CALL_EDGES",
    "CONNECTION_EDGES",
    "JOURNAL_DELIVERY_EDGES",
    "REGISTRATION_EDGES",
  ]);
});
