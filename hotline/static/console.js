// The operator console: sign-in, queue, one call at a time, captions, replies, the record.
// It speaks the operator protocol of docs/protocol.md over /operator.
import { Speaker, WIRE_RATE, newAudioContext, openMicrophone, socketUrl } from "/static/audio.js";
import { CLIENT, ERROR, PROTOCOL_VERSION, RECORD_FIELDS, SERVER, SPEAKER } from "/static/wire.js";

const $ = (id) => document.getElementById(id);
const LANGUAGE_NAMES = {
  en: "English", es: "Español", ca: "Català", ko: "한국어", zh: "中文", fr: "Français",
};
const QUICK_REPLY_LABELS = {
  registered: "Registered (ref. no.)",
  address: "Ask for the address",
  repeat: "Please repeat",
  wait: "One moment",
};
const TRAILING_SILENCE_S = 0.6; // sent when push-to-talk is released, so the utterance ends

const state = {
  ws: null,
  ready: false,
  call: null, // {call_id, reference, caller_language, operator_language}
  queue: [], // [{call_id, language, waiting_s, at}]
  ctx: null,
  speaker: null,
  mic: null,
  micOpening: null,
  talking: false,
  muted: false,
  pending: {}, // speaker -> partial caption row
  dirty: new Set(), // record fields the operator typed
  recordUnsaved: false,
  saveTimer: null,
};

function send(message) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
}

function setConnection(text, kind = "") {
  const pill = $("connection");
  pill.textContent = text;
  pill.className = `pill ${kind}`;
}

// --- sign-in --------------------------------------------------------------------------

function showSignInError(text) {
  const box = $("signin-error");
  box.textContent = text;
  box.hidden = !text;
}

const TOKEN_KEY = "hotline.operator.token";

function signIn(event) {
  event.preventDefault();
  showSignInError("");
  const name = $("signin-name").value.trim();
  const password = $("signin-password").value;
  const languages = $("signin-languages").value.split(/[\s,]+/).filter(Boolean);
  connect({ name, password, languages });
}

// The password crosses the wire once; the session token (kept for this tab) signs in again.
function connect({ name, password, languages, token }) {
  if (!state.ctx) {
    state.ctx = newAudioContext();
    state.speaker = new Speaker(state.ctx, WIRE_RATE);
  }
  state.ctx.resume();
  $("signin-button").disabled = true;
  setConnection("Signing in…");
  const ws = new WebSocket(socketUrl("/operator"));
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  ws.onopen = () => {
    const hello = {
      type: CLIENT.HELLO, protocol: PROTOCOL_VERSION, sample_rate: WIRE_RATE,
      auto_accept: false, hear_original: true,
    };
    if (token) hello.token = token;
    else Object.assign(hello, { name, password });
    if (languages && languages.length) hello.languages = languages;
    ws.send(JSON.stringify(hello));
  };
  ws.onmessage = (msg) => {
    if (typeof msg.data === "string") onMessage(JSON.parse(msg.data));
    else if (state.call) state.speaker.play(msg.data);
  };
  ws.onclose = (event) => {
    $("signin-button").disabled = false;
    const wasReady = state.ready;
    state.ready = false;
    state.ws = null;
    endCall(null);
    if (!wasReady) {
      if ($("signin-error").hidden) {
        showSignInError(`Could not sign in (connection closed${event.reason ? ": " + event.reason : ""}).`);
      }
      $("signin").hidden = false;
      $("desk").hidden = true;
      setConnection("Signed out", "bad");
    } else {
      setConnection("Disconnected — sign in again", "bad");
      $("signin").hidden = false;
      $("desk").hidden = true;
      $("who").hidden = true;
    }
  };
}

// --- server messages ------------------------------------------------------------------

function onMessage(m) {
  switch (m.type) {
    case SERVER.READY:
      state.ready = true;
      $("signin").hidden = true;
      $("desk").hidden = false;
      $("who").hidden = false;
      $("operator-name").textContent = m.display_name || m.operator;
      $("operator-languages").textContent = (m.languages || []).map(languageName).join(", ");
      $("signin-password").value = "";
      if (m.token) sessionStorage.setItem(TOKEN_KEY, m.token);
      setConnection("Signed in", "ok");
      break;
    case SERVER.ERROR:
      if (m.code === ERROR.BAD_CREDENTIALS) sessionStorage.removeItem(TOKEN_KEY);
      if (!state.ready) {
        showSignInError(
          m.code === ERROR.BAD_CREDENTIALS ? "Wrong name or password." : `Sign-in refused: ${m.message}`,
        );
      } else {
        flash(`Server: ${m.message}`);
      }
      break;
    case SERVER.QUEUE:
      state.queue = (m.calls || []).map((c) => ({ ...c, at: performance.now() }));
      renderQueue();
      break;
    case SERVER.CONNECTED:
      startCall(m);
      break;
    case SERVER.CAPTION:
      showCaption(m);
      break;
    case SERVER.REPLY_SENT:
      showCaption({ ...m, speaker: SPEAKER.OPERATOR });
      $("reply-text").value = "";
      $("reply-translation").value = "";
      $("reply-note").textContent = "";
      updateReplyButtons();
      break;
    case SERVER.PREVIEW:
      if (m.text === $("reply-text").value.trim()) {
        $("reply-translation").value = m.translation;
        $("reply-note").textContent = m.translated ? "" : m.note || "not translated";
        updateReplyButtons();
        $("reply-translation").focus();
      }
      break;
    case SERVER.SAY:
      markSpoken(m.utterance_id);
      break;
    case SERVER.CLEAR:
      state.speaker.clear();
      break;
    case SERVER.RECORD_SUGGESTION:
      prefill(m.fields || {});
      break;
    case SERVER.RECORD_SAVED:
      state.recordUnsaved = false;
      $("record-status").textContent = `Saved at ${new Date().toLocaleTimeString()}.`;
      break;
    case SERVER.ENDED:
      endCall(m);
      break;
    default:
      break;
  }
}

function languageName(code) {
  return LANGUAGE_NAMES[code] ? `${LANGUAGE_NAMES[code]} (${code})` : code;
}

function flash(text) {
  $("call-status").textContent = text;
}

// --- queue ----------------------------------------------------------------------------

function renderQueue() {
  const list = $("queue");
  list.replaceChildren();
  const now = performance.now();
  for (const c of state.queue) {
    const li = document.createElement("li");
    li.dataset.callId = c.call_id;
    const waited = Math.round(c.waiting_s + (now - c.at) / 1000);
    const label = document.createElement("span");
    label.className = "queue-label";
    label.innerHTML = `<strong></strong> <span class="wait"></span>`;
    label.querySelector("strong").textContent = languageName(c.language);
    label.querySelector(".wait").textContent = `waiting ${formatWait(waited)}`;
    const button = document.createElement("button");
    button.className = "accept primary";
    button.textContent = "Accept";
    button.disabled = state.call !== null;
    button.addEventListener("click", () => accept(c.call_id));
    li.append(label, button);
    list.append(li);
  }
  $("queue-count").textContent = String(state.queue.length);
  $("queue-empty").hidden = state.queue.length > 0;
}

function tickQueue() {
  const now = performance.now();
  const rows = $("queue").querySelectorAll("li .wait");
  state.queue.forEach((c, i) => {
    if (rows[i]) rows[i].textContent = `waiting ${formatWait(Math.round(c.waiting_s + (now - c.at) / 1000))}`;
  });
}

function formatWait(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m ? `${m} min ${s} s` : `${s} s`;
}

function accept(callId) {
  if (state.call || !callId) return;
  send({ type: CLIENT.ACCEPT, call_id: callId });
  flash("Accepting…");
}

// --- the call -------------------------------------------------------------------------

function startCall(m) {
  state.call = m;
  state.pending = {};
  state.muted = false;
  $("captions").replaceChildren();
  resetRecordForm();
  $("call-info").hidden = false;
  $("call-reference").textContent = m.reference;
  $("call-language").textContent =
    `${languageName(m.caller_language)} → you: ${languageName(m.operator_language)}`;
  flash(m.caller_asr ? "In call." : "In call — the caller's speech cannot be recognized; captions come from typed text.");
  for (const id of ["ptt", "mute", "hangup", "reply-text", "record-save"]) $(id).disabled = false;
  $("mute").setAttribute("aria-pressed", "false");
  $("mute").firstChild.textContent = "Mute ";
  const quick = $("quick-replies");
  quick.replaceChildren();
  (m.quick_replies || []).forEach((id, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.reply = id;
    button.innerHTML = `<span></span> <kbd>${i < 4 ? `Alt+${i + 1}` : ""}</kbd>`;
    button.firstChild.textContent = QUICK_REPLY_LABELS[id] || id;
    button.addEventListener("click", () => quickReply(id));
    quick.append(button);
  });
  renderQueue();
  document.body.classList.add("in-call");
}

function endCall(m) {
  if (state.call && m) {
    flash(`Call ${m.reference} ended. The record is kept under that reference.`);
  }
  state.call = null;
  stopTalking(false);
  state.speaker && state.speaker.clear();
  for (const id of ["ptt", "mute", "hangup", "reply-text", "reply-translation", "preview-button", "send-button", "record-save"]) {
    $(id).disabled = true;
  }
  $("quick-replies").replaceChildren();
  clearTimeout(state.saveTimer);
  if (m && state.recordUnsaved) {
    $("record-status").textContent = "The call ended before the last changes were saved.";
  }
  document.body.classList.remove("in-call");
  renderQueue();
}

function hangUp() {
  if (!state.call) return;
  saveRecord(); // the server takes record fields only while the call is on
  send({ type: CLIENT.HANGUP });
}

function toggleMute() {
  if (!state.call) return;
  state.muted = !state.muted;
  send({ type: CLIENT.SETTINGS, muted: state.muted });
  $("mute").setAttribute("aria-pressed", String(state.muted));
  $("mute").firstChild.textContent = state.muted ? "Unmute " : "Mute ";
  $("mic-status").textContent = state.muted ? "Microphone muted." : "";
  if (state.muted) stopTalking(false);
}

// --- captions -------------------------------------------------------------------------

function captionRow(speaker) {
  const row = document.createElement("div");
  row.className = `utterance ${speaker}`;
  row.dataset.speaker = speaker;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = speaker === SPEAKER.CALLER ? "Caller" : "You";
  const original = document.createElement("p");
  original.className = "original";
  const translation = document.createElement("p");
  translation.className = "translation";
  row.append(who, original, translation);
  return row;
}

function showCaption(m) {
  const box = $("captions");
  const speaker = m.speaker || SPEAKER.CALLER;
  let row = state.pending[speaker];
  if (!row) {
    row = captionRow(speaker);
    box.append(row);
  }
  row.querySelector(".original").textContent = m.original || "";
  if (m.text !== undefined) row.querySelector(".translation").textContent = m.text;
  if (m.final) {
    delete state.pending[speaker];
    row.classList.remove("partial");
    row.classList.add("final");
    if (m.utterance_id !== undefined) row.dataset.utteranceId = String(m.utterance_id);
    if (m.translated === false) {
      row.classList.add("untranslated");
      row.querySelector(".translation").textContent = `${m.text || ""}${m.note ? ` (${m.note})` : ""}`;
    }
  } else {
    state.pending[speaker] = row;
    row.classList.add("partial");
  }
  box.scrollTop = box.scrollHeight;
}

function markSpoken(utteranceId) {
  if (utteranceId === undefined) return;
  const row = document.querySelector(`.utterance[data-utterance-id="${CSS.escape(String(utteranceId))}"]`);
  if (row) row.classList.add("spoken");
}

// --- replies --------------------------------------------------------------------------

function updateReplyButtons() {
  const inCall = state.call !== null;
  const text = $("reply-text").value.trim();
  const translation = $("reply-translation").value.trim();
  $("preview-button").disabled = !inCall || !text;
  $("reply-translation").disabled = !inCall || !translation;
  $("send-button").disabled = !inCall || !text || !translation;
}

function preview() {
  const text = $("reply-text").value.trim();
  if (!state.call || !text) return;
  $("reply-note").textContent = "Translating…";
  send({ type: CLIENT.PREVIEW, text });
}

function sendReply(event) {
  if (event) event.preventDefault();
  const text = $("reply-text").value.trim();
  const translation = $("reply-translation").value.trim();
  if (!state.call || !text || !translation) return;
  send({ type: CLIENT.REPLY, text, translation });
  $("send-button").disabled = true;
}

function discardPreview() {
  $("reply-translation").value = "";
  $("reply-note").textContent = "";
  updateReplyButtons();
  $("reply-text").focus();
}

function quickReply(id) {
  if (!state.call || !id) return;
  send({ type: CLIENT.QUICK_REPLY, id, params: {} });
}

// --- the complaint record -------------------------------------------------------------

function recordField(name) {
  return $(`record-${name}`);
}

function resetRecordForm() {
  for (const name of RECORD_FIELDS) {
    recordField(name).value = "";
    recordField(name).classList.remove("suggested");
  }
  state.dirty.clear();
  state.recordUnsaved = false;
  $("record-status").textContent = "";
}

function recordFields() {
  const fields = {};
  for (const name of RECORD_FIELDS) {
    const value = recordField(name).value.trim();
    if (value) fields[name] = value;
  }
  return fields;
}

function saveRecord(event) {
  if (event) event.preventDefault();
  clearTimeout(state.saveTimer);
  const fields = recordFields();
  if (!state.call || Object.keys(fields).length === 0) return;
  send({ type: CLIENT.RECORD, fields });
  $("record-status").textContent = "Saving…";
}

function recordEdited(event) {
  const name = event.target.name;
  if (!RECORD_FIELDS.includes(name)) return;
  state.dirty.add(name);
  event.target.classList.remove("suggested");
  state.recordUnsaved = true;
  clearTimeout(state.saveTimer);
  state.saveTimer = setTimeout(saveRecord, 1500);
}

/** Fill empty fields from what the system heard; never overwrite what the operator typed. */
function prefill(fields) {
  let filled = false;
  for (const [name, value] of Object.entries(fields)) {
    const input = recordField(name);
    if (!input || !value || state.dirty.has(name) || input.value.trim()) continue;
    if (input.tagName === "SELECT" && ![...input.options].some((o) => o.value === value)) continue;
    input.value = value;
    input.classList.add("suggested");
    filled = true;
  }
  if (filled) {
    state.recordUnsaved = true;
    $("record-status").textContent = "Suggested from the call — check before saving.";
  }
}

// --- push-to-talk ---------------------------------------------------------------------

async function ensureMicrophone() {
  if (state.mic) return state.mic;
  if (!state.micOpening) {
    state.micOpening = openMicrophone(state.ctx, (frame) => {
      if (state.talking && !state.muted && state.call) {
        state.ws && state.ws.readyState === WebSocket.OPEN && state.ws.send(frame);
      }
    })
      .then((mic) => (state.mic = mic))
      .catch((err) => {
        $("mic-status").textContent = `Microphone unavailable: ${err.message}`;
        throw err;
      })
      .finally(() => (state.micOpening = null));
  }
  return state.micOpening;
}

async function startTalking() {
  if (!state.call || state.muted || state.talking) return;
  state.talking = true;
  $("ptt").classList.add("active");
  $("ptt").setAttribute("aria-pressed", "true");
  $("mic-status").textContent = "Talking…";
  try {
    await ensureMicrophone();
  } catch (_) {
    stopTalking(false);
  }
}

function stopTalking(sendSilence = true) {
  if (!state.talking) return;
  state.talking = false;
  $("ptt").classList.remove("active");
  $("ptt").setAttribute("aria-pressed", "false");
  if (!state.muted) $("mic-status").textContent = "";
  if (sendSilence && state.call && state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(new ArrayBuffer(2 * Math.round(WIRE_RATE * TRAILING_SILENCE_S)));
  }
}

// --- keyboard -------------------------------------------------------------------------

function typing(target) {
  return target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function onKeyDown(event) {
  const digit = /^Digit([1-4])$/.exec(event.code);
  if (digit && (event.altKey || event.ctrlKey) && state.call) {
    event.preventDefault();
    const buttons = $("quick-replies").querySelectorAll("button");
    const button = buttons[Number(digit[1]) - 1];
    if (button) quickReply(button.dataset.reply);
    return;
  }
  if (event.target === $("reply-text") && event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    if ($("reply-translation").value.trim()) sendReply();
    else preview();
    return;
  }
  if (event.target === $("reply-translation") && event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    sendReply();
    return;
  }
  if (event.target === $("reply-translation") && event.key === "Escape") {
    discardPreview();
    return;
  }
  if (typing(event.target) || event.altKey || event.ctrlKey || event.metaKey || !state.ready) return;
  switch (event.code) {
    case "Space":
      event.preventDefault();
      if (!event.repeat) startTalking();
      break;
    case "KeyA":
      if (!state.call && state.queue.length) accept(state.queue[0].call_id);
      break;
    case "KeyH":
      hangUp();
      break;
    case "KeyM":
      toggleMute();
      break;
    case "KeyR":
      if (state.call) {
        event.preventDefault();
        $("reply-text").focus();
      }
      break;
    default:
      break;
  }
}

function onKeyUp(event) {
  if (event.code === "Space" && state.talking) {
    event.preventDefault();
    stopTalking();
  }
}

// --- wiring ---------------------------------------------------------------------------

function init() {
  $("signin-form").addEventListener("submit", signIn);
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) connect({ token });
  $("available").addEventListener("change", (e) => send({ type: CLIENT.AVAILABLE, available: e.target.checked }));
  $("hangup").addEventListener("click", hangUp);
  $("mute").addEventListener("click", toggleMute);
  const ptt = $("ptt");
  ptt.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    ptt.setPointerCapture(e.pointerId);
    startTalking();
  });
  for (const type of ["pointerup", "pointercancel"]) ptt.addEventListener(type, () => stopTalking());
  ptt.addEventListener("keydown", (e) => e.code === "Space" && e.preventDefault());
  $("reply-text").addEventListener("input", () => {
    $("reply-translation").value = "";
    $("reply-note").textContent = "";
    updateReplyButtons();
  });
  $("reply-translation").addEventListener("input", updateReplyButtons);
  $("preview-button").addEventListener("click", preview);
  $("reply-form").addEventListener("submit", sendReply);
  $("record-form").addEventListener("submit", saveRecord);
  $("record-form").addEventListener("input", recordEdited);
  $("record-form").addEventListener("change", recordEdited);
  document.addEventListener("keydown", onKeyDown);
  document.addEventListener("keyup", onKeyUp);
  window.addEventListener("blur", () => stopTalking());
  setInterval(tickQueue, 1000);
}

init();
