// Prints the CID that IPFS's UnixFS importer gives each file named on the
// command line, one `path cid` line per file, with the parameters Soma's
// DagBuilder follows: CIDv1, raw leaves, sha2-256, fixed 256 KiB chunks and
// a balanced tree of at most 174 links per node.
import { createReadStream } from 'node:fs'
import process from 'node:process'
import { BlackHoleBlockstore } from 'blockstore-core'
import { importer } from 'ipfs-unixfs-importer'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'

const options = {
  cidVersion: 1,
  rawLeaves: true,
  chunker: fixedSize({ chunkSize: 262144 }),
  layout: balanced({ maxChildrenPerNode: 174 }),
  reduceSingleLeafToSelf: true,
  wrapWithDirectory: false
}

async function cidOf (path) {
  const blockstore = new BlackHoleBlockstore()
  let root
  for await (const entry of importer([{ content: createReadStream(path) }], blockstore, options)) {
    root = entry.cid
  }
  if (root === undefined) throw new Error(`importer produced no entry for ${path}`)
  return root.toString()
}

const paths = process.argv.slice(2)
if (paths.length === 0) {
  process.stderr.write('usage: node cids.mjs FILE...\n')
  process.exit(2)
}
for (const path of paths) {
  process.stdout.write(`${path} ${await cidOf(path)}\n`)
}
