// The size an app pays for @tollgate/react: its built entry point bundled and minified by
// esbuild with its peers (react, @tollgate/client) left out, as an app already has them,
// then gzipped at level 9. Prints `<minified bytes> <gzipped bytes>`.
//   node npm-react/scripts/size.mjs [path to dist/index.js]
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** `{ minified, gzipped }` in bytes for the entry point `entry`. */
export async function measure(entry = fileURLToPath(new URL('../dist/index.js', import.meta.url))) {
  const out = await build({
    entryPoints: [entry], bundle: true, minify: true, format: 'esm', platform: 'browser', write: false,
    external: ['react', 'react-dom', '@tollgate/client'], logLevel: 'silent',
  });
  const bytes = out.outputFiles[0].contents;
  return { minified: bytes.length, gzipped: gzipSync(bytes, { level: 9 }).length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { minified, gzipped } = await measure(process.argv[2]);
  console.log(`${minified} ${gzipped}`);
}
