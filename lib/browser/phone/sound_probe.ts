/**
 * Whether this page may play sound. A portal frame whose `allow` grants no `autoplay` refuses
 * `play()` until the user touches the frame itself (measured in Chromium: NotAllowedError even
 * after a click on the portal page), and a hidden background worker frame is never touched, so
 * its ringtone and the far party would be silent. An `AudioContext`'s state does not tell (it is
 * `suspended` either way); playing a few milliseconds of silence does.
 *
 * @module
 */

/** 10 ms of 8 kHz, 8-bit mono silence as a WAV file. */
function silentWav(): Blob {
  const samples = 80;
  const bytes = new Uint8Array(44 + samples).fill(128, 44);
  const view = new DataView(bytes.buffer);
  const text = (at: number, s: string) => [...s].forEach((c, i) => bytes[at + i] = c.charCodeAt(0));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples, true);
  text(8, "WAVEfmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, 8000, true);
  view.setUint32(28, 8000, true);
  view.setUint16(32, 1, true);
  view.setUint16(34, 8, true);
  text(36, "data");
  view.setUint32(40, samples, true);
  return new Blob([bytes], { type: "audio/wav" });
}

/**
 * Plays silence (a `blob:` URL, which the app's CSP allows for media); false only when the
 * browser refuses sound here (NotAllowedError).
 */
export async function soundAllowed(): Promise<boolean> {
  if (typeof Audio === "undefined" || typeof URL.createObjectURL !== "function") return true;
  const url = URL.createObjectURL(silentWav());
  const audio = new Audio(url);
  try {
    await audio.play();
    audio.pause();
    return true;
  } catch (error) {
    return (error as DOMException | undefined)?.name !== "NotAllowedError";
  } finally {
    URL.revokeObjectURL(url);
  }
}
