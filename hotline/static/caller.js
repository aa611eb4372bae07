// The caller's web page: pick a language, call, speak or type, read the operator's words,
// and leave with a reference number. It speaks the caller protocol over /call.
import { Speaker, WIRE_RATE, newAudioContext, openMicrophone, socketUrl } from "/static/audio.js";
import { t } from "/static/i18n.js";
import { CLIENT, PROTOCOL_VERSION, SERVER, SPEAKER, STATE } from "/static/wire.js";

const $ = (id) => document.getElementById(id);
const FALLBACK_LANGUAGES = [
  { code: "en", name: "English" },
  { code: "es", name: "Español" },
  { code: "ko", name: "한국어" },
  { code: "zh", name: "中文" },
  { code: "ca", name: "Català" },
];

const state = {
  language: null,
  ws: null,
  ctx: null,
  speaker: null,
  mic: null,
  connected: false,
  ended: false,
  reference: null,
  pending: null, // the operator's partial caption row
};

function setLanguage(code) {
  state.language = code;
  document.documentElement.lang = code;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(code, el.dataset.i18n);
  $("type-text").placeholder = t(code, "type_placeholder");
  $("pick").hidden = true;
  $("phone").hidden = false;
  $("change-language").hidden = false;
  const url = new URL(location.href);
  url.searchParams.set("lang", code);
  history.replaceState(null, "", url);
}

async function loadLanguages() {
  let languages = FALLBACK_LANGUAGES;
  try {
    const response = await fetch("/api/languages");
    if (response.ok) languages = (await response.json()).languages;
  } catch (_) {
    /* the built-in list will do */
  }
  const box = $("languages");
  box.replaceChildren();
  for (const { code, name } of languages) {
    const button = document.createElement("button");
    button.className = "language";
    button.dataset.lang = code;
    button.lang = code;
    button.textContent = name;
    button.addEventListener("click", () => setLanguage(code));
    box.append(button);
  }
  const wanted = new URLSearchParams(location.search).get("lang");
  if (wanted && languages.some((l) => l.code === wanted)) setLanguage(wanted);
}

function status(key, params) {
  $("status").textContent = t(state.language, key, params);
  $("status").dataset.state = key;
}

function call() {
  if (state.ws) return;
  if (!state.ctx) {
    state.ctx = newAudioContext();
    state.speaker = new Speaker(state.ctx, WIRE_RATE);
  }
  state.ctx.resume();
  state.connected = false;
  state.ended = false;
  state.pending = null;
  $("captions").replaceChildren();
  $("reference-box").hidden = true;
  $("reference-box").classList.remove("final");
  $("call").hidden = true;
  $("hangup").hidden = false;
  $("change-language").hidden = true;
  status("connecting");
  const ws = new WebSocket(socketUrl("/call"));
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  ws.onopen = () =>
    ws.send(JSON.stringify({ type: CLIENT.HELLO, protocol: PROTOCOL_VERSION, sample_rate: WIRE_RATE, language: state.language }));
  ws.onmessage = (msg) => {
    if (typeof msg.data === "string") onMessage(JSON.parse(msg.data));
    else state.speaker.play(msg.data);
  };
  ws.onclose = () => {
    if (!state.ended) status("lost");
    finish();
  };
}

function onMessage(m) {
  switch (m.type) {
    case SERVER.READY:
      state.reference = m.reference;
      showReference(false);
      status("waiting");
      break;
    case SERVER.STATUS:
      if (m.state === STATE.QUEUED) status("queued", { n: m.position });
      else if (m.state === STATE.BUSY) status("busy");
      else if (m.state === STATE.CONNECTED) onConnected();
      break;
    case SERVER.CAPTION:
      if (m.speaker === SPEAKER.OPERATOR) showCaption(m);
      break;
    case SERVER.CLEAR:
      state.speaker.clear();
      break;
    case SERVER.ENDED:
      state.ended = true;
      state.reference = m.reference || state.reference;
      if ($("status").dataset.state !== "busy") status("ended");
      showReference(true);
      break;
    case SERVER.ERROR:
      $("mic").textContent = m.message;
      break;
    default:
      break;
  }
}

async function onConnected() {
  state.connected = true;
  status("connected");
  $("type-text").disabled = false;
  $("type-send").disabled = false;
  // The microphone opens only now, so nothing is said to an empty queue.
  try {
    state.mic = await openMicrophone(state.ctx, (frame) => {
      if (state.connected && state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(frame);
    });
    if (!state.connected) closeMic();
    else $("mic").textContent = t(state.language, "mic_on");
  } catch (err) {
    console.warn("microphone:", err);
    $("mic").textContent = t(state.language, "mic_error");
  }
}

function showReference(final) {
  if (!state.reference) return;
  $("reference").textContent = state.reference;
  $("reference-box").hidden = false;
  $("reference-box").classList.toggle("final", final);
}

function addRow(who, cls) {
  const row = document.createElement("div");
  row.className = `line ${cls}`;
  const label = document.createElement("span");
  label.className = "who";
  label.textContent = t(state.language, who);
  const text = document.createElement("p");
  text.className = "text";
  row.append(label, text);
  $("captions").append(row);
  return row;
}

function showCaption(m) {
  const row = state.pending || addRow("operator", "operator");
  row.querySelector(".text").textContent = m.text || m.original || "";
  if (m.final) {
    state.pending = null;
    row.classList.remove("partial");
    row.classList.add("final");
  } else {
    state.pending = row;
    row.classList.add("partial");
  }
  $("captions").scrollTop = $("captions").scrollHeight;
}

function typed(event) {
  event.preventDefault();
  const text = $("type-text").value.trim();
  if (!text || !state.connected) return;
  state.ws.send(JSON.stringify({ type: CLIENT.TEXT, text }));
  const row = addRow("you", "caller final");
  row.querySelector(".text").textContent = text;
  $("type-text").value = "";
}

function hangUp() {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ type: CLIENT.HANGUP }));
  else finish();
}

function closeMic() {
  if (state.mic) state.mic.close();
  state.mic = null;
  $("mic").textContent = "";
}

function finish() {
  state.connected = false;
  state.ws = null;
  closeMic();
  if (state.speaker) state.speaker.clear();
  $("type-text").disabled = true;
  $("type-send").disabled = true;
  $("hangup").hidden = true;
  $("call").hidden = false;
  $("call").textContent = t(state.language, state.reference ? "call_again" : "call");
  $("change-language").hidden = false;
}

function init() {
  $("call").addEventListener("click", call);
  $("hangup").addEventListener("click", hangUp);
  $("type-form").addEventListener("submit", typed);
  $("change-language").addEventListener("click", () => {
    $("phone").hidden = true;
    $("pick").hidden = false;
    $("change-language").hidden = true;
  });
  loadLanguages();
}

init();
