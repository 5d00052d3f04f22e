'use strict';
// The chat load generator of bench/peer_bench.py, the same for FlowHub and the peer: N
// socket.io-client sockets (websocket transport), each sending `message:send` to its room with
// an ack, and counting the `message:new` every member receives.
//
//   node fanout.js --url URL --clients FILE [--mode idle|rates] [--rates 100,200] [--ladder START,FACTOR,MAX]
//                  [--step-s 3] [--drain-s 2] [--pid SERVER_PID] [--room-size 10]
//
// FILE: JSON [{"token", "room_id"}], one entry per socket. Output: JSON lines on stdout:
//   {"event": "ready", "connected": n, "connect_ms": ...}
//   idle:  then waits until its stdin closes.
//   rates: one {"event": "step", ...} per offered rate (the ladder stops at the first rate not
//          sustained), then {"event": "done"}.
// A rate is sustained when at least 95% of the messages offered in the step were acked ok by the
// end of the drain, 99% of the deliveries they owe arrived, and delivery p99 is under 1 s.
// Server CPU: utime + stime of /proc/<pid>/stat over the step and its drain.

const fs = require('node:fs');
const { io } = require('socket.io-client');

function args() {
  const out = { mode: 'rates', stepS: 3, drainS: 2, roomSize: 10, rates: null, ladder: null, pid: 0 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--url') out.url = v;
    else if (k === '--clients') out.clients = v;
    else if (k === '--mode') out.mode = v;
    else if (k === '--rates') out.rates = v.split(',').map(Number);
    else if (k === '--ladder') out.ladder = v.split(',').map(Number);
    else if (k === '--step-s') out.stepS = Number(v);
    else if (k === '--drain-s') out.drainS = Number(v);
    else if (k === '--pid') out.pid = Number(v);
    else if (k === '--room-size') out.roomSize = Number(v);
    else throw new Error(`unknown option ${k}`);
  }
  return out;
}

const CLK_TCK = 100;
function cpuMs(pid) {
  if (!pid) return 0;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK; // utime, stime
}

const now = () => performance.now();
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function connectAll(url, entries) {
  const sockets = [];
  const started = now();
  for (let i = 0; i < entries.length; i += 50) {
    const batch = entries.slice(i, i + 50).map((entry) => new Promise((resolve, reject) => {
      const socket = io(url, { transports: ['websocket'], auth: { token: entry.token }, reconnection: false, timeout: 20000 });
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', (error) => reject(new Error(`connect_error: ${error.message}`)));
    }));
    sockets.push(...(await Promise.all(batch)));
  }
  return { sockets, connectMs: now() - started };
}

async function main() {
  const opts = args();
  const entries = JSON.parse(fs.readFileSync(opts.clients, 'utf8'));
  const { sockets, connectMs } = await connectAll(opts.url, entries);
  emit({ event: 'ready', connected: sockets.length, connect_ms: Math.round(connectMs) });

  if (opts.mode === 'idle') {
    process.stdin.resume();
    await new Promise((resolve) => process.stdin.on('end', resolve).on('close', resolve));
    for (const s of sockets) s.disconnect();
    return;
  }

  // Per step: deliveries received and their latencies (the body carries the send time).
  let step = null;
  for (const socket of sockets) {
    socket.on('message:new', (message) => {
      if (step === null) return;
      const sentAt = Number(message.body.slice(2));
      if (sentAt >= step.startedAt) {
        step.received += 1;
        step.latencies.push(now() - sentAt);
      }
    });
  }
  await sleep(500);

  async function runStep(rate) {
    step = { startedAt: now(), received: 0, latencies: [], acked: 0, errors: 0, sent: 0, errorCodes: {} };
    const s = step;
    const cpuBefore = cpuMs(opts.pid);
    const clientBefore = process.cpuUsage();
    const stepMs = opts.stepS * 1000;
    let next = 0;
    await new Promise((resolve) => {
      const timer = setInterval(() => {
        const elapsed = now() - s.startedAt;
        const due = Math.min(rate * (Math.min(elapsed, stepMs) / 1000), (rate * stepMs) / 1000);
        while (s.sent < due) {
          const socket = sockets[next];
          const entry = entries[next];
          next = (next + 1) % sockets.length;
          s.sent += 1;
          socket.emit('message:send', { room_id: entry.room_id, body: `t:${now()}` }, (ack) => {
            if (ack && ack.ok) s.acked += 1;
            else {
              s.errors += 1;
              const code = (ack && ack.error && ack.error.code) || 'no_ack';
              s.errorCodes[code] = (s.errorCodes[code] || 0) + 1;
            }
          });
        }
        if (elapsed >= stepMs) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    const sendEnd = now();
    const expectedDeliveries = () => s.acked * opts.roomSize;
    const drainEnd = sendEnd + opts.drainS * 1000;
    while (now() < drainEnd && (s.acked + s.errors < s.sent || s.received < expectedDeliveries())) await sleep(20);
    const cpuAfter = cpuMs(opts.pid);
    const client = process.cpuUsage(clientBefore);
    const p99 = percentile(s.latencies, 99);
    const sustained = s.acked >= 0.95 * s.sent && s.received >= 0.99 * expectedDeliveries() && p99 !== null && p99 < 1000;
    const result = {
      event: 'step', rate, sent: s.sent, acked: s.acked, errors: s.errors, error_codes: s.errorCodes,
      offered_per_s: s.sent / opts.stepS, acked_per_s: s.acked / opts.stepS,
      deliveries: s.received, deliveries_expected: expectedDeliveries(),
      p50_ms: percentile(s.latencies, 50), p99_ms: p99,
      server_cpu_ms: cpuAfter - cpuBefore,
      server_cpu_ms_per_message: s.acked ? (cpuAfter - cpuBefore) / s.acked : null,
      client_cpu_ms: (client.user + client.system) / 1000,
      sustained,
    };
    step = null;
    emit(result);
    await sleep(300);
    return result;
  }

  if (opts.rates) {
    for (const rate of opts.rates) await runStep(rate);
  }
  if (opts.ladder) {
    const [start, factor, max] = opts.ladder;
    for (let rate = start; rate <= max; rate = Math.round(rate * factor)) {
      const result = await runStep(rate);
      if (!result.sustained) break;
    }
  }
  emit({ event: 'done' });
  for (const s of sockets) s.disconnect();
}

main().then(() => process.exit(0), (error) => {
  emit({ event: 'error', message: String(error && error.message) });
  process.exit(1);
});
