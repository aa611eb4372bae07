// The caller's web page: pick a language, call, speak or type, read the operator's words,
// confirm the request read back (1 yes, 2 no), rate the call, and leave with a reference
// number. It speaks the caller protocol over /call.
import { Speaker, WIRE_RATE, newAudioContext, openMicrophone, socketUrl } from "/static/audio.js";
import { direction, t } from "/static/i18n.js";
import { CLIENT, PROTOCOL_VERSION, SERVER, SPEAKER, STATE } from "/static/wire.js";

const $ = (id) => document.getElementById(id);
const FALLBACK_LANGUAGES = [
  { code: "en", name: "English" },
  { code: "es", name: "Español" },
  { code: "ko", name: "한국어" },
  { code: "zh", name: "中文" },
  { code: "ca", name: "Català" },
  { code: "fr", name: "Français" },
  { code: "ja", name: "日本語" },
  { code: "ru", name: "Русский" },
  { code: "de", name: "Deutsch" },
  { code: "ar", name: "العربية" },
];

const READBACK_ANSWERS = { yes: "readback_confirmed", no: "readback_corrected", none: "readback_unanswered" };

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
  readbackWaiting: false,
  survey: null, // {scale, answered} while the survey is on the screen
};

function setLanguage(code) {
  state.language = code;
  // The whole page mirrors for a right-to-left language (the CSS uses logical properties).
  document.documentElement.lang = code;
  document.documentElement.dir = direction(code);
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
    button.dir = direction(code);
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
  hideReadBack();
  hideSurvey();
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
    case SERVER.READ_BACK:
      showReadBack(m);
      break;
    case SERVER.SURVEY:
      showSurvey(m);
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
  text.dir = "auto"; // what is said may be in another script than the page
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

// --- the read-back and the survey -----------------------------------------------------

function sendMessage(message) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
}

function hideReadBack() {
  state.readbackWaiting = false;
  $("readback").hidden = true;
  $("readback-text").textContent = "";
  $("readback-answer").textContent = "";
}

/** The request as the hotline reads it back: 1 or 2 to answer, then what was understood. */
function showReadBack(m) {
  $("readback-text").textContent = m.text || "";
  const waiting = m.answer === undefined || m.answer === null;
  state.readbackWaiting = waiting;
  $("readback-keys").hidden = !waiting;
  for (const button of $("readback-keys").querySelectorAll("button")) button.disabled = !waiting;
  $("readback-answer").textContent = waiting ? "" : t(state.language, READBACK_ANSWERS[m.answer] || "readback_unanswered");
  $("readback").hidden = false;
}

function answerReadBack(digit) {
  if (!state.readbackWaiting) return;
  sendMessage({ type: CLIENT.DTMF, digit });
  for (const button of $("readback-keys").querySelectorAll("button")) button.disabled = true;
}

function hideSurvey() {
  state.survey = null;
  $("survey").hidden = true;
  $("survey-scale").replaceChildren();
  $("survey-thanks").textContent = "";
}

/** After the operator hangs up: how satisfied was the caller, 1 to ``scale``. */
function showSurvey(m) {
  const scale = Number.isInteger(m.scale) && m.scale > 1 ? m.scale : 5;
  state.survey = { scale, answered: false };
  $("survey-text").textContent = m.text || "";
  $("survey-thanks").textContent = "";
  const box = $("survey-scale");
  box.replaceChildren();
  for (let n = 1; n <= scale; n += 1) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "survey-score";
    button.dataset.score = String(n);
    button.textContent = String(n);
    button.setAttribute("aria-label", t(state.language, "survey_score", { n, scale }));
    button.addEventListener("click", () => answerSurvey(n));
    box.append(button);
  }
  box.hidden = false;
  $("survey").hidden = false;
  status("survey_status");
  // The operator is gone: nothing typed now would reach anyone.
  $("type-text").disabled = true;
  $("type-send").disabled = true;
}

function answerSurvey(score) {
  if (!state.survey || state.survey.answered) return;
  state.survey.answered = true;
  sendMessage({ type: CLIENT.SURVEY, score });
  $("survey-scale").hidden = true;
  $("survey-thanks").textContent = t(state.language, "survey_thanks");
}

function onKeyDown(event) {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const target = event.target;
  if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
  const key = /^(?:Digit|Numpad)(\d)$/.exec(event.code);
  if (!key) return;
  const digit = Number(key[1]);
  if (state.readbackWaiting && (digit === 1 || digit === 2)) {
    event.preventDefault();
    answerReadBack(String(digit));
  } else if (state.survey && !state.survey.answered && digit >= 1 && digit <= state.survey.scale) {
    event.preventDefault();
    answerSurvey(digit);
  }
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
  if (state.readbackWaiting) hideReadBack();
  if (state.survey && !state.survey.answered) hideSurvey();
  $("hangup").hidden = true;
  $("call").hidden = false;
  $("call").textContent = t(state.language, state.reference ? "call_again" : "call");
  $("change-language").hidden = false;
}

function init() {
  $("call").addEventListener("click", call);
  $("hangup").addEventListener("click", hangUp);
  $("type-form").addEventListener("submit", typed);
  $("readback-yes").addEventListener("click", () => answerReadBack("1"));
  $("readback-no").addEventListener("click", () => answerReadBack("2"));
  document.addEventListener("keydown", onKeyDown);
  $("change-language").addEventListener("click", () => {
    $("phone").hidden = true;
    $("pick").hidden = false;
    $("change-language").hidden = true;
  });
  loadLanguages();
}

init();
