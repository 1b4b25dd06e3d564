// Push-to-talk recording for the operator console: microphone -> Float32 samples ->
// 16 kHz mono -> 16-bit PCM WAV (a Blob ready to POST to /api/speech).
//
// This file is loaded twice: as an ES module by console.js, and as the AudioWorklet module
// (audioWorklet.addModule on this same URL) so that no inline script or blob: URL is needed
// under a strict Content-Security-Policy. The worklet branch below runs only where
// registerProcessor exists (the AudioWorkletGlobalScope).

export const TARGET_RATE = 16000;
const PROCESSOR = "robot-llm-capture";
const BATCH = 4096; // samples per message from the worklet
const TAIL_MS = 150; // keep recording this long after the button is released
const MAX_SECONDS = 20; // a stuck button stops recording by itself

if (typeof registerProcessor === "function") {
  // The worklet: mix the input to mono and post it to the page in batches.
  class CaptureProcessor extends AudioWorkletProcessor {
    constructor() {
      super();
      this.buffer = new Float32Array(BATCH);
      this.filled = 0;
      this.port.onmessage = () => {
        this.send();
        this.port.postMessage("flushed");
      };
    }

    send() {
      if (this.filled > 0) {
        const chunk = this.buffer.slice(0, this.filled);
        this.port.postMessage(chunk, [chunk.buffer]);
        this.filled = 0;
      }
    }

    process(inputs) {
      const channels = inputs[0];
      if (!channels || channels.length === 0) return true;
      const n = channels[0].length;
      for (let i = 0; i < n; i++) {
        let sum = 0;
        for (const ch of channels) sum += ch[i];
        this.buffer[this.filled++] = sum / channels.length;
        if (this.filled === BATCH) this.send();
      }
      return true;
    }
  }
  registerProcessor(PROCESSOR, CaptureProcessor);
}

/** Why push-to-talk cannot work here (one line), or "" when it may. */
export function microphoneProblem() {
  if (typeof window === "undefined") return "no window";
  if (!window.isSecureContext) {
    return "the microphone needs https or a localhost address (this page is " + location.origin + ")";
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return "this browser gives the page no microphone access";
  }
  if (!window.AudioContext) return "this browser has no Web Audio";
  return "";
}

/** Resolves false when the browser lists no audio input at all. */
export async function hasMicrophone() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return true;
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    return devices.some((d) => d.kind === "audioinput");
  } catch {
    return true; // cannot tell: let getUserMedia decide
  }
}

/** A one-line reason for a getUserMedia / AudioContext failure. */
export function describeMicError(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError") {
    return "microphone blocked: allow it for this site in the browser, then try again";
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") return "no microphone found";
  if (name === "NotReadableError") return "the microphone is busy or unavailable";
  return "microphone error: " + ((err && err.message) || String(err));
}

/** Concatenate Float32Array chunks. */
function concat(chunks) {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Float32Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Hamming-windowed sinc low-pass taps; cutoff as a fraction of the sample rate (< 0.5). */
function lowpassTaps(cutoff, count = 63) {
  const taps = new Float32Array(count);
  const mid = (count - 1) / 2;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    taps[i] = sinc * (0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (count - 1)));
    sum += taps[i];
  }
  for (let i = 0; i < count; i++) taps[i] /= sum;
  return taps;
}

/** Resample `input` from `fromRate` to `toRate` (anti-aliased when going down). */
export function resample(input, fromRate, toRate = TARGET_RATE) {
  if (fromRate === toRate || input.length === 0) return input;
  const ratio = fromRate / toRate;
  const taps = ratio > 1 ? lowpassTaps((0.45 * toRate) / fromRate) : null;
  const half = taps ? (taps.length - 1) / 2 : 0;
  const last = input.length - 1;
  const at = (i) => {
    if (!taps) return input[Math.min(Math.max(i, 0), last)];
    let acc = 0;
    for (let k = 0; k < taps.length; k++) {
      const j = i + k - half;
      if (j >= 0 && j <= last) acc += taps[k] * input[j];
    }
    return acc;
  };
  const out = new Float32Array(Math.floor(input.length / ratio));
  for (let n = 0; n < out.length; n++) {
    const pos = n * ratio;
    const i = Math.floor(pos);
    const frac = pos - i;
    out[n] = frac === 0 ? at(i) : at(i) * (1 - frac) + at(i + 1) * frac;
  }
  return out;
}

/** 16-bit PCM mono WAV bytes for `samples` (floats in -1..1) at `rate`. */
export function encodeWav(samples, rate = TARGET_RATE) {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const text = (offset, s) => {
    for (let i = 0; i < s.length; i++) view.setUint8(offset + i, s.charCodeAt(i));
  };
  text(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + i * 2, s < 0 ? s * 32768 : s * 32767, true);
  }
  return buffer;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One push-to-talk recording. Call start() from the pointerdown handler (the AudioContext is
 * created there, inside the user gesture), stop() on release: it resolves
 * {wav: Blob, seconds: number}. cancel() drops everything.
 */
export class Recorder {
  constructor() {
    this.chunks = [];
    this.context = null;
    this.stream = null;
    this.source = null;
    this.node = null;
    this.cancelled = false;
    this.limit = null;
    this.onlimit = null; // called when MAX_SECONDS is reached
  }

  /** Resolves true once samples flow, false when cancel() came first; throws on mic errors. */
  async start() {
    try {
      this.context = new AudioContext();
      const resumed = this.context.resume();
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      this.stream = stream;
      await resumed;
      if (this.cancelled) return this.abandon();
      this.source = this.context.createMediaStreamSource(stream);
      this.node = await this.captureNode();
      if (this.cancelled) return this.abandon();
      this.source.connect(this.node);
      this.node.connect(this.context.destination); // outputs silence; keeps the node pulled
      this.limit = setTimeout(() => this.onlimit && this.onlimit(), MAX_SECONDS * 1000);
      return true;
    } catch (err) {
      this.release();
      if (this.cancelled) return false;
      throw err;
    }
  }

  abandon() {
    this.release();
    return false;
  }

  /** An AudioWorkletNode where the browser has AudioWorklet, else a ScriptProcessorNode. */
  async captureNode() {
    if (this.context.audioWorklet && typeof AudioWorkletNode === "function") {
      try {
        await this.context.audioWorklet.addModule(import.meta.url);
        const node = new AudioWorkletNode(this.context, PROCESSOR, {
          numberOfInputs: 1,
          numberOfOutputs: 1,
          outputChannelCount: [1],
        });
        node.port.onmessage = (e) => {
          if (e.data instanceof Float32Array) this.chunks.push(e.data);
          else if (e.data === "flushed" && this.flushed) this.flushed();
        };
        return node;
      } catch {
        // fall through to the ScriptProcessorNode
      }
    }
    const node = this.context.createScriptProcessor(4096, 1, 1);
    node.onaudioprocess = (e) => this.chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
    return node;
  }

  /** Ask the worklet for its partial batch; resolves when it has arrived (or after 300 ms). */
  flush() {
    if (!this.node || !this.node.port) return Promise.resolve();
    return new Promise((resolve) => {
      this.flushed = resolve;
      this.node.port.postMessage("flush");
      setTimeout(resolve, 300);
    });
  }

  async stop() {
    await sleep(TAIL_MS);
    await this.flush();
    const rate = this.context ? this.context.sampleRate : TARGET_RATE;
    this.release();
    const samples = resample(concat(this.chunks), rate, TARGET_RATE);
    this.chunks = [];
    return {
      wav: new Blob([encodeWav(samples, TARGET_RATE)], { type: "audio/wav" }),
      seconds: samples.length / TARGET_RATE,
    };
  }

  cancel() {
    this.cancelled = true;
    this.chunks = [];
    this.release();
  }

  release() {
    clearTimeout(this.limit);
    if (this.source) this.source.disconnect();
    if (this.node) {
      this.node.disconnect();
      if (this.node.port) this.node.port.onmessage = null;
      else this.node.onaudioprocess = null;
    }
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    if (this.context && this.context.state !== "closed") this.context.close().catch(() => {});
    this.source = this.node = this.stream = this.context = null;
  }
}
