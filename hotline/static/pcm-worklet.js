// Microphone → PCM16 LE frames at a fixed rate (16 kHz by default), inside the audio thread.
// The AudioContext runs at the device's default rate (Firefox cannot connect a microphone
// to a context at another rate), so this processor downsamples: each output sample is the
// mean of the input samples it covers (a box filter, enough against aliasing for speech
// recognition). Frames of `frameMs` go to the main thread as transferable ArrayBuffers.
class PcmProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.outRate = opts.targetRate || 16000;
    this.step = sampleRate / this.outRate; // input samples per output sample
    this.frameSamples = Math.round((this.outRate * (opts.frameMs || 20)) / 1000);
    this.frame = new DataView(new ArrayBuffer(this.frameSamples * 2));
    this.filled = 0;
    this.sum = 0;
    this.count = 0;
    this.pos = 0;
    this.last = 0;
  }

  emit(value) {
    const s = Math.max(-1, Math.min(1, value));
    this.frame.setInt16(this.filled * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    this.filled += 1;
    if (this.filled === this.frameSamples) {
      const buffer = this.frame.buffer;
      this.port.postMessage(buffer, [buffer]);
      this.frame = new DataView(new ArrayBuffer(this.frameSamples * 2));
      this.filled = 0;
    }
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i += 1) {
      this.sum += channel[i];
      this.count += 1;
      this.pos += 1;
      while (this.pos >= this.step) {
        if (this.count > 0) {
          this.last = this.sum / this.count;
          this.sum = 0;
          this.count = 0;
        }
        this.emit(this.last);
        this.pos -= this.step;
      }
    }
    return true;
  }
}

registerProcessor("pcm", PcmProcessor);
