import { assertEquals } from "../../tests/support/assert.ts";
import { connectionNotice } from "./connection_notice.ts";
import type { CallInfo, PhoneSnapshot } from "./phone/types.ts";
import { RegistrationState } from "./phone/registration_state.ts";
import { CallState } from "./phone/call_state.ts";

type Snap = Pick<PhoneSnapshot, "registration" | "connection" | "calls">;
const snap = (
  state: RegistrationState,
  connection: PhoneSnapshot["connection"],
  extra: Partial<Snap> = {},
): Snap => ({ registration: { state }, connection, calls: [], ...extra });
const live = { state: CallState.Connected } as CallInfo;

Deno.test("[connection_notice] all well, or still starting: no notice", () => {
  assertEquals(connectionNotice(snap(RegistrationState.Registered, "connected"), true), null);
  assertEquals(connectionNotice(snap(RegistrationState.Registering, "connecting"), false), null);
  assertEquals(connectionNotice(snap(RegistrationState.Unregistered, "disconnected"), true), null);
});

Deno.test("[connection_notice] a lost connection says it reconnects and the call goes on", () => {
  assertEquals(connectionNotice(snap(RegistrationState.Registering, "connecting"), true), {
    text: "connLost",
    tone: "warn",
    retry: false,
  });
  assertEquals(
    connectionNotice(snap(RegistrationState.Registering, "disconnected", { calls: [live] }), true)
      ?.text,
    "connLostInCall",
  );
  const down = snap(RegistrationState.Failed, "disconnected", {
    registration: { state: RegistrationState.Failed, error: { code: "unreachable", message: "" } },
    calls: [live],
  });
  assertEquals(connectionNotice(down, true), { text: "connLostInCall", tone: "warn", retry: true });
  assertEquals(connectionNotice(down, false)?.text, "connUnreachable");
});

Deno.test("[connection_notice] a refused password asks the admin, with Retry", () => {
  const bad = snap(RegistrationState.Failed, "connected", {
    registration: {
      state: RegistrationState.Failed,
      error: { code: "bad-credentials", message: "401", sipStatus: 401 },
    },
  });
  assertEquals(connectionNotice(bad, false), {
    text: "connBadCredentials",
    tone: "error",
    retry: true,
  });
  assertEquals(connectionNotice(bad, true, true)?.text, "connBadCredentialsOwn");
});
