// The Worker's upload size as `wrangler deploy --dry-run` reports it (offline, nothing is
// uploaded), each uploaded module gzipped here too, and what the wasm is made of: its
// sections, and its function bodies grouped by crate from the wasm's own name section
// (bench/lib/wasm-sizes.mjs).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
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
    const crates = byCrate(wasm.functions);
    const topFunctions = [...wasm.functions].sort((a, b) => b.bytes - a.bytes).slice(0, 15);
    const nameSection = wasm.sections.find((s) => s.name === 'custom:name')?.bytes ?? 0;
    // How much of the gzipped wasm each part accounts for: gzip the module without it.
    const gzipOf = (buf) => gzipSync(buf, { level: 9 }).length;
    const wasmGzip = gzipOf(readFileSync(wasmPath));
    const withoutNames = gzipOf(withoutSections(wasmPath, ['custom:name']));
    const withoutNamesAndData = gzipOf(withoutSections(wasmPath, ['custom:name', 'data']));
    const gzipShare = {
      'name section (function names)': wasmGzip - withoutNames,
      'data section (static data)': withoutNames - withoutNamesAndData,
      'code and the rest': withoutNamesAndData,
    };
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
        code_bytes: wasm.sections.find((s) => s.name === 'code')?.bytes ?? 0,
        data_bytes: wasm.dataBytes,
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
