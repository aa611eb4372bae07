// The QA page: recorded calls, filtered; one call's legs as waveforms on one timeline with
// the bilingual transcript under them; each utterance's span to play (what was said, and
// what the other party heard); corrections and a score. It speaks the QA protocol of
// docs/protocol.md over /qa/ws; audio spans come from /qa/audio.
import { socketUrl } from "/static/audio.js";
import { CLIENT, ERROR, PROTOCOL_VERSION, SERVER } from "/static/wire.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "hotline.qa.token";
const SCORE_ITEMS = [
  ["greeting", "Greeting"],
  ["language", "Language handling"],
  ["accuracy", "Accuracy of the record"],
  ["courtesy", "Courtesy"],
  ["resolution", "Resolution"],
];
const LEG_NAMES = {
  caller_in: "Caller said", operator_in: "Operator said",
  caller_heard: "Caller heard", operator_heard: "Operator heard",
};

const state = { ws: null, ready: false, token: null, call: null, correcting: null };

function send(message) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
}

function flash(text) {
  $("flash").textContent = text;
  $("flash").hidden = !text;
}

function setConnection(text, kind = "") {
  $("connection").textContent = text;
  $("connection").className = `pill ${kind}`;
}

function connect({ name, password, token }) {
  const ws = new WebSocket(socketUrl("/qa/ws"));
  state.ws = ws;
  ws.onopen = () => {
    const hello = { type: CLIENT.HELLO, protocol: PROTOCOL_VERSION };
    if (token) hello.token = token;
    else Object.assign(hello, { name, password });
    ws.send(JSON.stringify(hello));
  };
  ws.onmessage = (msg) => onMessage(JSON.parse(msg.data));
  ws.onclose = (event) => {
    const wasReady = state.ready;
    state.ready = false;
    $("signin").hidden = false;
    $("desk").hidden = true;
    if (!wasReady && $("signin-error").hidden) {
      $("signin-error").textContent = `Could not sign in${event.reason ? ": " + event.reason : ""}.`;
      $("signin-error").hidden = false;
    }
    setConnection(wasReady ? "Disconnected — sign in again" : "Signed out", "bad");
  };
}

function onMessage(m) {
  switch (m.type) {
    case SERVER.READY:
      state.ready = true;
      state.token = m.token;
      if (m.token) sessionStorage.setItem(TOKEN_KEY, m.token);
      $("signin").hidden = true;
      $("desk").hidden = false;
      $("who").hidden = false;
      $("reviewer-name").textContent = m.display_name || m.operator;
      $("signin-password").value = "";
      setConnection("Signed in", "ok");
      listCalls();
      break;
    case SERVER.ERROR:
      if (m.code === ERROR.BAD_CREDENTIALS) sessionStorage.removeItem(TOKEN_KEY);
      if (!state.ready) {
        $("signin-error").textContent =
          m.code === ERROR.BAD_CREDENTIALS ? "Wrong name or password." : `Sign-in refused: ${m.message}`;
        $("signin-error").hidden = false;
      } else {
        flash(`Server: ${m.message}`);
      }
      break;
    case SERVER.CALL_LIST:
      renderCalls(m.calls || []);
      break;
    case SERVER.CALL_DETAIL:
      renderCall(m);
      break;
    case SERVER.CORRECTED:
      if (state.call) {
        state.call.corrections.push({ utterance_id: m.utterance_id, field: m.field, text: m.text, who: m.by });
        renderUtterances();
      }
      $("correction").hidden = true;
      break;
    case SERVER.SCORED:
      $("scores-saved").textContent = `Score saved by ${m.by}.`;
      break;
    default:
      break;
  }
}

function listCalls() {
  const message = { type: CLIENT.CALLS };
  for (const [key, id] of [["since", "f-since"], ["until", "f-until"], ["pair", "f-pair"],
    ["operator", "f-operator"], ["kind", "f-kind"], ["status", "f-status"]]) {
    const value = $(id).value.trim();
    if (value) message[key] = value;
  }
  send(message);
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text ?? "—";
  row.append(td);
  return td;
}

function renderCalls(calls) {
  $("call-count").textContent = String(calls.length);
  const body = $("calls");
  body.replaceChildren();
  for (const call of calls) {
    const row = document.createElement("tr");
    row.dataset.callId = call.id;
    const ref = cell(row, "");
    const open = document.createElement("button");
    open.className = "link";
    open.textContent = call.reference;
    open.onclick = () => send({ type: CLIENT.OPEN_CALL, call_id: call.id });
    ref.append(open);
    cell(row, (call.started_at || "").replace("T", " ").slice(0, 19));
    cell(row, call.pair);
    cell(row, call.operator);
    cell(row, call.kind);
    cell(row, call.status);
    body.append(row);
  }
}

function renderCall(m) {
  state.call = { record: m.record, legs: m.legs, corrections: m.corrections || [] };
  $("call").hidden = false;
  $("call-ref").textContent = m.record.reference;
  $("redacted-note").hidden = !m.redacted;
  $("scores-saved").textContent = (m.scores || []).length
    ? `${m.scores.length} score(s) saved before, the last by ${m.scores[m.scores.length - 1].who}.` : "";
  renderLegs();
  renderUtterances();
  flash("");
}

function renderLegs() {
  const box = $("legs");
  box.replaceChildren();
  const longest = Math.max(1, ...state.call.legs.map((l) => l.seconds));
  for (const leg of state.call.legs) {
    const figure = document.createElement("figure");
    figure.className = "leg";
    const caption = document.createElement("figcaption");
    caption.textContent = LEG_NAMES[leg.leg] || leg.leg;
    const canvas = document.createElement("canvas");
    canvas.width = 900;
    canvas.height = 48;
    canvas.dataset.leg = leg.leg;
    figure.append(caption, canvas);
    box.append(figure);
    const g = canvas.getContext("2d");
    g.fillStyle = "#9ab";
    const mid = canvas.height / 2;
    leg.peaks.forEach((peak, i) => {
      const x = (i * leg.step_s / longest) * canvas.width;
      const h = Math.max(1, peak * mid);
      g.fillRect(x, mid - h, Math.max(1, (leg.step_s / longest) * canvas.width), 2 * h);
    });
    // Where each utterance of this leg's speaker sits on the call's clock.
    g.fillStyle = "rgba(51, 102, 204, 0.25)";
    for (const u of state.call.record.utterances) {
      const span = spanOf(u, leg.leg);
      if (span) g.fillRect((span[0] / longest) * canvas.width, 0, ((span[1] - span[0]) / longest) * canvas.width, canvas.height);
    }
  }
}

function spanOf(u, leg) {
  if (leg === `${u.speaker}_in` && !u.typed) return [u.start_s, u.end_s];
  const listener = u.speaker === "caller" ? "operator" : "caller";
  if (leg === `${listener}_heard` && u.played_start_s != null) return [u.played_start_s, u.played_end_s];
  return null;
}

function latest(utteranceId, field) {
  const found = state.call.corrections.filter((c) => c.utterance_id === utteranceId && c.field === field);
  return found.length ? found[found.length - 1] : null;
}

function renderUtterances() {
  const body = $("utterances");
  body.replaceChildren();
  for (const u of state.call.record.utterances) {
    if (u.speaker === "system") continue;
    const row = document.createElement("tr");
    row.dataset.utteranceId = String(u.id);
    cell(row, `${u.start_s.toFixed(1)} s`);
    cell(row, u.speaker);
    for (const field of ["original", "translation"]) {
      const td = cell(row, u[field]);
      td.className = field;
      const fix = latest(u.id, field);
      if (fix) {
        const note = document.createElement("div");
        note.className = "correction";
        note.textContent = `✎ ${fix.text} (${fix.who})`;
        td.append(note);
      }
    }
    const listen = cell(row, "");
    const listener = u.speaker === "caller" ? "operator" : "caller";
    if (!u.typed) listen.append(playButton("Voice", `${u.speaker}_in`, u.start_s, u.end_s));
    if (u.played_start_s != null) {
      listen.append(playButton("Heard", `${listener}_heard`, u.played_start_s, u.played_end_s));
    }
    const correct = cell(row, "");
    for (const field of ["original", "translation"]) {
      const button = document.createElement("button");
      button.textContent = field === "original" ? "Transcript" : "Translation";
      button.className = `correct-${field}`;
      button.onclick = () => startCorrection(u, field);
      correct.append(button);
    }
    body.append(row);
  }
}

function playButton(label, leg, start, end) {
  const button = document.createElement("button");
  button.textContent = `▶ ${label}`;
  button.className = `play ${leg}`;
  button.onclick = () => {
    const query = new URLSearchParams({
      token: state.token, call: state.call.record.id, leg,
      start: Math.max(0, start - 0.2).toFixed(2), end: (end + 0.3).toFixed(2),
    });
    const player = $("player");
    player.src = `/qa/audio?${query}`;
    player.play().catch((error) => flash(`Playback: ${error.message}`));
  };
  return button;
}

function startCorrection(u, field) {
  state.correcting = { id: u.id, field };
  $("correction").hidden = false;
  $("correction-field").textContent = field === "original" ? "transcript" : "translation";
  $("correction-at").textContent = `${u.start_s.toFixed(1)} s`;
  $("correction-text").value = latest(u.id, field)?.text ?? u[field] ?? "";
  $("correction-text").focus();
}

function buildScoreForm() {
  const box = $("score-items");
  for (const [key, label] of SCORE_ITEMS) {
    const line = document.createElement("label");
    line.textContent = `${label} `;
    const select = document.createElement("select");
    select.id = `score-${key}`;
    for (let n = 1; n <= 5; n += 1) {
      const option = document.createElement("option");
      option.value = String(n);
      option.textContent = String(n);
      if (n === 3) option.selected = true;
      select.append(option);
    }
    line.append(select);
    box.append(line);
  }
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  $("signin-error").hidden = true;
  connect({ name: $("signin-name").value.trim(), password: $("signin-password").value });
});
$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  listCalls();
});
$("correction").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!state.correcting) return;
  send({ type: CLIENT.CORRECT, utterance_id: state.correcting.id, field: state.correcting.field,
    text: $("correction-text").value });
});
$("correction-cancel").addEventListener("click", () => { $("correction").hidden = true; });
$("score").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!state.call) return;
  const scores = {};
  for (const [key] of SCORE_ITEMS) scores[key] = Number($(`score-${key}`).value);
  send({ type: CLIENT.SCORE, call_id: state.call.record.id, scores, notes: $("score-notes").value });
});

$("player").addEventListener("playing", () => {
  $("player").dataset.played = String(Number($("player").dataset.played || 0) + 1);
});

buildScoreForm();
const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) connect({ token: saved });
