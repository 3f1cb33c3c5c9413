// Builds the browser client into one folder the node serves as its web root
// (`puzzle-node --http.web-root=<out>`):
//
//   <out>/index.html                 from public/index.html, pointing at ...
//   <out>/assets/app-<hash>.js       src/main.js and @microsoft/signalr, bundled
//   <out>/assets/app-<hash>.css      src/app.css
//   <out>/assets/*.map               source maps
//   <out>/images/*.svg               the built-in images, copied from public/
//
//   node build.mjs <out> [--dev]
//
// Everything comes from web/node_modules (npm ci); nothing is fetched at
// build or run time. Names under assets/ carry a content hash because the
// node serves /assets/ with `Cache-Control: immutable` (static_files.cpp);
// index.html is served `no-cache`, so a new build is picked up at once. No
// inline script or style is produced: the node's Content-Security-Policy
// allows `script-src 'self'` only.

import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SETUP_HINT = 'run tools/setup.sh (it runs `npm ci` in web/)';

function usage(message) {
  console.error(`build.mjs: ${message}\nusage: node build.mjs <out-dir> [--dev]`);
  process.exit(2);
}

async function loadEsbuild() {
  try {
    return await import('esbuild');
  } catch (err) {
    console.error(`build.mjs: cannot load esbuild from ${HERE}/node_modules ` +
      `(${err.code ?? err.message}): ${SETUP_HINT}`);
    process.exit(1);
  }
}

// Copies a directory tree (the built-in images) file by file.
async function copyTree(from, to) {
  await fs.mkdir(to, { recursive: true });
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) await copyTree(src, dst);
    else if (entry.isFile()) await fs.copyFile(src, dst);
  }
}

// Writes only when the content differs, so an unchanged build leaves the
// files' times alone (and CMake's stamp logic stays quiet).
async function writeIfChanged(file, text) {
  try {
    if ((await fs.readFile(file, 'utf8')) === text) return;
  } catch {
    // Missing: write it.
  }
  await fs.writeFile(file, text);
}

async function main() {
  const args = process.argv.slice(2);
  const dev = args.includes('--dev');
  const positional = args.filter((a) => !a.startsWith('--'));
  if (positional.length !== 1) usage('exactly one output folder expected');
  const out = path.resolve(positional[0]);
  const esbuild = await loadEsbuild();

  // Old hashed files would pile up otherwise; the folder is ours alone.
  await fs.rm(path.join(out, 'assets'), { recursive: true, force: true });
  await fs.mkdir(path.join(out, 'assets'), { recursive: true });

  const result = await esbuild.build({
    absWorkingDir: HERE,
    entryPoints: { app: 'src/main.js', style: 'src/app.css' },
    outdir: path.join(out, 'assets'),
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // Evergreen browsers (pointer events, ResizeObserver, Path2D) only.
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: !dev,
    sourcemap: 'linked',
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': dev ? '"development"' : '"production"' },
  });

  // The hashed names of the two entry points, for index.html.
  const names = {};
  for (const [file, meta] of Object.entries(result.metafile.outputs)) {
    if (!meta.entryPoint) continue;
    const key = meta.entryPoint.endsWith('.css') ? 'css' : 'js';
    names[key] = `/assets/${path.basename(file)}`;
  }
  if (!names.js || !names.css) throw new Error('esbuild produced no app bundle');

  const template = await fs.readFile(path.join(HERE, 'public', 'index.html'), 'utf8');
  for (const marker of ['%APP_JS%', '%APP_CSS%']) {
    if (!template.includes(marker)) throw new Error(`public/index.html lacks ${marker}`);
  }
  const html = template.replaceAll('%APP_JS%', names.js).replaceAll('%APP_CSS%', names.css);
  await writeIfChanged(path.join(out, 'index.html'), html);
  await copyTree(path.join(HERE, 'public', 'images'), path.join(out, 'images'));
  console.log(`build.mjs: web client built into ${out} (${names.js}, ${names.css})`);
}

main().catch((err) => {
  console.error(`build.mjs: ${err.stack ?? err}`);
  process.exit(1);
});
