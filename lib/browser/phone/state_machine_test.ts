import { assert, assertEquals } from "../../../tests/support/assert.ts";
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

Deno.test("[phone] every state has an edge list and every edge targets a state", () => {
  for (const edges of [CALL_EDGES, REGISTRATION_EDGES] as Record<string, readonly string[]>[]) {
    const states = new Set(Object.keys(edges));
    for (const [from, tos] of Object.entries(edges)) {
      for (const to of tos) assert(states.has(to), `${from} -> ${to}`);
    }
  }
});
