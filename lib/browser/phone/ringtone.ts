/**
 * A synthesised ringtone (no audio file to load): 425 Hz, 1 s on / 3 s off, or a short double
 * beep every 3 s for a waiting call. Plays through an `<audio>` element so that the ringer
 * device can be chosen with `setSinkId` where the browser has it.
 *
 * @module
 */

type SinkableAudio = HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };

/** Ringtone player; one per tab, started only in the tab the engine picks as ringer. */
export class Ringtone {
  #context?: AudioContext;
  #gain?: GainNode;
  #audio?: SinkableAudio;
  #timer?: ReturnType<typeof setInterval>;
  #playing = false;

  /** True while ringing. */
  get playing(): boolean {
    return this.#playing;
  }

  /** Starts (or restarts with new settings). `volume` 0..1. */
  async start(
    options: { volume?: number; sinkId?: string; waiting?: boolean } = {},
  ): Promise<void> {
    this.stop();
    this.#playing = true;
    const AudioContextClass = globalThis.AudioContext;
    if (!AudioContextClass) return;
    const context = this.#context ??= new AudioContextClass();
    const destination = context.createMediaStreamDestination();
    const gain = context.createGain();
    gain.gain.value = 0;
    gain.connect(destination);
    this.#gain = gain;
    const audio = document.createElement("audio") as SinkableAudio;
    audio.hidden = true;
    audio.srcObject = destination.stream;
    if (options.sinkId && typeof audio.setSinkId === "function") {
      await audio.setSinkId(options.sinkId).catch(() => {});
    }
    document.body.appendChild(audio);
    this.#audio = audio;
    audio.play().catch(() => {});
    await context.resume().catch(() => {});
    const volume = Math.max(0, Math.min(1, options.volume ?? 0.7));
    const burst = (at: number, length: number) => {
      const osc = context.createOscillator();
      osc.frequency.value = options.waiting ? 440 : 425;
      osc.connect(gain);
      gain.gain.setValueAtTime(volume, at);
      gain.gain.setValueAtTime(0, at + length);
      osc.start(at);
      osc.stop(at + length);
    };
    const cycle = () => {
      const now = context.currentTime + 0.05;
      if (options.waiting) {
        burst(now, 0.15);
        burst(now + 0.3, 0.15);
      } else {
        burst(now, 1);
      }
    };
    cycle();
    this.#timer = setInterval(cycle, options.waiting ? 3000 : 4000);
  }

  /** Stops ringing. */
  stop(): void {
    this.#playing = false;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#gain?.disconnect();
    this.#gain = undefined;
    if (this.#audio) {
      this.#audio.srcObject = null;
      this.#audio.remove();
      this.#audio = undefined;
    }
  }
}
