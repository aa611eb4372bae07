// The supervisors' dashboard: sign in over /qa/ws (only for the session token: the socket
// is closed at once), then read /dashboard/data for a range of
// days and draw the three rates, the volume per day, handle time and the overdue cases.
// Charts are SVG built here; every bar carries data-label and data-value.
import { WIRE_RATE, socketUrl } from "/static/audio.js";
import { CLIENT, ERROR, PROTOCOL_VERSION, SERVER } from "/static/wire.js";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const TOKEN_KEY = "hotline.dashboard.token";
const NAME_KEY = "hotline.dashboard.name";
const RATES = ["response", "resolution", "satisfaction"];
const GROUPINGS = ["agency", "service", "language", "week"];
const DEFAULT_DAYS = 30;

const state = { token: sessionStorage.getItem(TOKEN_KEY), services: {} };

// --- words and numbers ----------------------------------------------------------------

function percent(rate) {
  return rate === null || rate === undefined ? "–" : `${Math.round(rate * 1000) / 10}%`;
}

function detail(name, tally) {
  let text = `${tally.numerator}/${tally.denominator}`;
  if (name === "resolution" && tally.pending) text += `, ${tally.pending} pending`;
  if (name === "satisfaction" && tally.mean !== null) text += `, mean ${Math.round(tally.mean * 100) / 100}`;
  return text;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  return seconds < 120 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 6) / 10} min`;
}

function lateBy(seconds) {
  const hours = seconds / 3600;
  return hours < 48 ? `${Math.round(hours * 10) / 10} h` : `${Math.round(hours / 2.4) / 10} days`;
}

function when(iso) {
  return iso ? iso.slice(0, 16).replace("T", " ") : "";
}

function shorten(text, chars = 27) {
  return text.length <= chars ? text : `${text.slice(0, chars - 1)}…`;
}

function groupName(grouping, key) {
  if (grouping === "service" && state.services[key]) return state.services[key];
  return key;
}

function day(offset = 0) {
  const moment = new Date(Date.now() + offset * 86_400_000);
  return moment.toISOString().slice(0, 10);
}

// --- SVG ------------------------------------------------------------------------------

function svg(tag, attributes = {}, text = null) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== null) element.textContent = text;
  return element;
}

function clear(figure) {
  for (const child of [...figure.children]) if (child.tagName.toLowerCase() !== "figcaption") child.remove();
}

function nothing(figure, text = "Nothing in this range.") {
  const note = document.createElement("p");
  note.className = "muted empty";
  note.textContent = text;
  figure.append(note);
}

// Horizontal bars, one row per group; each row has one bar per series (value 0..max).
function barChart(figure, rows, { max, kind, label }) {
  clear(figure);
  if (!rows.length) return nothing(figure);
  const LABEL_W = 200;
  const BAR_W = 240;
  const TEXT_W = 230;
  const ROW_H = 14 + 12 * Math.max(...rows.map((r) => r.bars.length));
  const width = LABEL_W + BAR_W + TEXT_W;
  const chart = svg("svg", {
    class: `bars ${kind}`,
    viewBox: `0 0 ${width} ${rows.length * ROW_H + 4}`,
    role: "img",
    "aria-label": label,
  });
  rows.forEach((row, i) => {
    const group = svg("g", { class: "row", "data-label": row.key, transform: `translate(0 ${i * ROW_H + 2})` });
    group.append(svg("title", {}, row.title || `${row.name}: ${row.text}`));
    group.append(
      svg("text", { class: "label", x: LABEL_W - 8, y: ROW_H / 2, "text-anchor": "end", "dominant-baseline": "middle" },
        shorten(row.name)),
    );
    group.append(svg("rect", { class: "track", x: LABEL_W, y: 5, width: BAR_W, height: ROW_H - 10, rx: 2 }));
    const high = (ROW_H - 10) / row.bars.length;
    row.bars.forEach((bar, j) => {
      const share = bar.value === null ? 0 : Math.max(0, Math.min(1, bar.value / max));
      const holder = svg("g", {
        class: `bar ${bar.series}`,
        "data-label": row.key,
        "data-series": bar.series,
        "data-value": bar.value === null ? "" : bar.value,
      });
      holder.append(svg("rect", { class: "fill", x: LABEL_W, y: 5 + j * high, width: share * BAR_W, height: high }));
      group.append(holder);
    });
    group.append(
      svg("text", { class: "value", x: LABEL_W + BAR_W + 8, y: ROW_H / 2, "dominant-baseline": "middle" }, row.text),
    );
    chart.append(group);
  });
  figure.append(chart);
}

// Vertical bars per day, calls and cases side by side.
function volumeChart(figure, days) {
  clear(figure);
  if (!days.length) return nothing(figure);
  const LEFT = 30;
  const TOP = 16;
  const HEIGHT = 160;
  const BOTTOM = 46;
  const SLOT = Math.max(14, Math.min(40, 900 / days.length));
  const width = LEFT + days.length * SLOT + 10;
  const top = Math.max(1, ...days.map((d) => Math.max(d.calls, d.cases)));
  const chart = svg("svg", {
    class: "columns volume",
    viewBox: `0 0 ${width} ${TOP + HEIGHT + BOTTOM}`,
    role: "img",
    "aria-label": "Calls and cases per day",
  });
  chart.append(svg("line", { class: "axis", x1: LEFT, x2: width - 5, y1: TOP + HEIGHT, y2: TOP + HEIGHT }));
  chart.append(svg("text", { class: "tick", x: LEFT - 4, y: TOP, "text-anchor": "end" }, String(top)));
  chart.append(svg("text", { class: "tick", x: LEFT - 4, y: TOP + HEIGHT, "text-anchor": "end" }, "0"));
  const every = Math.max(1, Math.ceil(days.length / 20));
  days.forEach((d, i) => {
    const x = LEFT + i * SLOT;
    const bar = (SLOT - 4) / 2;
    ["calls", "cases"].forEach((series, j) => {
      const value = d[series];
      const h = (value / top) * HEIGHT;
      const holder = svg("g", { class: `bar ${series}`, "data-label": d.day, "data-series": series, "data-value": value });
      holder.append(svg("title", {}, `${d.day}: ${value} ${series}`));
      holder.append(svg("rect", { class: "fill", x: x + 2 + j * bar, y: TOP + HEIGHT - h, width: bar, height: h }));
      if (value > 0) {
        holder.append(
          svg("text", { class: "count", x: x + 2 + j * bar + bar / 2, y: TOP + HEIGHT - h - 3, "text-anchor": "middle" },
            String(value)),
        );
      }
      chart.append(holder);
    });
    if (i % every === 0) {
      const lx = x + SLOT / 2;
      const ly = TOP + HEIGHT + 10;
      chart.append(
        svg("text", { class: "tick", x: lx, y: ly, "text-anchor": "end", transform: `rotate(-45 ${lx} ${ly})` },
          d.day.slice(5)),
      );
    }
  });
  figure.append(chart);
}

// --- the data -------------------------------------------------------------------------

function renderTile(name, tally) {
  const tile = $(`overall-${name}`);
  tile.dataset.value = tally.rate === null ? "" : String(tally.rate);
  tile.querySelector(".tile-value").textContent = percent(tally.rate);
  tile.querySelector(".tile-detail").textContent = detail(name, tally);
}

function renderRate(name, rate) {
  for (const grouping of GROUPINGS) {
    const groups = rate[`by_${grouping}`];
    const rows = Object.entries(groups).map(([key, tally]) => ({
      key,
      name: groupName(grouping, key),
      text: `${percent(tally.rate)} (${detail(name, tally)})`,
      bars: [{ series: "rate", value: tally.rate }],
    }));
    barChart($(`${name}-by_${grouping}`), rows, { max: 1, kind: name, label: `${name} rate by ${grouping}` });
  }
}

function renderHandleTime(handle) {
  const groups = { all: handle.overall, ...handle.by_language };
  const rows = Object.entries(groups)
    .filter(([, tally]) => tally.n > 0)
    .map(([key, tally]) => ({
      key,
      name: key,
      text: `median ${duration(tally.median_s)}, mean ${duration(tally.mean_s)}, n ${tally.n}`,
      bars: [
        { series: "median", value: tally.median_s },
        { series: "mean", value: tally.mean_s },
      ],
    }));
  const max = Math.max(1, ...rows.flatMap((r) => r.bars.map((b) => b.value)));
  barChart($("handle-time"), rows, { max, kind: "handle", label: "Handle time per caller language" });
}

function renderOverdue(cases) {
  const body = $("overdue-rows");
  body.replaceChildren();
  $("overdue-count").textContent = String(cases.length);
  $("overdue-empty").hidden = cases.length > 0;
  for (const c of cases) {
    const row = document.createElement("tr");
    row.dataset.id = c.service_request_id;
    const cells = [
      c.service_request_id,
      state.services[c.service_code] || c.service_code,
      c.agency,
      c.status,
      c.overdue.join(", "),
      when(c.due),
      lateBy(c.late_s),
    ];
    for (const text of cells) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    body.append(row);
  }
}

function render(data) {
  state.services = data.services || {};
  for (const name of RATES) {
    renderTile(name, data[name].overall);
    renderRate(name, data[name]);
  }
  $("target").textContent = String(data.window.answer_target_s);
  volumeChart($("volume"), data.volume.days);
  renderHandleTime(data.handle_time);
  renderOverdue(data.overdue);
  $("range-note").textContent =
    `${data.range.from} to ${data.range.to} (UTC days): ${data.totals.calls} calls, ` +
    `${data.totals.cases} cases; as of ${when(data.window.now)} UTC.`;
  document.body.dataset.loaded = `${data.range.from}/${data.range.to}`;
}

async function load() {
  $("load-error").hidden = true;
  const query = new URLSearchParams({ from: $("from").value, to: $("to").value });
  let response;
  try {
    response = await fetch(`/dashboard/data?${query}`, {
      headers: { Authorization: `Bearer ${state.token}` },
      cache: "no-store",
    });
  } catch (error) {
    showLoadError(`Could not reach the server: ${error.message}`);
    return;
  }
  if (response.status === 403) {
    signedOut(`Signed out: ${(await response.text()).trim()}`);
    return;
  }
  if (!response.ok) {
    showLoadError((await response.text()).trim() || `The server answered ${response.status}.`);
    return;
  }
  render(await response.json());
}

function showLoadError(text) {
  $("load-error").textContent = text;
  $("load-error").hidden = false;
}

// --- signing in -----------------------------------------------------------------------

function setConnection(text, kind = "") {
  $("connection").textContent = text;
  $("connection").className = `pill ${kind}`;
}

function signInError(text) {
  $("signin-error").textContent = text;
  $("signin-error").hidden = false;
}

function signedIn(name) {
  $("signin").hidden = true;
  $("board").hidden = false;
  $("who").hidden = false;
  $("supervisor-name").textContent = name;
  setConnection("Signed in", "ok");
  load();
}

function signedOut(reason = "") {
  state.token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(NAME_KEY);
  $("signin").hidden = false;
  $("board").hidden = true;
  $("who").hidden = true;
  setConnection("Signed out", reason ? "bad" : "");
  if (reason) signInError(reason);
}

function signIn(name, password) {
  // The QA room's sign-in: it takes no seat, so a supervisor with the wall open in another
  // tab can still sign in here (the wall allows one session per supervisor).
  const ws = new WebSocket(socketUrl("/qa/ws"));
  let answered = false;
  ws.onopen = () => {
    ws.send(JSON.stringify({ type: CLIENT.HELLO, protocol: PROTOCOL_VERSION, sample_rate: WIRE_RATE, name, password }));
  };
  ws.onmessage = (msg) => {
    if (typeof msg.data !== "string") return;
    const m = JSON.parse(msg.data);
    if (m.type === SERVER.READY) {
      answered = true;
      state.token = m.token;
      sessionStorage.setItem(TOKEN_KEY, m.token);
      sessionStorage.setItem(NAME_KEY, m.display_name || m.operator);
      $("signin-password").value = "";
      ws.close(1000, "signed in to the dashboard");
      signedIn(m.display_name || m.operator);
    } else if (m.type === SERVER.ERROR && !answered) {
      answered = true;
      signInError(m.code === ERROR.BAD_CREDENTIALS ? "Wrong name or password." : `Sign-in refused: ${m.message}`);
      ws.close();
    }
  };
  ws.onclose = (event) => {
    if (!answered) signInError(`Could not sign in${event.reason ? `: ${event.reason}` : ""}.`);
  };
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  $("signin-error").hidden = true;
  signIn($("signin-name").value.trim(), $("signin-password").value);
});
$("range").addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
$("sign-out").addEventListener("click", () => signedOut());

$("to").value = day(0);
$("from").value = day(1 - DEFAULT_DAYS);
if (state.token) signedIn(sessionStorage.getItem(NAME_KEY) || "");
