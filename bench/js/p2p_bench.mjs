// js-libp2p's side of the libp2p benchmark (bench/run_p2p_bench.sh): the
// same modes and output as bench/p2p_bench.cc, on js-libp2p from
// tests/interop/node_modules (TCP + Noise + yamux, no identify).
//
//   node --import tests/interop/libp2p/polyfill.mjs bench/js/p2p_bench.mjs MODE ...
//   modes: server [--listen MULTIADDR]
//          perf  ADDR --upload BYTES --download BYTES
//          conns ADDR [--count N]
//          ping  ADDR [--count N] [--echo-count N]
//          hold  ADDR [--count N]
//
// The server prints "ready <ADDR>"; clients print "result ..." lines of
// key=value pairs. server and hold run until SIGINT or SIGTERM.
//
// /perf/1.0.0 is written here from specs/libp2p/perf/perf.md: npm has no
// js-libp2p package of it. Ping uses @libp2p/ping's server and, on the
// client side, the same steps as Soma's client: open, 32 bytes and close,
// then the echo and the server's close (as @libp2p/ping's client does).
import { readFile } from 'node:fs/promises'

const modulesDir = new URL('../../tests/interop/node_modules/', import.meta.url)

// Imports a package installed under tests/interop by its ESM entry point.
async function load (name) {
  const pkg = JSON.parse(await readFile(new URL(`${name}/package.json`, modulesDir), 'utf8'))
  const entry = pkg.exports['.'].import
  return import(new URL(`${name}/${entry}`, modulesDir).href)
}

const [{ createLibp2p }, { noise }, { yamux }, { tcp }, { ping }, { multiaddr }] =
  await Promise.all(['libp2p', '@chainsafe/libp2p-noise', '@chainsafe/libp2p-yamux',
    '@libp2p/tcp', '@libp2p/ping', '@multiformats/multiaddr'].map(load))

const PERF = '/perf/1.0.0'
const PING = '/ipfs/ping/1.0.0'
const PING_SIZE = 32
const BLOCK = 64 * 1024
const MAX_CONNECTIONS = 4096
const STREAM_LIMITS = { maxInboundStreams: 1024, maxOutboundStreams: 1024 }
const WARMUP = 50

function fail (what) {
  process.stderr.write(`p2p_bench.mjs: ${what}\n`)
  process.exit(1)
}

function parse (argv) {
  const o = { mode: argv[0], listen: '/ip4/127.0.0.1/tcp/0', upload: 0n, download: 0n, count: 0, echoCount: 0 }
  let i = 1
  if (o.mode !== 'server') {
    if (argv.length < 2) fail('missing the address to dial')
    o.addr = argv[1]
    i = 2
  }
  for (; i + 1 < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]]
    if (flag === '--listen') o.listen = value
    else if (flag === '--upload') o.upload = BigInt(value)
    else if (flag === '--download') o.download = BigInt(value)
    else if (flag === '--count') o.count = Number(value)
    else if (flag === '--echo-count') o.echoCount = Number(value)
    else fail(`unknown flag ${flag}`)
  }
  return o
}

function percentile (values, p) {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(Math.round(p * (sorted.length - 1)), sorted.length - 1)]
}

const zeros = new Uint8Array(BLOCK)

// Sends `count` bytes from one fixed block, waiting when the stream is full.
async function sendBytes (stream, count) {
  while (count > 0n) {
    const n = count < BigInt(BLOCK) ? Number(count) : BLOCK
    if (!stream.send(n === BLOCK ? zeros : zeros.subarray(0, n))) await stream.onDrain()
    count -= BigInt(n)
  }
}

// The perf server: a big-endian uint64, an upload until EOF, then that many
// bytes back and close.
async function perfHandler (stream) {
  try {
    const header = new Uint8Array(8)
    let have = 0
    for await (const chunk of stream) {
      if (have < 8) {
        const buf = chunk.subarray(0, Math.min(8 - have, chunk.byteLength))
        header.set(buf, have)
        have += buf.length
      }
    }
    if (have < 8) throw new Error('perf request too short')
    await sendBytes(stream, new DataView(header.buffer).getBigUint64(0))
    await stream.close()
  } catch (err) {
    stream.abort(err)
  }
}

// Reads a stream's bytes as they come and hands out exact-size pieces.
class Reader {
  constructor (stream) {
    this.chunks = []
    this.size = 0
    this.waiting = null
    stream.addEventListener('message', (evt) => {
      this.chunks.push(evt.data.subarray())
      this.size += evt.data.byteLength
      this.wake()
    })
    this.ended = new Promise((resolve) => {
      stream.addEventListener('close', () => { this.closed = true; this.wake(); resolve() })
    })
  }

  wake () {
    if (this.waiting != null && (this.size >= this.waiting.n || this.closed)) {
      const w = this.waiting
      this.waiting = null
      w.resolve()
    }
  }

  async read (n) {
    if (this.size < n && !this.closed) {
      await new Promise((resolve) => { this.waiting = { n, resolve }; this.wake() })
    }
    if (this.size < n) throw new Error('stream ended early')
    const out = new Uint8Array(n)
    let off = 0
    while (off < n) {
      const c = this.chunks[0]
      const take = Math.min(c.length, n - off)
      out.set(c.subarray(0, take), off)
      off += take
      if (take === c.length) this.chunks.shift()
      else this.chunks[0] = c.subarray(take)
    }
    this.size -= n
    return out
  }
}

async function echoOnce (stream, reader, payload) {
  stream.send(payload)
  const back = await reader.read(PING_SIZE)
  if (back[0] !== payload[0]) throw new Error('ping echoed different bytes')
}

const options = parse(process.argv.slice(2))
const node = await createLibp2p({
  addresses: { listen: options.mode === 'server' ? [options.listen] : [] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionManager: {
    maxConnections: MAX_CONNECTIONS,
    maxIncomingPendingConnections: MAX_CONNECTIONS,
    inboundConnectionThreshold: MAX_CONNECTIONS
  },
  // @libp2p/ping aborts a stream after 10 s by default; the echo run keeps
  // one stream open for thousands of round trips.
  services: { ping: ping({ maxInboundStreams: 1024, maxOutboundStreams: 1024, timeout: 600_000 }) }
})
await node.handle(PERF, perfHandler, STREAM_LIMITS)

function untilSignalled () {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
}

async function finish (code = 0) {
  await node.stop()
  process.exit(code)
}

const modes = {
  async server () {
    const addr = node.getMultiaddrs()[0]
    process.stdout.write(`ready ${addr.toString()}\n`)
    await untilSignalled()
  },

  async perf () {
    const conn = await node.dial(multiaddr(options.addr))
    const start = performance.now()
    const stream = await conn.newStream(PERF, STREAM_LIMITS)
    let received = 0n
    const reading = (async () => {
      for await (const chunk of stream) received += BigInt(chunk.byteLength)
    })()
    const request = new Uint8Array(8)
    new DataView(request.buffer).setBigUint64(0, options.download)
    stream.send(request)
    await sendBytes(stream, options.upload)
    await stream.close()
    await reading
    const seconds = (performance.now() - start) / 1000
    if (received !== options.download) fail(`perf server sent ${received} bytes, ${options.download} were asked for`)
    const bytes = Number(options.upload + received)
    console.log(`result perf upload_bytes=${options.upload} download_bytes=${received} seconds=${seconds.toFixed(3)} mb_per_s=${(bytes / seconds / 1e6).toFixed(1)}`)
  },

  async conns () {
    const ma = multiaddr(options.addr)
    const count = options.count || 2000
    const start = performance.now()
    for (let i = 0; i < count; i++) {
      const conn = await node.dial(ma)
      await conn.close()
    }
    const seconds = (performance.now() - start) / 1000
    console.log(`result conns count=${count} seconds=${seconds.toFixed(3)} conns_per_s=${(count / seconds).toFixed(1)}`)
  },

  async ping () {
    const conn = await node.dial(multiaddr(options.addr))
    const count = options.count || 2000
    const echoCount = options.echoCount || 5000
    const payload = new Uint8Array(PING_SIZE)
    payload[0] = 1

    const fresh = []
    for (let i = 0; i < count + WARMUP; i++) {
      const t = performance.now()
      const stream = await conn.newStream(PING, STREAM_LIMITS)
      const reader = new Reader(stream)
      stream.send(payload)
      await stream.close()
      const back = await reader.read(PING_SIZE)
      if (back[0] !== payload[0]) throw new Error('ping echoed different bytes')
      await reader.ended
      if (i >= WARMUP) fresh.push((performance.now() - t) * 1000)
    }

    const echoes = []
    const stream = await conn.newStream(PING, STREAM_LIMITS)
    const reader = new Reader(stream)
    for (let i = 0; i < echoCount + WARMUP; i++) {
      const t = performance.now()
      await echoOnce(stream, reader, payload)
      if (i >= WARMUP) echoes.push((performance.now() - t) * 1000)
    }
    await stream.close()
    console.log(`result ping_new_stream count=${fresh.length} median_us=${percentile(fresh, 0.5).toFixed(1)} p99_us=${percentile(fresh, 0.99).toFixed(1)}`)
    console.log(`result ping_echo count=${echoes.length} median_us=${percentile(echoes, 0.5).toFixed(1)} p99_us=${percentile(echoes, 0.99).toFixed(1)}`)
  },

  async hold () {
    const ma = multiaddr(options.addr)
    const count = options.count || 500
    const held = []
    // force: a new connection each time, not the one already open to the peer.
    for (let i = 0; i < count; i++) held.push(await node.dial(ma, { force: true }))
    console.log(`result hold count=${held.length}`)
    await untilSignalled()
  }
}

const run = modes[options.mode]
if (run == null) fail(`unknown mode ${options.mode}`)
try {
  await run()
} catch (err) {
  fail(`${options.mode}: ${err.name}: ${err.message}`)
}
await finish()
