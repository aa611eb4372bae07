// The supervisor wall: every live call with its latest captions, and stepping into one
// (monitor, whisper, barge, take over). It speaks the supervisor protocol of
// docs/protocol.md over /supervisor.
import { Speaker, WIRE_RATE, newAudioContext, openMicrophone, socketUrl } from "/static/audio.js";
import { CLIENT, ERROR, MODE, PROTOCOL_VERSION, SERVER } from "/static/wire.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "hotline.supervisor.token";
const STEPS = [
  [MODE.MONITOR, "Listen"],
  [MODE.WHISPER, "Whisper"],
  [MODE.BARGE, "Barge in"],
  [MODE.TAKEOVER, "Take over"],
];

const state = { ws: null, ready: false, ctx: null, speaker: null, mic: null, talking: false,
  callId: null, mode: null };

function send(message) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(message));
}

function setConnection(text, kind = "") {
  $("connection").textContent = text;
  $("connection").className = `pill ${kind}`;
}

function flash(text) {
  $("flash").textContent = text;
  $("flash").hidden = !text;
}

function connect({ name, password, token }) {
  if (!state.ctx) {
    state.ctx = newAudioContext();
    state.speaker = new Speaker(state.ctx, WIRE_RATE);
  }
  state.ctx.resume();
  const ws = new WebSocket(socketUrl("/supervisor"));
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  ws.onopen = () => {
    const hello = { type: CLIENT.HELLO, protocol: PROTOCOL_VERSION, sample_rate: WIRE_RATE };
    if (token) hello.token = token;
    else Object.assign(hello, { name, password });
    ws.send(JSON.stringify(hello));
  };
  ws.onmessage = (msg) => {
    if (typeof msg.data === "string") onMessage(JSON.parse(msg.data));
    else if (state.callId) state.speaker.play(msg.data);
  };
  ws.onclose = (event) => {
    const wasReady = state.ready;
    state.ready = false;
    inCall(null, null);
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
      $("signin").hidden = true;
      $("desk").hidden = false;
      $("who").hidden = false;
      $("supervisor-name").textContent = m.display_name || m.operator;
      $("signin-password").value = "";
      if (m.token) sessionStorage.setItem(TOKEN_KEY, m.token);
      setConnection("Signed in", "ok");
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
    case SERVER.WALL:
      renderWall(m.calls || []);
      break;
    case SERVER.SUPERVISING:
      if (m.mode === MODE.LEAVE) inCall(null, null);
      else inCall(m.call_id, m.mode);
      break;
    case SERVER.CAPTION:
    case SERVER.REPLY_SENT:
      if (m.final) addCaption(m);
      break;
    case SERVER.NOTICE:
      flash(m.text);
      break;
    case SERVER.ENDED:
      if (m.call_id === state.callId) inCall(null, null);
      break;
    default:
      break;
  }
}

function renderWall(calls) {
  const body = $("wall");
  body.replaceChildren();
  $("call-count").textContent = String(calls.length);
  $("wall-empty").hidden = calls.length > 0;
  for (const call of calls) {
    const row = document.createElement("tr");
    row.dataset.callId = call.call_id;
    const cells = [
      call.reference,
      call.state,
      call.caller_language || "?",
      call.operator ? `${call.operator} (${call.operator_language})` : "—",
      `${Math.round(call.seconds)} s`,
    ];
    for (const text of cells) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    const captions = document.createElement("td");
    captions.className = "wall-captions";
    for (const c of call.captions || []) {
      const line = document.createElement("div");
      line.textContent = `${c.speaker}: ${c.original}${c.text ? " → " + c.text : ""}`;
      captions.append(line);
    }
    row.append(captions);
    const steps = document.createElement("td");
    if (call.state === "connected") {
      for (const [mode, label] of STEPS) {
        const button = document.createElement("button");
        button.textContent = label;
        button.dataset.mode = mode;
        button.setAttribute("aria-pressed", String(state.callId === call.call_id && state.mode === mode));
        button.onclick = () => send({ type: CLIENT.SUPERVISE, call_id: call.call_id, mode });
        steps.append(button);
      }
    }
    row.append(steps);
    body.append(row);
  }
}

function inCall(callId, mode) {
  const changed = callId !== state.callId;
  state.callId = callId;
  state.mode = mode;
  if (changed) $("captions").replaceChildren();
  if (!callId) state.speaker?.clear();
  const talking = mode === MODE.WHISPER || mode === MODE.BARGE || mode === MODE.TAKEOVER;
  $("mode").textContent = callId ? `${mode} — call ${callId.slice(0, 8)}` : "Not in a call.";
  $("ptt").disabled = !talking;
  $("leave").disabled = !callId || mode === MODE.TAKEOVER;
  $("hangup").disabled = mode !== MODE.TAKEOVER;
  $("whisper-text").disabled = !callId || mode === MODE.TAKEOVER;
  $("reply-form").hidden = mode !== MODE.TAKEOVER;
  if (talking) ensureMicrophone();
}

function addCaption(m) {
  const row = document.createElement("div");
  row.className = `caption ${m.speaker}`;
  row.textContent = `${m.speaker}: ${m.original}${m.text && m.text !== m.original ? " → " + m.text : ""}`;
  $("captions").append(row);
  row.scrollIntoView({ block: "nearest" });
}

async function ensureMicrophone() {
  if (state.mic) return;
  try {
    state.mic = await openMicrophone(state.ctx, (frame) => {
      if (state.talking && state.callId && state.ws?.readyState === WebSocket.OPEN) {
        state.ws.send(frame);
      }
    });
  } catch (error) {
    flash(`Microphone: ${error.message}`);
  }
}

function talk(on) {
  if ($("ptt").disabled) return;
  state.talking = on;
  $("ptt").setAttribute("aria-pressed", String(on));
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  $("signin-error").hidden = true;
  connect({ name: $("signin-name").value.trim(), password: $("signin-password").value });
});
$("leave").onclick = () => send({ type: CLIENT.SUPERVISE, call_id: state.callId, mode: MODE.LEAVE });
$("hangup").onclick = () => send({ type: CLIENT.HANGUP });
$("ptt").addEventListener("pointerdown", () => talk(true));
$("ptt").addEventListener("pointerup", () => talk(false));
$("ptt").addEventListener("pointerleave", () => talk(false));
document.addEventListener("keydown", (event) => {
  if (event.code === "Space" && event.target === document.body) {
    event.preventDefault();
    talk(true);
  }
});
document.addEventListener("keyup", (event) => {
  if (event.code === "Space") talk(false);
});
$("whisper-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("whisper-text").value.trim();
  if (text) send({ type: CLIENT.WHISPER, text });
  $("whisper-text").value = "";
});
$("reply-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("reply-text").value.trim();
  if (text) send({ type: CLIENT.REPLY, text });
  $("reply-text").value = "";
});

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) connect({ token: saved });
