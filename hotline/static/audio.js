// Audio for both pages: the microphone as PCM16 frames (protocols.md §7) and a speaker that
// plays PCM16 frames from the server with a small jitter buffer.

export const WIRE_RATE = 16000;
const LEAD_S = 0.12; // how far ahead of "now" a frame is scheduled when playback (re)starts

export function socketUrl(path) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${path}`;
}

export function newAudioContext() {
  const Context = window.AudioContext || window.webkitAudioContext;
  return new Context();
}

/** Open the microphone and call onFrame(ArrayBuffer of PCM16 LE at WIRE_RATE) every 20 ms. */
export async function openMicrophone(ctx, onFrame) {
  if (!navigator.mediaDevices || !ctx.audioWorklet) {
    throw new Error("this page needs HTTPS (or localhost) and a recent browser for the microphone");
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: {
      channelCount: 1,
      echoCancellation: false,
      noiseSuppression: false,
      autoGainControl: false,
    },
  });
  await ctx.audioWorklet.addModule("/static/pcm-worklet.js");
  const node = new AudioWorkletNode(ctx, "pcm", {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    channelCount: 1,
    processorOptions: { targetRate: WIRE_RATE, frameMs: 20 },
  });
  node.port.onmessage = (event) => onFrame(event.data);
  const source = ctx.createMediaStreamSource(stream);
  source.connect(node);
  node.connect(ctx.destination); // outputs silence; keeps the graph pulling the worklet
  if (ctx.state !== "running") await ctx.resume();
  return {
    close() {
      source.disconnect();
      node.disconnect();
      node.port.onmessage = null;
      for (const track of stream.getTracks()) track.stop();
    },
  };
}

/** Plays PCM16 LE frames in order; clear() drops whatever is scheduled (barge-in). */
export class Speaker {
  constructor(ctx, rate = WIRE_RATE) {
    this.ctx = ctx;
    this.rate = rate;
    this.next = 0;
    this.sources = new Set();
    this.gain = ctx.createGain();
    this.gain.connect(ctx.destination);
  }

  play(buffer) {
    const view = new DataView(buffer);
    const n = Math.floor(buffer.byteLength / 2);
    if (n === 0) return;
    const audio = this.ctx.createBuffer(1, n, this.rate);
    const data = audio.getChannelData(0);
    for (let i = 0; i < n; i += 1) data[i] = view.getInt16(i * 2, true) / 0x8000;
    const source = this.ctx.createBufferSource();
    source.buffer = audio;
    source.connect(this.gain);
    const now = this.ctx.currentTime;
    if (this.next < now + 0.01) this.next = now + LEAD_S;
    source.start(this.next);
    this.next += audio.duration;
    this.sources.add(source);
    source.onended = () => this.sources.delete(source);
  }

  clear() {
    for (const source of this.sources) {
      try {
        source.stop();
      } catch (_) {
        /* already stopped */
      }
    }
    this.sources.clear();
    this.next = 0;
  }

  get playing() {
    return this.sources.size > 0;
  }
}
