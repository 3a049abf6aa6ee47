import { assertEquals } from "../../tests/support/assert.ts";
import {
  type MediaChannel,
  ProxySessionDescriptionHandler,
  sdpAudioDirection,
  sdpSetup,
} from "./proxy_sdh.ts";
import { jsonSafe } from "./protocol.ts";

const OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
  "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:actpass\r\na=sendonly\r\n";
const ANSWER = OFFER.replace("actpass", "active").replace("sendonly", "recvonly");

function fakeChannel() {
  const calls: { op: string; sdhId: string; args: Record<string, unknown> }[] = [];
  const channel: MediaChannel = {
    request(op, sdhId, args) {
      calls.push({ op, sdhId, args });
      if (op === "getDescription") {
        return Promise.resolve({ body: ANSWER, contentType: "application/sdp" });
      }
      return Promise.resolve(true);
    },
    notify(op, sdhId, args) {
      calls.push({ op, sdhId, args });
    },
  };
  return { channel, calls };
}

Deno.test("[phone] proxy SDH forwards SDP work and tracks the DTLS role", async () => {
  const { channel, calls } = fakeChannel();
  const sdh = new ProxySessionDescriptionHandler(channel);
  assertEquals(sdh.hasDescription("application/sdp"), true);
  assertEquals(sdh.hasDescription("text/plain"), false);
  await sdh.setDescription(OFFER, { hold: false } as never);
  const d = await sdh.getDescription({ constraints: { audio: true } } as never);
  assertEquals(d, { body: ANSWER, contentType: "application/sdp" });
  assertEquals(sdh.dtlsClient, true); // our answer says active
  assertEquals(calls.map((c) => c.op), ["setDescription", "getDescription"]);
  const first = sdh.sdhId;
  sdh.rebind();
  assertEquals(sdh.dtlsClient, undefined);
  assertEquals(first === sdh.sdhId, false);
  assertEquals(sdh.sendDtmf("1"), true);
  sdh.close();
  sdh.close();
  assertEquals(calls.filter((c) => c.op === "close").length, 1);
  assertEquals(sdh.sendDtmf("1"), false);
});

Deno.test("[phone] SDP helpers and jsonSafe", () => {
  assertEquals(sdpAudioDirection(OFFER), "sendonly");
  assertEquals(sdpAudioDirection("v=0\r\nm=audio 9 RTP/AVP 0\r\n"), "sendrecv");
  assertEquals(sdpSetup(OFFER), "actpass");
  assertEquals(sdpSetup(ANSWER), "active");
  assertEquals(jsonSafe({ a: 1, f: () => 1, n: { g: () => 2, b: true } }), {
    a: 1,
    n: { b: true },
  });
});
