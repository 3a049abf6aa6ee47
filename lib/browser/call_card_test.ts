import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import {
  CallCardBridge,
  type CardBridgeOptions,
  cardIsGone,
  isSliderCopy,
  type JournalCall,
  transferAddress,
} from "./call_card.ts";
import { CallState } from "./phone/call_state.ts";
import { RegistrationState } from "./phone/registration_state.ts";
import { EmitterImpl } from "./phone/emitter.ts";
import type { CallInfo, PhoneSnapshot } from "./phone/types.ts";
import { sleep, waitFor } from "../../tests/support/wait.ts";

/** A phone whose calls the test sets; every command is recorded. */
class FakePhone {
  state: PhoneSnapshot = {
    host: "worker",
    engineId: "e1",
    registration: { state: RegistrationState.Registered },
    connection: "connected",
    calls: [],
    devices: {},
    canPlaySound: true,
    tabsShared: true,
  };
  readonly stateChange = new EmitterImpl<PhoneSnapshot>();
  readonly commands: unknown[][] = [];
  private seq = 0;

  add(call: Partial<CallInfo>): CallInfo {
    const info: CallInfo = {
      id: `c${++this.seq}`,
      sipCallId: `sip-${this.seq}@test`,
      direction: "outbound",
      number: "1003",
      state: CallState.Dialing,
      muted: false,
      held: false,
      remoteHeld: false,
      startedAt: Date.now(),
      ...call,
    };
    this.state = { ...this.state, calls: [...this.state.calls, info] };
    this.stateChange.emit(this.state);
    return info;
  }

  set(id: string, patch: Partial<CallInfo>): void {
    this.state = {
      ...this.state,
      calls: this.state.calls.map((c) => c.id === id ? { ...c, ...patch } : c),
    };
    this.stateChange.emit(this.state);
  }

  call(number: string, options: { bitrixCallId?: string } = {}): Promise<CallInfo> {
    this.commands.push(["call", number, options.bitrixCallId]);
    return Promise.resolve(this.add({ number, bitrixCallId: options.bitrixCallId }));
  }
  answer(id: string) {
    this.commands.push(["answer", id]);
    this.set(id, { state: CallState.Connected, answeredAt: Date.now() });
    return Promise.resolve(this.state.calls.find((c) => c.id === id)!);
  }
  reject(id: string, code?: number) {
    this.commands.push(["reject", id, code]);
    this.set(id, { state: CallState.Ended, sipStatus: code });
    return Promise.resolve(this.state.calls.find((c) => c.id === id)!);
  }
  hangup(id: string) {
    this.commands.push(["hangup", id]);
    this.set(id, { state: CallState.Ended });
    return Promise.resolve(this.state.calls.find((c) => c.id === id)!);
  }
  mute(id: string, on?: boolean) {
    this.commands.push(["mute", id, on]);
    return Promise.resolve(this.state.calls.find((c) => c.id === id)!);
  }
  hold(id: string, on?: boolean) {
    this.commands.push(["hold", id, on]);
    return Promise.resolve(this.state.calls.find((c) => c.id === id)!);
  }
  dtmf(id: string, tones: string) {
    this.commands.push(["dtmf", id, tones]);
    return Promise.resolve();
  }
  transfer(id: string, target: string) {
    this.commands.push(["transfer", id, target]);
    return Promise.resolve(this.state.calls.find((c) => c.id === id)!);
  }
}

/** A card like Bitrix24's: timer commands never answer; `gone` makes it answer "undefined". */
class FakeCard {
  readonly sent: [string, Record<string, unknown> | undefined][] = [];
  gone = false;
  private readonly handlers = new Map<string, (data: unknown) => void>();

  command(name: string, params?: Record<string, unknown>): Promise<unknown> {
    this.sent.push([name, params]);
    if (/Timer$/.test(name)) return new Promise(() => {});
    return Promise.resolve(
      this.gone ? [{ result: "error", errorCode: "Call card is undefined" }] : [],
    );
  }
  on(name: string, callback: (data: unknown) => void): void {
    this.handlers.set(name, callback);
  }
  emit(name: string, data?: unknown): void {
    this.handlers.get(name)?.(data);
  }
  states(): string[] {
    return this.sent.filter(([n]) => n === "CallCardSetUiState").map(([, p]) => String(p?.uiState));
  }
}

/** One browser-wide claim table shared by the bridges of a test. */
function claims() {
  const held = new Set<string>();
  return (key: string) =>
    Promise.resolve(
      held.has(key) ? undefined : (held.add(key), () => {
        held.delete(key);
      }),
    );
}

function bridge(
  phone: FakePhone,
  card: FakeCard,
  findCall: (id: string) => Promise<JournalCall | undefined>,
  more: Partial<CardBridgeOptions> = {},
) {
  const errors: unknown[] = [];
  new CallCardBridge({
    phone,
    card,
    findCall,
    colleagueAddress: (id) => Promise.resolve(id === 12 ? "sip:1004@test.local" : undefined),
    claim: claims(),
    text: (key) => key,
    retryDelaysMs: [5, 5, 5],
    onError: (e) => errors.push(e),
    ...more,
  }).start();
  return errors;
}

const outgoing = (id: string, number = "1003") => ({
  CALL_ID: id,
  PHONE_NUMBER: number,
  CALL_DIRECTION: "outgoing",
});

Deno.test("[card] a card for the phone's own outgoing call binds to it and dials nothing", async () => {
  const phone = new FakePhone();
  const card = new FakeCard();
  const own = phone.add({ sipCallId: "own@test", state: CallState.Ringing });
  const errors = bridge(phone, card, () => Promise.resolve({ sipCallId: "own@test" }));
  card.emit("initialized", outgoing("externalCall.1"));
  await waitFor("the card shows the call", () => card.states().includes("connectingOutgoing"));
  assertEquals(phone.commands, []);
  phone.set(own.id, { state: CallState.Connected, answeredAt: Date.now() });
  await waitFor("connected", () => card.states().includes("connected"));
  card.emit("hangupButtonClick");
  await waitFor("hung up", () => phone.commands.length === 1);
  assertEquals(phone.commands, [["hangup", own.id]]);
  assertEquals(errors, []);
});

Deno.test("[card] a click-to-call is dialled once per browser, with its CALL_ID", async () => {
  const phone = new FakePhone();
  const claim = claims();
  const cards = [new FakeCard(), new FakeCard()];
  const placeholder = () => Promise.resolve({ sipCallId: "bitrix24:externalCall.2" });
  for (const card of cards) bridge(phone, card, placeholder, { claim });
  for (const card of cards) card.emit("initialized", outgoing("externalCall.2", "84951234567"));
  await waitFor("dialled", () => phone.commands.length > 0);
  await sleep(30);
  assertEquals(phone.commands, [["call", "84951234567", "externalCall.2"]]);
  // The page that did not dial follows the call by its CALL_ID.
  await waitFor("both cards follow", () => cards.every((c) => c.states().length > 0));
});

Deno.test("[card] a card that comes before ONEXTERNALCALLSTART waits for it, then dials", async () => {
  const phone = new FakePhone();
  const card = new FakeCard();
  let asked = 0;
  bridge(phone, card, () => {
    asked++;
    return Promise.resolve(asked < 3 ? undefined : { sipCallId: "bitrix24:externalCall.3" });
  });
  card.emit("initialized", outgoing("externalCall.3"));
  await waitFor("dialled", () => phone.commands.length === 1);
  assertEquals(asked, 3);
});

Deno.test("[card] an outgoing card whose event never comes is dialled after the retries", async () => {
  const phone = new FakePhone();
  const card = new FakeCard();
  bridge(phone, card, () => Promise.resolve(undefined));
  card.emit("initialized", outgoing("externalCall.4"));
  await waitFor("dialled", () => phone.commands.length === 1);
  assertEquals(phone.commands, [["call", "1003", "externalCall.4"]]);
});

Deno.test("[card] an outgoing call of another browser is not dialled again", async () => {
  const phone = new FakePhone();
  const card = new FakeCard();
  bridge(phone, card, () => Promise.resolve({ sipCallId: "elsewhere@test" }));
  card.emit("initialized", outgoing("externalCall.5"));
  await sleep(60);
  assertEquals(phone.commands, []);
});

Deno.test("[card] Busy rejects the ringing call with 486 and the card closes", async () => {
  const phone = new FakePhone();
  const card = new FakeCard();
  const ringing = phone.add({ direction: "inbound", state: CallState.Incoming });
  bridge(phone, card, () => Promise.resolve({ sipCallId: ringing.sipCallId }));
  card.emit("initialized", { CALL_ID: "externalCall.6", CALL_DIRECTION: "incoming" });
  await waitFor("incoming shown", () => card.states().includes("incoming"));
  card.emit("skipButtonClick");
  await waitFor("rejected", () => phone.commands.length === 1);
  assertEquals(phone.commands, [["reject", ringing.id, 486]]);
  await waitFor("closed", () => card.sent.some(([n]) => n === "CallCardClose"));
});

Deno.test("[card] closing the card ends the live call and stops driving the card", async () => {
  const phone = new FakePhone();
  const card = new FakeCard();
  const ringing = phone.add({ direction: "inbound", state: CallState.Incoming });
  bridge(phone, card, () => Promise.resolve({ sipCallId: ringing.sipCallId }));
  card.emit("initialized", { CALL_ID: "externalCall.7", CALL_DIRECTION: "incoming" });
  await waitFor("incoming shown", () => card.states().includes("incoming"));
  const before = card.sent.length;
  card.emit("closeButtonClick");
  await waitFor("rejected", () => phone.commands.length === 1);
  assertEquals(phone.commands, [["reject", ringing.id, 486]]);
  await sleep(30);
  assertEquals(card.sent.length, before, "no commands to a closed card");
});

Deno.test("[card] timer commands that never answer hold nothing up; a closed card is no error", async () => {
  const phone = new FakePhone();
  const card = new FakeCard();
  const own = phone.add({ sipCallId: "own@test", state: CallState.Connected, answeredAt: 1 });
  const errors = bridge(phone, card, () => Promise.resolve({ sipCallId: "own@test" }));
  card.emit("initialized", outgoing("externalCall.8"));
  await waitFor("connected", () => card.states().includes("connected"));
  assert(!card.sent.some(([n]) => n === "CallCardStartTimer"), "connected starts the timer");
  // Bitrix24's finish closed the card; the call's end then meets "Call card is undefined".
  card.gone = true;
  phone.set(own.id, { state: CallState.Ended });
  await waitFor("idle sent", () => card.states().includes("idle"));
  await sleep(30);
  assertEquals(card.sent.filter(([n]) => n === "CallCardSetStatusText").length, 1);
  assertEquals(errors, []);
});

Deno.test("[card] transfer targets in every form the card gives them", async () => {
  const colleague = (id: number) => Promise.resolve(id === 12 ? "sip:1004@test.local" : undefined);
  assertEquals(await transferAddress(12, colleague), "sip:1004@test.local");
  assertEquals(await transferAddress("12", colleague), "sip:1004@test.local");
  assertEquals(await transferAddress("1005", colleague), "1005");
  assertEquals(await transferAddress("+7 (495) 123-45-67", colleague), "+74951234567");
  assertEquals(await transferAddress("84951234567", colleague), "84951234567");
  await assertRejects(() => transferAddress(13, colleague));

  const phone = new FakePhone();
  const card = new FakeCard();
  const own = phone.add({ sipCallId: "own@test", state: CallState.Connected, answeredAt: 1 });
  bridge(phone, card, () => Promise.resolve({ sipCallId: "own@test" }));
  card.emit("initialized", outgoing("externalCall.9"));
  await waitFor("connected", () => card.states().includes("connected"));
  card.emit("transferButtonClick", { phoneNumber: "1003", target: "12" });
  await waitFor("transferred", () => phone.commands.length === 1);
  assertEquals(phone.commands, [["transfer", own.id, "sip:1004@test.local"]]);
});

Deno.test("[card] slider copies are told by PLACEMENT_OPTIONS.URI", () => {
  assert(isSliderCopy({ ID: "PAGE_BACKGROUND_WORKER", URI: "/crm/contact/details/5/?IFRAME=Y" }));
  assert(
    isSliderCopy({ URI: "/crm/deal/details/1/?IFRAME=Y&IFRAME_TYPE=SIDE_SLIDER" }),
  );
  assert(!isSliderCopy({ ID: "PAGE_BACKGROUND_WORKER", URI: "/crm/contact/list/" }));
  assert(!isSliderCopy({ IFRAME: "Y" }));
  assert(!isSliderCopy(undefined));
  assert(cardIsGone([{ result: "error", errorCode: "Call card is undefined" }]));
  assert(!cardIsGone([]));
});
