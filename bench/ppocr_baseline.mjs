// ppocr_baseline.mjs — bench_ocr's second baseline: a general PP-OCRv4 pipeline (detection +
// recognition, no document logic), the npm package @gutenye/ocr-node (onnxruntime-node, the same
// PaddleOCR models beian uses). Bench only: installed by scripts/bench-deps.sh into
// $BUILD/bench-node, never a runtime dependency.
//
//   node bench/ppocr_baseline.mjs [--prefix DIR] IMAGE...
//
// Loads the pipeline once, then prints one JSON line per image:
//   {"file": IMAGE, "cpu_s": ..., "wall_s": ..., "text": "..."}   (or "error" instead of "text")
// cpu_s is this process's CPU (process.cpuUsage, user + system, all threads) during the image;
// text is every line read, top to bottom then left to right, without spaces.
// The package is found under --prefix DIR (npm install --prefix DIR), else on NODE_PATH
// (ES modules ignore NODE_PATH, so it is resolved here by hand).
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const args = process.argv.slice(2)
const dirs = []
while (args[0] === '--prefix') {
  dirs.push(path.join(args[1], 'node_modules'))
  args.splice(0, 2)
}
for (const d of (process.env.NODE_PATH || '').split(path.delimiter)) if (d) dirs.push(d)

function resolve(name) {
  for (const d of dirs) {
    try {
      return createRequire(path.join(path.resolve(d), 'x.js')).resolve(name)
    } catch {}
  }
  return null
}

const entry = resolve('@gutenye/ocr-node')
if (!entry) {
  console.error('ppocr_baseline: @gutenye/ocr-node not found (run scripts/bench-deps.sh)')
  process.exit(3)
}
const Ocr = (await import(pathToFileURL(entry).href)).default
const ocr = await Ocr.create()

const cpu = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

// Reading order: rows by the box's top edge (a row is within half a line height), then x.
function order(lines) {
  const top = (l) => (l.box ? Math.min(...l.box.map((p) => p[1])) : 0)
  const left = (l) => (l.box ? Math.min(...l.box.map((p) => p[0])) : 0)
  const height = (l) => (l.box ? Math.max(...l.box.map((p) => p[1])) - top(l) : 0)
  return [...lines].sort((a, b) => {
    const dy = top(a) - top(b)
    return Math.abs(dy) > Math.min(height(a), height(b)) / 2 ? dy : left(a) - left(b)
  })
}

// One untimed warm-up image: onnxruntime allocates its arenas on the first run.
if (args.length) await ocr.detect(args[0]).catch(() => {})

for (const file of args) {
  const c0 = cpu()
  const w0 = process.hrtime.bigint()
  let rec
  try {
    const lines = await ocr.detect(file)
    rec = { text: order(lines).map((l) => l.text).join('').replace(/\s+/g, '') }
  } catch (e) {
    rec = { error: String(e && e.message ? e.message : e) }
  }
  const wall = Number(process.hrtime.bigint() - w0) / 1e9
  process.stdout.write(JSON.stringify({ file, cpu_s: cpu() - c0, wall_s: wall, ...rec }) + '\n')
}
