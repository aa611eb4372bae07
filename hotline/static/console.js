// The operator console: sign-in, queue, one call at a time, captions, replies, the service
// request (with its read-back and emergency alerts), the record.
// It speaks the operator protocol of docs/protocol.md over /operator, and the operator's
// language: the one chosen at sign-in (English by default), from console-i18n.js.
import { Speaker, WIRE_RATE, newAudioContext, openMicrophone, socketUrl } from "/static/audio.js";
import {
  CONSOLE_LANGUAGES,
  labelFor,
  relabel,
  saveLanguage,
  savedLanguage,
  suggestedLanguages,
  translate,
} from "/static/console-i18n.js";
import { CLIENT, ERROR, PROTOCOL_VERSION, RECORD_FIELDS, SERVER, SPEAKER } from "/static/wire.js";

const $ = (id) => document.getElementById(id);
const LANGUAGE_NAMES = {
  en: "English", es: "Español", ca: "Català", ko: "한국어", zh: "中文", fr: "Français",
  ja: "日本語", ru: "Русский", de: "Deutsch", ar: "العربية",
};
const TRAILING_SILENCE_S = 0.6; // sent when push-to-talk is released, so the utterance ends
const READBACK_ANSWERS = { yes: "readback_yes", no: "readback_no", none: "readback_none" };

const state = {
  language: "en", // the console's own language, not the languages the operator serves
  shown: new Map(), // element id -> [key, params]: texts redrawn when the language changes
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
  request: null, // the latest RequestDraft of this call
  requestDirty: new Set(), // request fields the operator changed and has not confirmed yet
  readbackWaiting: false,
  emergency: null, // {kinds, words, numbers, action} of this call
};

function send(message) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
}

function t(key, params) {
  return translate(state.language, key, params);
}

/** Element ``id`` says ``key`` (none: nothing), and says it again in a newly chosen language. */
function show(id, key, params = {}) {
  if (key) state.shown.set(id, [key, params]);
  else state.shown.delete(id);
  $(id).textContent = key ? t(key, params) : "";
}

function setConnection(key, kind = "") {
  const pill = $("connection");
  show("connection", key);
  pill.className = `pill ${kind}`;
}

// --- the console's language -----------------------------------------------------------

function fillLanguageChoice(select, codes) {
  select.replaceChildren(
    ...codes.map((code) => {
      const option = document.createElement("option");
      option.value = code;
      option.lang = code;
      option.textContent = CONSOLE_LANGUAGES[code];
      return option;
    }),
  );
  select.value = state.language;
}

/** Every label, button, status and shortcut in ``code``, remembered for the next sign-in. */
function setLanguage(code) {
  state.language = code in CONSOLE_LANGUAGES ? code : "en";
  saveLanguage(state.language);
  document.documentElement.lang = state.language;
  relabel(document, state.language);
  for (const [id, [key, params]] of state.shown) $(id).textContent = t(key, params);
  for (const id of ["signin-console-language", "console-language"]) $(id).value = state.language;
  $("console-language").setAttribute("aria-label", t("console_language"));
  $("mute").firstChild.textContent = t(state.muted ? "unmute" : "mute");
  for (const button of $("quick-replies").querySelectorAll("button")) {
    button.firstChild.textContent = labelFor(state.language, "quick", button.dataset.reply);
  }
  renderQueue();
  if (state.request) {
    const m = state.request;
    $("request-classification").textContent = describeClassification(m);
    $("request-urgency").textContent = m.urgency ? labelFor(state.language, "urgency", m.urgency) : "—";
    const blank = $("request-service").querySelector("option[value='']");
    if (blank) blank.textContent = t("choose_service");
  }
  if (state.emergency) showEmergency({ ...state.emergency, words: [] });
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
  setConnection("signing_in");
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
        showSignInError(
          event.reason ? t("could_not_sign_in_because", { reason: event.reason }) : t("could_not_sign_in"),
        );
      }
      $("signin").hidden = false;
      $("desk").hidden = true;
      setConnection("signed_out", "bad");
    } else {
      setConnection("disconnected", "bad");
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
      // The account's languages come first in the console's language choice, as suggestions.
      fillLanguageChoice($("console-language"), suggestedLanguages(m.languages || []));
      $("signin-password").value = "";
      if (m.token) sessionStorage.setItem(TOKEN_KEY, m.token);
      setConnection("signed_in", "ok");
      break;
    case SERVER.ERROR:
      if (m.code === ERROR.BAD_CREDENTIALS) sessionStorage.removeItem(TOKEN_KEY);
      if (!state.ready) {
        showSignInError(
          m.code === ERROR.BAD_CREDENTIALS ? t("wrong_password") : t("sign_in_refused", { message: m.message }),
        );
      } else {
        flash("server_said", { message: m.message });
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
        $("reply-note").textContent = m.translated ? "" : m.note || t("not_translated");
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
      show("record-status", "saved_at", { time: new Date().toLocaleTimeString() });
      break;
    case SERVER.REQUEST:
      if (isThisCall(m)) showRequest(m);
      break;
    case SERVER.READ_BACK:
      if (state.call) showReadBack(m);
      break;
    case SERVER.EMERGENCY:
      if (isThisCall(m)) showEmergency(m);
      break;
    case SERVER.CASE:
      showNewCase(m);
      break;
    case SERVER.OVERDUE:
      showOverdue(m);
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

// A request that came in without a call (Open311: a city website, an app), in the
// operator's language where the server could translate it; newest first.
function showNewCase(m) {
  const item = document.createElement("li");
  item.className = "new-case";
  item.dataset.id = m.service_request_id;
  const head = document.createElement("strong");
  head.textContent = `${m.service_request_id} · ${m.service_name}`;
  if (m.urgency === "emergency") head.classList.add("urgent");
  const place = document.createElement("span");
  place.className = "muted";
  place.textContent = m.place ? ` — ${m.place}` : "";
  const said = document.createElement("p");
  said.className = "case-translation";
  said.textContent = m.translation || m.description;
  item.append(head, place, said);
  if (m.translation) {
    const original = document.createElement("p");
    original.className = "case-original muted";
    original.lang = m.language;
    original.textContent = `${languageName(m.language)}: ${m.description}`;
    item.append(original);
  } else if (m.note) {
    const note = document.createElement("p");
    note.className = "muted";
    note.textContent = m.note;
    item.append(note);
  }
  const list = $("new-cases");
  list.prepend(item);
  while (list.children.length > 20) list.lastChild.remove();
  $("cases-count").textContent = String(list.children.length);
}

// Cases past a clock (dispatch or feedback), sent on a timer: a line never sits on one.
function showOverdue(m) {
  const list = $("overdue");
  list.replaceChildren(
    ...m.cases.map((c) => {
      const item = document.createElement("li");
      item.className = "overdue-case";
      item.dataset.id = c.service_request_id;
      if (c.urgency === "emergency") item.classList.add("urgent");
      const head = document.createElement("strong");
      head.textContent = `${c.service_request_id} · ${c.service_name}`;
      const late = document.createElement("span");
      late.className = "muted";
      const clocks = c.overdue.map((clock) => labelFor(state.language, "clock", clock)).join(t("and"));
      late.textContent = t("overdue_line", { clocks, due: c.due, agency: c.agency });
      item.append(head, late);
      return item;
    }),
  );
  $("overdue-count").textContent = String(m.total);
  $("overdue-count").classList.toggle("alert", m.total > 0);
}

function flash(key, params) {
  show("call-status", key, params);
}

function isThisCall(m) {
  return state.call !== null && (!m.call_id || m.call_id === state.call.call_id);
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
    label.querySelector(".wait").textContent = t("waiting_for", { time: formatWait(waited) });
    const button = document.createElement("button");
    button.className = "accept primary";
    button.textContent = t("accept");
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
    if (rows[i]) rows[i].textContent = t("waiting_for", { time: formatWait(Math.round(c.waiting_s + (now - c.at) / 1000)) });
  });
}

function formatWait(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m ? t("minutes_seconds", { m, s }) : t("seconds", { s });
}

function accept(callId) {
  if (state.call || !callId) return;
  send({ type: CLIENT.ACCEPT, call_id: callId });
  flash("accepting");
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
  $("call-language").textContent = t("call_languages", {
    caller: languageName(m.caller_language),
    operator: languageName(m.operator_language),
  });
  flash(m.caller_asr ? "in_call" : "in_call_no_asr");
  for (const id of ["ptt", "mute", "hangup", "reply-text", "record-save"]) $(id).disabled = false;
  $("mute").setAttribute("aria-pressed", "false");
  $("mute").firstChild.textContent = t("mute");
  const quick = $("quick-replies");
  quick.replaceChildren();
  (m.quick_replies || []).forEach((id, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.reply = id;
    button.innerHTML = `<span></span> <kbd>${i < 4 ? `Alt+${i + 1}` : ""}</kbd>`;
    button.firstChild.textContent = labelFor(state.language, "quick", id);
    button.addEventListener("click", () => quickReply(id));
    quick.append(button);
  });
  resetRequest(true);
  resetEmergency();
  renderQueue();
  document.body.classList.add("in-call");
}

function endCall(m) {
  if (state.call && m) {
    flash("call_ended", { reference: m.reference });
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
    show("record-status", "unsaved_at_end");
  }
  endRequest();
  for (const id of ["emergency-transferred", "emergency-told"]) $(id).disabled = true;
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
  $("mute").firstChild.textContent = t(state.muted ? "unmute" : "mute");
  show("mic-status", state.muted ? "mic_muted" : null);
  if (state.muted) stopTalking(false);
}

// --- captions -------------------------------------------------------------------------

function captionRow(speaker) {
  const row = document.createElement("div");
  row.className = `utterance ${speaker}`;
  row.dataset.speaker = speaker;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = t(speaker === SPEAKER.CALLER ? "caller" : "you");
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
    // A turn the machine may have got wrong, and the languages a pivoted translation took.
    const marks = [];
    for (const why of m.unclear || []) marks.push(t(`unclear_${why}`));
    if (m.route) marks.push(t("route", { route: m.route }));
    if (marks.length) {
      row.classList.toggle("unclear", Boolean(m.unclear && m.unclear.length));
      const note = document.createElement("small");
      note.className = "caption-marks";
      note.textContent = marks.join(" · ");
      row.querySelector(".translation").append(note);
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
  if (!row) return;
  row.classList.add("spoken");
  row.querySelector(".translation").dataset.spoken = t("spoken");
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
  $("reply-note").textContent = t("translating");
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
  show("record-status", null);
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
  show("record-status", "saving");
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
    show("record-status", "suggested");
  }
}

// --- the service request --------------------------------------------------------------

function serviceName(code) {
  const service = ((state.request && state.request.services) || []).find((s) => s.code === code);
  return service ? service.name : code;
}

function percent(p) {
  return `${Math.round(Number(p) * 100)}%`;
}

/** A fresh panel for a new call (``inCall``), or the empty one between calls. */
function resetRequest(inCall) {
  state.request = null;
  state.requestDirty.clear();
  state.readbackWaiting = false;
  $("request-service").replaceChildren();
  $("request-place").value = "";
  $("request-classification").textContent = "";
  $("request-agency").textContent = "";
  $("request-urgency").textContent = "";
  $("request-urgency").classList.remove("urgency-emergency");
  $("request-confirmed").hidden = true;
  $("readback-status").textContent = "";
  $("readback-status").dataset.answer = "";
  $("readback-text").textContent = "";
  $("readback-text").hidden = true;
  $("request-form").hidden = true;
  $("request-empty").hidden = false;
  show("request-empty", inCall ? "listening" : "no_call");
  updateRequestButtons();
}

function endRequest() {
  state.readbackWaiting = false;
  if (state.request) {
    for (const id of ["request-service", "request-place"]) $(id).disabled = true;
    if ($("readback-status").dataset.answer === "waiting") $("readback-status").textContent = "";
  } else {
    resetRequest(false);
  }
  updateRequestButtons();
}

function updateRequestButtons() {
  const live = state.call !== null && state.request !== null;
  $("request-confirm").disabled = !live;
  $("request-readback").disabled = !live || !state.request.service_code || state.readbackWaiting;
}

/** The draft as the server has it; what the operator changed and not yet confirmed stays. */
function showRequest(m) {
  state.request = m;
  $("request-empty").hidden = true;
  $("request-form").hidden = false;
  for (const id of ["request-service", "request-place"]) $(id).disabled = false;

  const select = $("request-service");
  const chosen = state.requestDirty.has("service_code") ? select.value : m.service_code || "";
  select.replaceChildren();
  const blank = document.createElement("option");
  blank.value = "";
  blank.textContent = t("choose_service");
  select.append(blank);
  for (const service of m.services || []) {
    const option = document.createElement("option");
    option.value = service.code;
    option.textContent = service.name;
    select.append(option);
  }
  select.value = chosen;
  if (select.value !== chosen) select.value = "";

  if (!state.requestDirty.has("place")) $("request-place").value = m.place || "";
  if (m.place) prefill({ place: m.place });
  $("request-classification").textContent = describeClassification(m);
  $("request-agency").textContent = m.agency || "—";
  const urgency = $("request-urgency");
  urgency.textContent = m.urgency ? labelFor(state.language, "urgency", m.urgency) : "—";
  urgency.classList.toggle("urgency-emergency", m.urgency === "emergency");
  $("request-confirmed").hidden = m.confirmed !== true;
  updateRequestButtons();
}

function describeClassification(m) {
  const c = m.classification || {};
  if (c.by === "operator") {
    return c.classified && c.classified !== c.code
      ? t("set_by_operator_over", { service: serviceName(c.classified) })
      : t("set_by_operator");
  }
  const others = (c.candidates || [])
    .filter(([code]) => code !== c.code)
    .slice(0, 3)
    .map(([code, p]) => `${serviceName(code)} ${percent(p)}`)
    .join(t("list_separator"));
  if (c.by === "classifier" && c.code) {
    return t("classified", {
      service: serviceName(c.code),
      sure: typeof c.confidence === "number" ? t("classified_sure", { percent: percent(c.confidence) }) : "",
      also: others ? t("classified_also", { list: others }) : "",
    });
  }
  if (c.by === "classifier" && others) return t("classifier_unsure", { list: others });
  return m.service_code ? "" : t("not_classified");
}

function requestEdited(event) {
  const name = event.target.name;
  if (name === "service_code" || name === "place") state.requestDirty.add(name);
}

function confirmRequest(event) {
  if (event) event.preventDefault();
  if (!state.call || !state.request) return;
  const message = { type: CLIENT.REQUEST };
  const code = $("request-service").value;
  if (code) message.service_code = code;
  // Only a changed place is sent: the record's address is the same field.
  const place = $("request-place").value.trim();
  if (place !== (state.request.place || "")) message.place = place;
  send(message);
  state.requestDirty.clear();
}

function readBack() {
  if (!state.call || !state.request || state.readbackWaiting) return;
  send({ type: CLIENT.READ_BACK });
}

function showReadBack(m) {
  const status = $("readback-status");
  if (m.answer === undefined || m.answer === null) {
    state.readbackWaiting = true;
    status.textContent = t("readback_waiting");
    status.dataset.answer = "waiting";
  } else {
    state.readbackWaiting = false;
    const key = READBACK_ANSWERS[m.answer];
    status.textContent = key ? t(key, { how: m.how || "" }) : t("readback_answer", { answer: m.answer });
    status.dataset.answer = m.answer;
  }
  $("readback-text").textContent = m.text ? t("read_to_caller", { text: m.text }) : "";
  $("readback-text").hidden = !m.text;
  updateRequestButtons();
}

// --- emergencies ----------------------------------------------------------------------

function resetEmergency() {
  state.emergency = null;
  $("emergency").hidden = true;
  $("emergency").classList.remove("handled");
  $("desk").classList.remove("alerting");
  for (const id of ["emergency-transferred", "emergency-told"]) {
    $(id).disabled = false;
    $(id).setAttribute("aria-pressed", "false");
  }
}

/** Shown at once and kept for the rest of the call; calmer once the operator acted. */
function showEmergency(m) {
  const seen = state.emergency || { words: [] };
  const words = [...seen.words];
  for (const word of m.words || []) if (!words.includes(word)) words.push(word);
  state.emergency = { kinds: m.kinds || [], words, numbers: m.numbers || {}, action: m.action || null };

  $("emergency-kinds").textContent = state.emergency.kinds
    .map((kind) => labelFor(state.language, "emergency", kind))
    .join(t("list_separator"));
  $("emergency-words").textContent = words.join(", ");
  $("emergency-words-line").hidden = words.length === 0;
  if (m.text) {
    $("emergency-said").textContent = `“${m.text}”`;
    $("emergency-said").hidden = false;
  }
  const numbers = $("emergency-numbers");
  numbers.replaceChildren();
  for (const [label, number] of Object.entries(state.emergency.numbers)) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = `${label}: `;
    const strong = document.createElement("strong");
    strong.className = "emergency-number";
    strong.textContent = number;
    li.append(name, strong);
    numbers.append(li);
  }
  const action = state.emergency.action;
  const recorded = $("emergency-recorded");
  recorded.textContent = action ? t("recorded", { action: labelFor(state.language, "action", action) }) : "";
  recorded.hidden = !action;
  $("emergency-transferred").setAttribute("aria-pressed", String(action === "transferred"));
  $("emergency-told").setAttribute("aria-pressed", String(action === "told"));
  $("emergency").classList.toggle("handled", Boolean(action));
  $("emergency").hidden = false;
  $("desk").classList.add("alerting");
}

function emergencyAction(action) {
  if (!state.call || !state.emergency) return;
  send({ type: CLIENT.EMERGENCY_ACTION, action });
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
        show("mic-status", "mic_unavailable", { message: err.message });
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
  show("mic-status", "talking");
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
  if (!state.muted) show("mic-status", null);
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
    case "KeyT":
      emergencyAction("transferred");
      break;
    case "KeyE":
      emergencyAction("told");
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
  for (const id of ["signin-console-language", "console-language"]) {
    fillLanguageChoice($(id), suggestedLanguages());
    $(id).addEventListener("change", (e) => setLanguage(e.target.value));
  }
  setLanguage(savedLanguage());
  setConnection("signed_out");
  flash("no_call");
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
  $("request-form").addEventListener("submit", confirmRequest);
  $("request-form").addEventListener("input", requestEdited);
  $("request-form").addEventListener("change", requestEdited);
  $("request-readback").addEventListener("click", readBack);
  $("emergency-transferred").addEventListener("click", () => emergencyAction("transferred"));
  $("emergency-told").addEventListener("click", () => emergencyAction("told"));
  resetRequest(false);
  document.addEventListener("keydown", onKeyDown);
  document.addEventListener("keyup", onKeyUp);
  window.addEventListener("blur", () => stopTalking());
  setInterval(tickQueue, 1000);
}

init();
