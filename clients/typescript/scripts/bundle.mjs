// The package as one browser module for the reference web client (entrypoints/web), which
// serves it from its own origin under its CSP (no bare imports, no CDN):
//   node scripts/bundle.mjs OUT_FILE
// `make client-types` runs it after the types; tests/api/test_typescript_client.py checks the
// committed bundle equals a fresh one.
import { build } from "esbuild";

const [outfile] = process.argv.slice(2);
if (!outfile) {
  console.error("usage: node scripts/bundle.mjs OUT_FILE");
  process.exit(2);
}
await build({
  entryPoints: ["src/index.ts"],
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2020",
  minify: true,
  legalComments: "inline",
  banner: { js: "// @flowhub/client (clients/typescript), bundled by scripts/bundle.mjs: do not edit." },
  outfile,
  logLevel: "warning",
});
