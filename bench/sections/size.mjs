// The Worker's upload size as `wrangler deploy --dry-run` reports it (offline, nothing is
// uploaded), each uploaded module gzipped here too, and what the wasm is made of: its
// sections, and its function bodies grouped by crate from the wasm's own name section
// (bench/lib/wasm-sizes.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, testConfigPath } from '../../tests/harness/worker.mjs';
import { byCrate, wasmSizes, withoutSections } from '../lib/wasm-sizes.mjs';

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** The raw bytes of a wasm module's data section. */
function dataSection(buf) {
  let pos = 8;
  const u32 = () => { let r = 0, sh = 0, b; do { b = buf[pos++]; r |= (b & 0x7f) << sh; sh += 7; } while (b & 0x80); return r >>> 0; };
  while (pos < buf.length) {
    const id = buf[pos++];
    const size = u32();
    if (id === 11) return buf.subarray(pos, pos + size);
    pos += size;
  }
  return Buffer.alloc(0);
}

export function sizeSection(log) {
  log('worker upload size (wrangler deploy --dry-run)');
  const out = mkdtempSync(join(tmpdir(), 'tollgate-dry-run-'));
  try {
    const r = spawnSync(join(ROOT, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', out, '--config', testConfigPath()], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: 'true', FORCE_COLOR: '0' },
    });
    const text = `${r.stdout}\n${r.stderr}`;
    if (r.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${text}`);
    const m = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(text);
    if (!m) throw new Error(`no "Total Upload" line in:\n${text}`);
    const modules = walk(out).filter((p) => !p.endsWith('.map')).map((p) => {
      const buf = readFileSync(p);
      return { file: relative(out, p), bytes: buf.length, gzip: gzipSync(buf, { level: 9 }).length };
    }).sort((a, b) => b.bytes - a.bytes);
    const wasmPath = join(ROOT, 'worker/build/index_bg.wasm');
    const wasm = wasmSizes(wasmPath);
    // Crates are told apart by function names: from the shipped wasm when it keeps its name
    // section, else from cargo's own output (mangled names, before wasm-bindgen and wasm-opt,
    // so larger than what ships, but made of the same code).
    const namedPath = join(ROOT, 'target/wasm32-unknown-unknown/release/tollgate_worker.wasm');
    const shippedHasNames = wasm.functions.some((f) => !f.name.startsWith('function['));
    const named = shippedHasNames || !existsSync(namedPath) ? wasm : wasmSizes(namedPath);
    const crates = byCrate(named.functions);
    // Shares are of the function bodies attributed (wasm-bindgen's build-time type
    // descriptions, which never ship, are left out of both).
    const namedCode = crates.reduce((a, c) => a + c.bytes, 0);
    const topFunctions = [...named.functions].sort((a, b) => b.bytes - a.bytes).slice(0, 15);
    const nameSection = wasm.sections.find((s) => s.name === 'custom:name')?.bytes ?? 0;
    // How much of the gzipped wasm each part accounts for: gzip the module without it.
    const gzipOf = (buf) => gzipSync(buf, { level: 9 }).length;
    const wasmGzip = gzipOf(readFileSync(wasmPath));
    const withoutNames = gzipOf(withoutSections(wasmPath, ['custom:name']));
    const withoutNamesAndData = gzipOf(withoutSections(wasmPath, ['custom:name', 'data']));
    const gzipShare = {
      ...(withoutNames < wasmGzip ? { 'name section (function names)': wasmGzip - withoutNames } : {}),
      'data section (static data)': withoutNames - withoutNamesAndData,
      'code and the rest': withoutNamesAndData,
    };
    // Files the Rust code embeds (include_str!/include_bytes!) that are in the shipped data.
    const data = dataSection(readFileSync(wasmPath));
    const embedded = [];
    for (const dir of ['worker/src', 'crates/core/src']) {
      for (const file of walk(join(ROOT, dir)).filter((f) => f.endsWith('.rs'))) {
        for (const m of readFileSync(file, 'utf8').matchAll(/include_(?:str|bytes)!\("([^"]+)"\)/g)) {
          const target = join(file, '..', m[1]);
          if (!existsSync(target)) continue;
          const content = readFileSync(target);
          if (data.includes(content.subarray(0, 256))) embedded.push({ file: relative(ROOT, target), bytes: content.length, gzip: gzipOf(content) });
        }
      }
    }
    const result = {
      wrangler_total_kib: Number(m[1]),
      wrangler_gzip_kib: Number(m[2]),
      modules,
      wasm: {
        bytes: wasm.total,
        gzip: wasmGzip,
        gzip_by_part: gzipShare,
        sections: wasm.sections,
        name_section_bytes: nameSection,
        code_by_crate: crates.slice(0, 20),
        code_by_crate_source: named === wasm ? 'worker/build/index_bg.wasm' : 'target/wasm32-unknown-unknown/release/tollgate_worker.wasm (cargo output, before wasm-bindgen and wasm-opt)',
        code_by_crate_total: namedCode,
        target_features: named.targetFeatures,
        code_bytes: wasm.sections.find((s) => s.name === 'code')?.bytes ?? 0,
        data_bytes: wasm.dataBytes,
        data_embedded_files: embedded,
        top_functions: topFunctions,
      },
      tool: 'bench/lib/wasm-sizes.mjs: section sizes and per-function body sizes read from the wasm binary and its name section (twiggy-like, no install)',
    };
    log(`  ${result.wrangler_total_kib} KiB, gzip ${result.wrangler_gzip_kib} KiB`);
    return result;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
