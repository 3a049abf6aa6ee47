import { assertEquals } from "../../../tests/support/assert.ts";
import {
  DEFER_CANDIDATES_MAX_MS,
  DEFER_CANDIDATES_MIN_MS,
  type MediaChannel,
  ProxySessionDescriptionHandler,
  remapExtmap,
  sdpAudioDirection,
  sdpExtmap,
  sdpSetup,
  splitSdpCandidates,
} from "./proxy_sdh.ts";
import { FakeClock } from "./fake_clock.ts";
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

Deno.test("[phone] a rebind can prepare the fresh connection's answer", async () => {
  const { channel, calls } = fakeChannel();
  const clock = new FakeClock();
  const sdh = new ProxySessionDescriptionHandler(channel, clock);
  const fresh = () => {
    const { deferCandidatesMs, iceControlling } = calls.at(-1)!.args;
    return { deferCandidatesMs, iceControlling };
  };
  await sdh.setDescription(OFFER);
  assertEquals(fresh(), { deferCandidatesMs: undefined, iceControlling: undefined });
  sdh.rebind({ iceControlling: true, deferRemoteCandidates: true });
  await sdh.setDescription(OFFER); // the offer came at once: the shortest hold
  assertEquals(fresh(), { deferCandidatesMs: DEFER_CANDIDATES_MIN_MS, iceControlling: true });
  await sdh.setDescription(OFFER); // only the first remote description after the rebind
  assertEquals(fresh(), { deferCandidatesMs: undefined, iceControlling: undefined });
  sdh.rebind({ deferRemoteCandidates: true });
  clock.tick(DEFER_CANDIDATES_MAX_MS + 20);
  await sdh.setDescription(OFFER); // a slow offer: the longest hold
  assertEquals(fresh(), { deferCandidatesMs: DEFER_CANDIDATES_MAX_MS, iceControlling: undefined });
  sdh.rebind();
  await sdh.setDescription(OFFER);
  assertEquals(fresh(), { deferCandidatesMs: undefined, iceControlling: undefined });
});

Deno.test("[phone] splitSdpCandidates", () => {
  const sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n" +
    "m=audio 50000 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\na=mid:0\r\n" +
    "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0\r\n" +
    "a=candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active\r\n" +
    "a=end-of-candidates\r\na=setup:actpass\r\n" +
    "m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n" +
    "a=candidate:3 1 udp 2122260223 127.0.0.1 50002 typ host\r\n";
  const { sdp: stripped, candidates } = splitSdpCandidates(sdp);
  assertEquals(
    stripped,
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n" +
      "m=audio 50000 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\na=mid:0\r\n" +
      "a=setup:actpass\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n",
  );
  assertEquals(candidates, [
    {
      candidate: "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0",
      sdpMid: "0",
      sdpMLineIndex: 0,
    },
    {
      candidate: "candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active",
      sdpMid: "0",
      sdpMLineIndex: 0,
    },
    {
      candidate: "candidate:3 1 udp 2122260223 127.0.0.1 50002 typ host",
      sdpMid: "1",
      sdpMLineIndex: 1,
    },
  ]);
  // A lite agent never checks first: its SDP stays whole.
  const lite = sdp.replace("t=0 0\r\n", "t=0 0\r\na=ice-lite\r\n");
  assertEquals(splitSdpCandidates(lite), { sdp: lite, candidates: [] });
  // No candidates, LF line ends.
  assertEquals(splitSdpCandidates("v=0\nm=audio 9 RTP/AVP 0\na=mid:0\n").candidates, []);
});

// Header extensions as Chromium 150 and Firefox 153 ESR offer them for audio.
const CHROMIUM_EXTMAP = "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n" +
  "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n" +
  "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n" +
  "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n";
const FIREFOX_EXTMAP = "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n" +
  "a=extmap:2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level\r\n" +
  "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\r\n" +
  "a=extmap:7 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n";

Deno.test("[phone] remapExtmap keeps the dialog's header extension ids", () => {
  const known = sdpExtmap(OFFER + CHROMIUM_EXTMAP);
  assertEquals(known["urn:ietf:params:rtp-hdrext:sdes:mid"], 4);
  const remapped = remapExtmap(OFFER + FIREFOX_EXTMAP, known);
  assertEquals(
    remapped,
    OFFER + "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n" +
      // Unknown to the dialog: the lowest id no known extension uses.
      "a=extmap:5/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level\r\n" +
      "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n" +
      "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n",
  );
  assertEquals(remapExtmap(OFFER + CHROMIUM_EXTMAP, known), OFFER + CHROMIUM_EXTMAP);
  assertEquals(remapExtmap(OFFER, known), OFFER);
});

Deno.test("[phone] a fresh connection's offer is told the dialog's extension ids", async () => {
  const { channel, calls } = fakeChannel();
  const sdh = new ProxySessionDescriptionHandler(channel);
  await sdh.setDescription(OFFER + CHROMIUM_EXTMAP);
  await sdh.getDescription();
  assertEquals(calls.at(-1)!.args.extmap, undefined); // the same connection keeps its own
  sdh.rebind();
  await sdh.getDescription();
  assertEquals(calls.at(-1)!.args.extmap, sdpExtmap(CHROMIUM_EXTMAP));
  await sdh.getDescription();
  assertEquals(calls.at(-1)!.args.extmap, undefined);
});
