// A js-libp2p peer for Soma's interop tests (TCP + Noise + yamux, identify,
// ping and the /soma-test/* protocols below). Run with
//   node --import ./polyfill.mjs peer.mjs listen
//   node --import ./polyfill.mjs peer.mjs dial <multiaddr> <scenario>...
// Every line on stdout is one JSON object: first {"event":"ready",...} with
// the peer id and listen addresses, then one object per identify result and
// per scenario, and {"event":"done"} when a dialer has run its scenarios.
// Listen mode runs until stdin closes.
import { createHash } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

const ECHO = '/soma-test/echo/1.0.0'
const COUNT = '/soma-test/count/1.0.0'
const RESET = '/soma-test/reset/1.0.0'
const HOLD = '/soma-test/hold/1.0.0'
// libp2p perf, written here from specs/libp2p/perf/perf.md (no js-libp2p
// package of it is available to the tests).
const PERF = '/perf/1.0.0'
const PERF_BYTES = 8 * 1024 * 1024
const STREAM_LIMITS = { maxInboundStreams: 1024, maxOutboundStreams: 1024 }
const MiB = 1024 * 1024

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

// Deterministic bytes: the same generator as the C++ side (xorshift32).
function pattern (size, seed) {
  const out = new Uint8Array(size)
  let x = (Math.imul(0x9e3779b9, seed + 1)) >>> 0
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

async function send (stream, data) {
  const chunk = 64 * 1024
  for (let off = 0; off < data.length; off += chunk) {
    if (!stream.send(data.subarray(off, off + chunk))) await stream.onDrain()
  }
}

async function readAll (stream, max = 256 * MiB) {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of stream) {
    const buf = chunk.subarray()
    size += buf.length
    if (size > max) throw new Error('too much data')
    hash.update(buf)
  }
  return { size, sha256: hash.digest('hex') }
}

function sha256 (data) {
  return createHash('sha256').update(data).digest('hex')
}

// --- handlers ------------------------------------------------------------

async function echoHandler (stream) {
  try {
    for await (const chunk of stream) {
      if (!stream.send(chunk.subarray())) await stream.onDrain()
    }
    await stream.close()
  } catch (err) {
    stream.abort(err)
  }
}

// Reads until the remote closes, then answers "got <n>".
async function countHandler (stream) {
  try {
    const { size } = await readAll(stream)
    stream.send(new TextEncoder().encode(`got ${size}`))
    await stream.close()
  } catch (err) {
    stream.abort(err)
  }
}

// Reads four bytes, then resets the stream.
async function resetHandler (stream) {
  let got = 0
  for await (const chunk of stream) {
    got += chunk.subarray().length
    if (got >= 4) break
  }
  stream.abort(new Error('reset on purpose'))
}

// Keeps the stream until the remote closes it.
async function holdHandler (stream) {
  try {
    await readAll(stream)
    await stream.close()
  } catch (err) {
    stream.abort(err)
  }
}

// perf server: a big-endian uint64 byte count, an upload until EOF, then
// that many bytes back.
async function perfHandler (stream) {
  try {
    let header = new Uint8Array(0)
    let uploaded = 0
    for await (const chunk of stream) {
      const buf = chunk.subarray()
      if (header.length < 8) {
        const need = 8 - header.length
        header = new Uint8Array([...header, ...buf.subarray(0, need)])
        uploaded += Math.max(0, buf.length - need)
      } else {
        uploaded += buf.length
      }
    }
    if (header.length < 8) throw new Error('perf request too short')
    const wanted = Number(new DataView(header.buffer).getBigUint64(0))
    await send(stream, new Uint8Array(wanted))
    await stream.close()
  } catch (err) {
    stream.abort(err)
  }
}

// --- scenarios (dial mode) -------------------------------------------------

async function echoStream (conn, size, seed) {
  const stream = await conn.newStream(ECHO, STREAM_LIMITS)
  const data = pattern(size, seed)
  const reading = readAll(stream)
  await send(stream, data)
  await stream.close()
  const back = await reading
  return { ok: back.size === size && back.sha256 === sha256(data), size: back.size }
}

const scenarios = {
  async ping (node, conn) {
    const rtt = await node.services.ping.ping(conn.remoteAddr)
    return { ok: typeof rtt === 'number', rtt }
  },
  async identify (node, conn, ctx) {
    const result = await ctx.identified
    return {
      ok: true,
      agentVersion: result.agentVersion,
      protocolVersion: result.protocolVersion,
      protocols: result.protocols,
      listenAddrs: result.listenAddrs.map(String),
      observedAddr: result.observedAddr?.toString()
    }
  },
  async 'echo-64m' (node, conn) {
    const { ok, size } = await echoStream(conn, 64 * MiB, 1)
    return { ok, received: size }
  },
  async 'streams-100x1m' (node, conn) {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => echoStream(conn, MiB, 100 + i).catch(() => ({ ok: false }))))
    const intact = results.filter((r) => r.ok).length
    return { ok: intact === 100, intact }
  },
  async 'half-close' (node, conn) {
    const stream = await conn.newStream(COUNT, STREAM_LIMITS)
    await send(stream, pattern(1000, 3))
    await stream.close()
    const chunks = []
    for await (const chunk of stream) chunks.push(...chunk.subarray())
    const answer = new TextDecoder().decode(new Uint8Array(chunks))
    return { ok: answer === 'got 1000', answer }
  },
  async reset (node, conn) {
    const stream = await conn.newStream(RESET, STREAM_LIMITS)
    stream.send(new TextEncoder().encode('ping'))
    const closed = new Promise((resolve) => {
      stream.addEventListener('close', (evt) => resolve(evt), { once: true })
    })
    let readError = null
    try {
      for await (const chunk of stream) { void chunk }
    } catch (err) {
      readError = err.name
    }
    const evt = await closed
    const remoteReset = evt.error != null && evt.local !== true
    return { ok: remoteReset, readError, errorName: evt.error?.name }
  },
  async perf (node, conn) {
    const stream = await conn.newStream(PERF, STREAM_LIMITS)
    const request = new Uint8Array(8)
    new DataView(request.buffer).setBigUint64(0, BigInt(PERF_BYTES))
    const reading = readAll(stream)
    stream.send(request)
    await send(stream, new Uint8Array(PERF_BYTES))
    await stream.close()
    const { size } = await reading
    return { ok: size === PERF_BYTES, uploaded: PERF_BYTES, downloaded: size }
  },
  // Opens `count` streams and keeps them; reports how many the remote refused,
  // then closes them and pings to show the connection still serves.
  async 'stream-limit' (node, conn, ctx) {
    const count = ctx.count ?? 20
    const held = []
    let refused = 0
    for (let i = 0; i < count; i++) {
      try {
        const stream = await conn.newStream(HOLD, STREAM_LIMITS)
        // A refused stream is reset right after the SYN; give it a moment.
        stream.send(new Uint8Array([1]))
        held.push(stream)
      } catch (err) {
        refused++
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const alive = held.filter((s) => s.status === 'open')
    refused += held.length - alive.length
    await Promise.all(alive.map((s) => s.close().catch(() => {})))
    await new Promise((resolve) => setTimeout(resolve, 300))
    const rtt = await node.services.ping.ping(conn.remoteAddr)
    const echoOk = (await echoStream(conn, 1000, 7)).ok
    return { ok: echoOk && typeof rtt === 'number', opened: alive.length, refused, rtt }
  }
}

// --- main ----------------------------------------------------------------

const [mode, target, ...wanted] = process.argv.slice(2)

const node = await createLibp2p({
  addresses: { listen: mode === 'listen' ? ['/ip4/127.0.0.1/tcp/0'] : [] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), ping: ping() }
})

await node.handle(ECHO, echoHandler, STREAM_LIMITS)
await node.handle(COUNT, countHandler, STREAM_LIMITS)
await node.handle(RESET, resetHandler, STREAM_LIMITS)
await node.handle(HOLD, holdHandler, STREAM_LIMITS)
await node.handle(PERF, perfHandler, STREAM_LIMITS)

const identifiedPeers = new Map()
node.addEventListener('peer:identify', (evt) => {
  const r = evt.detail
  identifiedPeers.set(r.peerId.toString(), r)
  emit({
    event: 'identify',
    peerId: r.peerId.toString(),
    agentVersion: r.agentVersion,
    protocolVersion: r.protocolVersion,
    protocols: r.protocols,
    listenAddrs: r.listenAddrs.map(String),
    observedAddr: r.observedAddr?.toString()
  })
})

emit({
  event: 'ready',
  peerId: node.peerId.toString(),
  addrs: node.getMultiaddrs().map(String)
})

if (mode === 'listen') {
  process.stdin.resume()
  process.stdin.on('end', async () => {
    await node.stop()
    process.exit(0)
  })
} else if (mode === 'dial') {
  const ma = multiaddr(target)
  let exitCode = 0
  try {
    const identified = new Promise((resolve) => {
      node.addEventListener('peer:identify', (evt) => resolve(evt.detail), { once: true })
    })
    const conn = await node.dial(ma)
    emit({ event: 'connected', remotePeer: conn.remotePeer.toString(), remoteAddr: conn.remoteAddr.toString() })
    const ctx = { identified }
    for (const name of wanted) {
      const [base, arg] = name.split('=')
      const run = scenarios[base]
      if (run == null) {
        emit({ scenario: base, ok: false, error: 'unknown scenario' })
        exitCode = 1
        continue
      }
      if (arg != null) ctx.count = Number(arg)
      try {
        emit({ scenario: base, ...(await run(node, conn, ctx)) })
      } catch (err) {
        emit({ scenario: base, ok: false, error: `${err.name}: ${err.message}` })
      }
    }
  } catch (err) {
    emit({ event: 'error', error: `${err.name}: ${err.message}` })
    exitCode = 1
  }
  emit({ event: 'done' })
  await node.stop()
  process.exit(exitCode)
} else {
  emit({ event: 'error', error: `unknown mode ${mode}; use listen or dial` })
  process.exit(2)
}
